"""Who loginsights is to Solr: three users, each allowed only what its part of the pipeline does.

Solr's reference guide says no Solr API is meant for untrusted parties, so Solr itself asks for
credentials (BasicAuthPlugin, ``blockUnknown``) and decides by role (RuleBasedAuthorizationPlugin):

    indexer  /update on the log collection, nothing else (the outbox flusher)
    reader   /search on the allowed cores, nothing else (the API, the console, ``query``)
    admin    everything (``solr init``, ``solr status``, reindexing, the admin UI)

Passwords come from the environment (``LOGINSIGHTS_SOLR_<ROLE>_PASSWORD``) or, for the local Solr,
are generated on its first start into ``<state_dir>/solr/credentials.json`` (mode 0600). They are
``SecretStr`` everywhere and registered with the scrubber, so they never reach a log or message.
Solr stores only salted hashes: ``security.json`` is rendered here, in one place, for the launcher
(``--security-json``), for ZooKeeper (``loginsights solr secure``) and for a standalone home.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from pipeline.errors import ConfigurationError
from pipeline.scrub import remember_secrets


class SolrRole(StrEnum):
    INDEXER = "indexer"
    READER = "reader"
    ADMIN = "admin"


DEFAULT_USERS: Mapping[SolrRole, str] = {
    SolrRole.INDEXER: "loginsights-indexer",
    SolrRole.READER: "loginsights-reader",
    SolrRole.ADMIN: "loginsights-admin",
}
# The paths each role may use on a collection; anything else needs admin (the last rule).
UPDATE_PATHS = ("/update", "/update/json", "/update/json/docs")
SEARCH_PATHS = ("/search",)
# The API cancels a costly search it abandoned (pipeline/solr/tasks.py); listing tasks stays
# admin's, so the reader can cancel only a search whose UUID it made.
CANCEL_PATHS = ("/tasks/cancel",)
# People (not services) who search failures in the admin UI: a role of its own, given to each
# person's account (`loginsights solr users add NAME --role operator`). It may read, with GET
# only, what the UI's dashboard, collection selector, Query, schema browser and Analysis pages
# ask for, on the log collection; Solr's built-in "read" would also give /export and every
# search handler, so paths are named instead.
OPERATOR_ROLE = "operator"
OPERATOR_COLLECTION_PATHS = (
    "/select", "/admin/luke", "/admin/ping", "/admin/system", "/schema", "/schema/*",
    "/analysis/field", "/analysis/document", "/config", "/config/overlay",
)  # fmt: skip
OPERATOR_NODE_PATHS = ("/admin/info/system", "/admin/info/health")


@dataclass(frozen=True)
class SolrAccount:
    """One Solr user; ``auth`` is what an HTTP client sends."""

    role: SolrRole
    user: str
    password: SecretStr

    @property
    def auth(self) -> tuple[str, str]:
        return self.user, self.password.get_secret_value()

    def __repr__(self) -> str:
        return f"SolrAccount(role={self.role.value!r}, user={self.user!r}, password='**********')"


@dataclass(frozen=True)
class SolrAccounts:
    """The three accounts together: what security.json is rendered from."""

    indexer: SolrAccount
    reader: SolrAccount
    admin: SolrAccount

    def __iter__(self) -> Iterator[SolrAccount]:
        return iter((self.indexer, self.reader, self.admin))

    def for_role(self, role: SolrRole) -> SolrAccount:
        account: SolrAccount = getattr(self, role.value)
        return account

    @classmethod
    def generate(cls, users: Mapping[SolrRole, str] = DEFAULT_USERS) -> SolrAccounts:
        """Fresh random passwords (256 bits each) for the default users."""
        accounts = cls(
            **{
                role.value: SolrAccount(role, users[role], SecretStr(secrets.token_urlsafe(32)))
                for role in SolrRole
            }
        )
        remember_secrets(*(account.auth[1] for account in accounts))
        return accounts

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, where: str) -> SolrAccounts:
        try:
            return cls(
                **{
                    role.value: SolrAccount(
                        role, str(data[role.value]["user"]), SecretStr(data[role.value]["password"])
                    )
                    for role in SolrRole
                }
            )
        except (KeyError, TypeError) as err:
            raise ConfigurationError(
                f"{where} does not name a user and password for each of indexer, reader and "
                f"admin ({err!s} is missing); delete it and start the local Solr again to "
                "generate new ones"
            ) from err

    @classmethod
    def load(cls, path: Path) -> SolrAccounts | None:
        """The accounts kept in ``path``, or None when there is no such file."""
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None
        except OSError as err:
            raise ConfigurationError(f"cannot read the Solr credentials {path}: {err}") from err
        try:
            data = json.loads(text)
        except ValueError as err:
            raise ConfigurationError(
                f"{path} is not JSON ({err}); delete it and start the local Solr again"
            ) from err
        return cls.from_mapping(data, where=str(path))

    def save(self, path: Path) -> None:
        """Write the accounts readable by this user only (0600, created so, never widened)."""
        data = {a.role.value: {"user": a.user, "password": a.auth[1]} for a in self}
        write_private(path, json.dumps(data, indent=2))

    def security_json(
        self,
        *,
        collection: str,
        searchable: Iterable[str],
        standalone: bool = False,
        people: tuple[Mapping[str, str], Mapping[str, list[str]]] = ({}, {}),
    ) -> dict[str, Any]:
        """Solr's security.json for these accounts: only salted hashes, the rules in order.

        RuleBasedAuthorizationPlugin lets any authenticated user through a request that matches
        no rule, so the last rule ("all", admin) is what keeps the reader and the indexer out of
        everything not named above it. A standalone Solr 9 never applies a rule's "collection"
        to a core (SOLR-13097, fixed after Solr 10), so there the rules name paths only: run
        logInsights alone on a standalone node, or use SolrCloud, where rules name the collection.
        """
        cores = sorted({collection, *searchable})

        def scoped(names: list[str]) -> dict[str, Any]:
            return {} if standalone else {"collection": names}

        return {
            "authentication": {
                "class": "solr.BasicAuthPlugin",
                "blockUnknown": True,
                "forwardCredentials": False,
                "realm": "loginsights",
                "credentials": {
                    **people[0],
                    **{a.user: solr_password_hash(a.auth[1]) for a in self},
                },
            },
            "authorization": {
                "class": "solr.RuleBasedAuthorizationPlugin",
                "user-role": {**people[1], **{a.user: [a.role.value] for a in self}},
                "permissions": [
                    *operator_permissions(collection, standalone=standalone),
                    {
                        "name": "loginsights-search",
                        **scoped(cores),
                        "path": list(SEARCH_PATHS),
                        "role": [SolrRole.READER.value, SolrRole.ADMIN.value],
                    },
                    {
                        "name": "loginsights-cancel",
                        **scoped(cores),
                        "path": list(CANCEL_PATHS),
                        "role": [SolrRole.READER.value, SolrRole.ADMIN.value],
                    },
                    {
                        "name": "loginsights-update",
                        **scoped([collection]),
                        "path": list(UPDATE_PATHS),
                        "role": [SolrRole.INDEXER.value, SolrRole.ADMIN.value],
                    },
                    {"name": "all", "role": [SolrRole.ADMIN.value]},
                ],
            },
        }


def operator_permissions(collection: str, *, standalone: bool) -> list[dict[str, Any]]:
    """What a person's operator account may do (GET only; everything else falls through to the
    rules below, the last of which is the admin's)."""
    roles = [OPERATOR_ROLE, SolrRole.ADMIN.value]
    on_collection = {} if standalone else {"collection": [collection]}
    node = {} if standalone else {"collection": None}
    return [
        {"name": "loginsights-ui-node", **node, "path": list(OPERATOR_NODE_PATHS),
         "method": ["GET"], "role": roles},
        {"name": "loginsights-ui-collections", **node, "path": "/admin/collections",
         "params": {"action": ["LIST", "LISTALIASES", "CLUSTERSTATUS"]}, "method": ["GET"],
         "role": roles},
        # every page lists the node's cores with no action (STATUS by default), which a rule
        # on params cannot match; Solr's own permission for the read-only core actions can
        {"name": "core-admin-read", "role": roles},
        {"name": "loginsights-ui-read", **on_collection, "path": list(OPERATOR_COLLECTION_PATHS),
         "method": ["GET"], "role": roles},
    ]  # fmt: skip


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner may read (created 0600, and narrowed if it existed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    os.chmod(path, 0o600)


def solr_password_hash(password: str, salt: bytes | None = None) -> str:
    """The form Solr's Sha256AuthenticationProvider keeps: base64(sha256(sha256(salt + password)))
    then a space and base64(salt)."""
    salt = salt if salt is not None else secrets.token_bytes(32)
    once = hashlib.sha256(salt + password.encode("utf-8")).digest()
    twice = hashlib.sha256(once).digest()
    return f"{base64.b64encode(twice).decode()} {base64.b64encode(salt).decode()}"


def accounts_or_new(accounts: SolrAccounts | None, credentials_file: Path) -> SolrAccounts:
    """The accounts given, else those kept in the file, else new ones generated into it (0600):
    what a first ``solr start`` or ``solr secure`` does."""
    if accounts is None:
        accounts = SolrAccounts.load(credentials_file)
    if accounts is None:
        accounts = SolrAccounts.generate()
        accounts.save(credentials_file)
    return accounts


def resolve_accounts(
    passwords: Mapping[SolrRole, SecretStr | None],
    users: Mapping[SolrRole, str],
    credentials_file: Path,
) -> SolrAccounts | None:
    """The accounts to use: passwords given in settings win, the credentials file fills the rest;
    None when neither names any (a Solr that does not ask for credentials)."""
    stored = SolrAccounts.load(credentials_file)
    if stored is None and not any(passwords.values()):
        return None
    chosen: dict[str, SolrAccount] = {}
    for role in SolrRole:
        given = passwords.get(role)
        if given is not None:
            chosen[role.value] = SolrAccount(role, users[role], given)
        elif stored is not None:
            chosen[role.value] = stored.for_role(role)
        else:
            raise ConfigurationError(
                f"LOGINSIGHTS_SOLR_{role.name}_PASSWORD is not set while other Solr passwords "
                f"are, and {credentials_file} does not exist; set all three (indexer, reader, "
                "admin)"
            )
    accounts = SolrAccounts(**chosen)
    remember_secrets(*(account.auth[1] for account in accounts))
    return accounts


__all__ = [
    "DEFAULT_USERS",
    "OPERATOR_ROLE",
    "SEARCH_PATHS",
    "UPDATE_PATHS",
    "SolrAccount",
    "SolrAccounts",
    "SolrRole",
    "accounts_or_new",
    "operator_permissions",
    "resolve_accounts",
    "solr_password_hash",
    "write_private",
]
