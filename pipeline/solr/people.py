"""Accounts for people, not only for services: each person who searches failures in the Solr
admin UI logs in as themself, with the operator role, never as the admin.

A person's account is kept in two places that agree: the running Solr (through its own
authentication and authorization APIs, so no node restarts) and ``<state_dir>/solr/people.json``
(0600, salted hashes only, in Solr's own form), which ``security.json`` is rendered with wherever
loginsights installs it (the launcher at every start, ``solr secure``). Passwords are read from
standard input by the CLI, never from the command line, and never printed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from pydantic import SecretStr

from pipeline.errors import ConfigurationError, SolrAccessError, SolrUnavailableError
from pipeline.solr.accounts import (
    OPERATOR_ROLE,
    SolrAccount,
    solr_password_hash,
    write_private,
)

PERSON_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._@-]{1,63}")
ROLES = (OPERATOR_ROLE,)
MIN_PASSWORD = 12


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    password_hash: str  # Solr's form: base64(sha256(sha256(salt+password))) base64(salt)


class People:
    """The people file and the running Solr, changed together."""

    def __init__(self, path: Path, solr_url: str | None, admin: SolrAccount | None) -> None:
        self.path = path
        self.solr_url = solr_url.rstrip("/") if solr_url else None
        self.admin = admin

    def all(self) -> list[Person]:
        if not self.path.is_file():
            return []
        data = json.loads(self.path.read_text())
        return [Person(name, v["role"], v["hash"]) for name, v in sorted(data.items())]

    def add(self, name: str, role: str, password: SecretStr, *, replace: bool = False) -> Person:
        """A new person (or, with ``replace``, a new password for one); True when Solr was
        told at once (else at its next start or ``solr secure``)."""
        check_person(name, role, password)
        people = {p.name: p for p in self.all()}
        if name in people and not replace:
            raise ConfigurationError(
                f"{name!r} has an account already; `loginsights solr users passwd {name}` "
                "changes its password"
            )
        if replace and name not in people:
            raise ConfigurationError(f"no person {name!r}; add one with `solr users add`")
        person = Person(name, role, solr_password_hash(password.get_secret_value()))
        told = self._api("authentication", {"set-user": {name: password.get_secret_value()}})
        told &= self._api("authorization", {"set-user-role": {name: [role]}})
        people[name] = person
        self._save(people)
        if told:
            self._until_applied(lambda: self._status("/admin/info/health", (name, password)) == 200)
        return person

    def remove(self, name: str) -> None:
        people = {p.name: p for p in self.all()}
        if name not in people:
            raise ConfigurationError(
                f"no person {name!r}; `loginsights solr users list` names them"
            )
        told = self._api("authorization", {"set-user-role": {name: None}})
        told &= self._api("authentication", {"delete-user": [name]})
        del people[name]
        self._save(people)
        if told:
            self._until_applied(lambda: name not in self._users())

    def _save(self, people: dict[str, Person]) -> None:
        data = {p.name: {"role": p.role, "hash": p.password_hash} for p in people.values()}
        write_private(self.path, json.dumps(data, indent=2))

    def _until_applied(self, applied: Callable[[], bool], seconds: float = 15.0) -> None:
        """Solr's security API answers once ZooKeeper holds the change; each node applies it a
        moment later. Wait for that, so that the person can log in (or not) when we return."""
        if self.solr_url is None or self.admin is None:
            return
        deadline = time.monotonic() + seconds
        while not applied():
            if time.monotonic() > deadline:
                raise SolrUnavailableError(
                    f"Solr at {self.solr_url} took the change but did not apply it within "
                    f"{seconds:.0f} s; check `loginsights solr status` and run the command again",
                    url=self.solr_url,
                )
            time.sleep(0.1)

    def _status(self, path: str, auth: tuple[str, SecretStr]) -> int:
        try:
            answer = requests.get(
                f"{self.solr_url}{path}", auth=(auth[0], auth[1].get_secret_value()), timeout=10
            )
        except requests.RequestException:
            return 0
        return answer.status_code

    def _users(self) -> set[str]:
        """The users the node's authentication plugin holds now."""
        assert self.admin is not None
        try:
            answer = requests.get(
                f"{self.solr_url}/admin/authentication", auth=self.admin.auth, timeout=10
            )
            credentials = answer.json()["authentication"]["credentials"]
        except (requests.RequestException, ValueError, KeyError, TypeError):
            return set()
        return set(credentials)

    def _api(self, api: str, command: dict[str, Any]) -> bool:
        """One command to Solr's security API: True once Solr took it. Solr not running here is
        no error (the file is what the next start installs)."""
        if self.solr_url is None or self.admin is None:
            return False
        url = f"{self.solr_url}/admin/{api}"
        try:
            answer = requests.post(url, json=command, auth=self.admin.auth, timeout=30)
        except requests.RequestException:
            return False
        if answer.status_code in (401, 403):
            raise SolrAccessError(
                f"Solr refused the admin's change of {api} (HTTP {answer.status_code}); check "
                "LOGINSIGHTS_SOLR_ADMIN_PASSWORD",
                url=url,
                status=answer.status_code,
            )
        if answer.status_code >= 400:
            raise SolrUnavailableError(
                f"Solr answered HTTP {answer.status_code} to the change of {api}: "
                f"{answer.text[:200]}",
                url=url,
                status=answer.status_code,
            )
        return True


def check_person(name: str, role: str, password: SecretStr) -> None:
    if not PERSON_NAME.fullmatch(name) or name.startswith("loginsights-"):
        raise ConfigurationError(
            f"{name!r} is not a person's user name: 2 to 64 letters, digits and . _ @ -, "
            "starting with a letter (loginsights-… names are the services')"
        )
    if role not in ROLES:
        raise ConfigurationError(f"role {role!r} is not one for people; use one of {list(ROLES)}")
    if len(password.get_secret_value()) < MIN_PASSWORD:
        raise ConfigurationError(f"the password is shorter than {MIN_PASSWORD} characters")


def people_security(people: list[Person]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """What people add to security.json: their hashes and their roles."""
    return (
        {p.name: p.password_hash for p in people},
        {p.name: [p.role] for p in people},
    )


__all__ = ["People", "Person", "check_person", "people_security"]


def people_in(security: dict[str, Any] | None) -> list[Person]:
    """The people an installed security.json holds (a role of ``ROLES`` and a hash): those
    added on a running cluster from another machine, whose people.json does not name them.
    ``solr secure`` keeps them, so that rewriting the rules never locks a person out."""
    if not security:
        return []
    credentials = security.get("authentication", {}).get("credentials", {})
    roles = security.get("authorization", {}).get("user-role", {})
    kept = []
    for name, hashed in credentials.items():
        role = roles.get(name)
        role = role[0] if isinstance(role, list) and len(role) == 1 else role
        if role in ROLES and isinstance(hashed, str) and not name.startswith("loginsights-"):
            kept.append(Person(name, role, hashed))
    return kept


def together(installed: list[Person], kept_here: list[Person]) -> list[Person]:
    """Both lists, this machine's people.json winning for a name in both (a new password)."""
    merged = {p.name: p for p in installed}
    merged.update({p.name: p for p in kept_here})
    return [merged[name] for name in sorted(merged)]
