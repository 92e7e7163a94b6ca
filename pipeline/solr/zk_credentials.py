"""Who loginsights and Solr are to ZooKeeper: digest users, so ZooKeeper asks who you are too.

ZooKeeper holds ``security.json`` (users, salted hashes, rules) and the configset: a client that
may write there undoes Solr's authentication at once. So every znode Solr and loginsights write
carries digest ACLs, as Solr's reference guide ("ZooKeeper Access Control") describes:

    admin     all permissions everywhere (Solr's nodes, ``loginsights solr secure``)
    readonly  read, except ``/security.json`` and ``/security/*`` (loginsights' live-node watch)
    anyone    nothing (an anonymous client may connect, and reads and writes nothing)

Solr is told by its own classes (``DigestZkCredentialsProvider``, ``DigestZkACLProvider``,
``VMParamsZkCredentialsInjector``) reading the properties file kept here; loginsights' kazoo
clients authenticate with the same users. The file is generated on the local Solr's first
start into ``<state_dir>/solr/zk-credentials.properties`` (0600), or given
(``LOGINSIGHTS_ZK_CREDENTIALS_FILE``, e.g. the one mounted into compose's Solr).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from kazoo.security import ACL, make_digest_acl
from pydantic import SecretStr

from pipeline.errors import ConfigurationError
from pipeline.scrub import remember_secrets
from pipeline.solr.accounts import write_private

# the system properties that make a Solr node use them (Solr 9.x class names)
SOLR_ZK_PROPERTIES = {
    "zkCredentialsProvider": "org.apache.solr.common.cloud.DigestZkCredentialsProvider",
    "zkACLProvider": "org.apache.solr.common.cloud.DigestZkACLProvider",
    "zkCredentialsInjector": "org.apache.solr.common.cloud.VMParamsZkCredentialsInjector",
}
KEYS = ("zkDigestUsername", "zkDigestPassword", "zkDigestReadonlyUsername",
        "zkDigestReadonlyPassword")  # fmt: skip
SECURITY_PATHS = ("/security.json", "/security")


@dataclass(frozen=True)
class ZkCredentials:
    admin_user: str
    admin_password: SecretStr | None  # None: a reader of the cluster only (the API, init)
    readonly_user: str
    readonly_password: SecretStr

    @classmethod
    def generate(cls) -> ZkCredentials:
        return cls(
            "loginsights-zk-admin",
            SecretStr(secrets.token_urlsafe(24)),
            "loginsights-zk-readonly",
            SecretStr(secrets.token_urlsafe(24)),
        )

    @classmethod
    def load(cls, path: Path) -> ZkCredentials | None:
        """The credentials in a Java properties file as Solr reads it; None if it is missing."""
        if not path.is_file():
            return None
        values: dict[str, str] = {}
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and not key.strip().startswith("#"):
                values[key.strip()] = value.strip()
        missing = [key for key in KEYS if not values.get(key)]
        if missing:
            raise ConfigurationError(
                f"{path} lacks {', '.join(missing)}; it must name ZooKeeper's admin and read-only "
                "digest users (delete it to have new ones generated on the next `solr start`)"
            )
        found = cls(
            values["zkDigestUsername"],
            SecretStr(values["zkDigestPassword"]),
            values["zkDigestReadonlyUsername"],
            SecretStr(values["zkDigestReadonlyPassword"]),
        )
        found.remember()
        return found

    def remember(self) -> None:
        """Register the passwords with the scrubber: they never reach a log or message."""
        remember_secrets(
            *(p.get_secret_value() for p in (self.admin_password, self.readonly_password) if p)
        )

    def _admin(self) -> SecretStr:
        if self.admin_password is None:
            raise ConfigurationError(
                "writing to ZooKeeper needs its admin user's password; set "
                "LOGINSIGHTS_ZK_ADMIN_PASSWORD (only the services that write security.json "
                "have it)"
            )
        return self.admin_password

    def save(self, path: Path) -> None:
        write_private(
            path,
            "# ZooKeeper digest users of loginsights' Solr (Solr's VMParamsZkCredentialsInjector)\n"
            f"zkDigestUsername={self.admin_user}\n"
            f"zkDigestPassword={self._admin().get_secret_value()}\n"
            f"zkDigestReadonlyUsername={self.readonly_user}\n"
            f"zkDigestReadonlyPassword={self.readonly_password.get_secret_value()}\n",
        )

    def auth_data(self, *, admin: bool) -> list[tuple[str, str]]:
        """What a kazoo client sends to be one of the two users."""
        user, password = (
            (self.admin_user, self._admin())
            if admin
            else (self.readonly_user, self.readonly_password)
        )
        return [("digest", f"{user}:{password.get_secret_value()}")]

    def acls(self, path: str) -> list[ACL]:
        """The ACL Solr's DigestZkACLProvider gives ``path`` (the security paths: admin only)."""
        admin = make_digest_acl(self.admin_user, self._admin().get_secret_value(), all=True)
        if any(path == p or path.startswith(p + "/") for p in SECURITY_PATHS):
            return [admin]
        reader = make_digest_acl(
            self.readonly_user, self.readonly_password.get_secret_value(), read=True
        )
        return [admin, reader]


def credentials_or_new(path: Path) -> ZkCredentials:
    """The credentials kept in ``path``, else new ones generated into it (0600)."""
    found = ZkCredentials.load(path)
    if found is None:
        found = ZkCredentials.generate()
        found.save(path)
    return found


__all__ = ["SOLR_ZK_PROPERTIES", "ZkCredentials", "credentials_or_new"]
