"""Settings, built once at the edge (CLI group, API dependency, test fixture) and passed down.

Every field can come from the environment with the prefix ``LOGINSIGHTS_`` (for example
``LOGINSIGHTS_SOLR_URL``) or from a ``.env`` file; nothing below the edge reads the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from pipeline.contracts import default_contracts_dir
from pipeline.models import DocType, validate_time_zone, validate_ttl
from pipeline.solr.accounts import (
    DEFAULT_USERS,
    SolrAccount,
    SolrAccounts,
    SolrRole,
    resolve_accounts,
)
from pipeline.solr.zk_credentials import ZkCredentials

REPO_ROOT = Path(__file__).resolve().parents[1]


def default_state_dir() -> Path:
    return Path.home() / ".local" / "state" / "loginsights"


class Settings(BaseSettings):
    """Where Solr is, how log documents look, and where local state lives."""

    model_config = SettingsConfigDict(env_prefix="LOGINSIGHTS_", env_file=".env", extra="ignore")

    solr_url: str = Field(
        "http://127.0.0.1:8983/solr",
        description="Base URL of Solr, ending in /solr (any node of a SolrCloud cluster).",
    )
    collection: str = Field("logInsights", description="Collection (or core) of the log documents.")
    zk_host: str | None = Field(
        None,
        description="ZooKeeper of a SolrCloud cluster (host:port[,host:port][/chroot]): live nodes "
        "hosting the collection are found there instead of in solr_url's list.",
    )
    solr_indexer_user: str = Field(
        DEFAULT_USERS[SolrRole.INDEXER], description="Solr user that may only /update (outbox)."
    )
    solr_indexer_password: SecretStr | None = Field(None, description="Its password.")
    solr_reader_user: str = Field(
        DEFAULT_USERS[SolrRole.READER], description="Solr user that may only /search (API, query)."
    )
    solr_reader_password: SecretStr | None = Field(None, description="Its password.")
    solr_admin_user: str = Field(
        DEFAULT_USERS[SolrRole.ADMIN], description="Solr user for solr init, status and reindex."
    )
    solr_admin_password: SecretStr | None = Field(None, description="Its password.")
    solr_credentials_file: Path | None = Field(
        None,
        description="Where the local Solr's generated passwords are kept, mode 0600 "
        "[default: <state_dir>/solr/credentials.json]; the passwords above win over it.",
    )
    zk_credentials_file: Path | None = Field(
        None,
        description="ZooKeeper's digest users, a properties file as Solr reads it "
        "(zkDigestUsername, zkDigestPassword, zkDigestReadonlyUsername, zkDigestReadonlyPassword) "
        "[default: <state_dir>/solr/zk-credentials.properties]; the passwords below win over it.",
    )
    zk_admin_user: str = Field("loginsights-zk-admin", description="ZooKeeper's admin user.")
    zk_admin_password: SecretStr | None = Field(None, description="Its password.")
    zk_readonly_user: str = Field(
        "loginsights-zk-readonly", description="ZooKeeper's read-only user (live nodes)."
    )
    zk_readonly_password: SecretStr | None = Field(None, description="Its password.")
    solr_timeout_seconds: float = Field(10.0, gt=0, description="Timeout of one Solr request.")
    solr_retry_attempts: int = Field(5, ge=1, description="Tries before Solr counts as down.")
    index_batch_size: int = Field(500, ge=1, le=10_000, description="Documents per /update.")
    time_zone: str = Field(
        "America/New_York",
        description="Zone of firstAttemptedImport's human-readable form (seed 000's values).",
    )
    ttl_by_doc_type: dict[DocType, str] = Field(
        default_factory=lambda: {doc_type: "+60DAYS" for doc_type in DocType},
        description="Solr date math added to the attempt's time to give expire_at.",
    )
    state_dir: Path = Field(
        default_factory=default_state_dir,
        description="Local state: the Maven-built Solr's nodes and logs.",
    )
    solr_assets_dir: Path = Field(
        REPO_ROOT / "solr",
        description="Folder holding configsets/logInsights and launcher/ (the Maven project).",
    )
    contracts_dir: Path = Field(
        default_factory=default_contracts_dir,
        description="Cache of the platforms' pinned published contracts (loginsights contracts "
        "fetch): Shopify's Admin GraphQL schemas and SFCC's commerce-sdk order types.",
    )
    ledger_path: Path | None = Field(
        None, description="The SQLite order store [default: <state_dir>/ledger.sqlite3]."
    )
    ledger_url: str | None = Field(
        None,
        description="A shared ledger instead of the SQLite file, e.g. "
        "postgresql+psycopg://loginsights:…@db:5432/loginsights (workers on several machines).",
    )
    ledger_pool_size: int = Field(
        10, ge=1, le=100, description="PostgreSQL connections per process, kept open."
    )
    shops_file: Path = Field(Path("shops.toml"), description="The TOML file naming the shops.")
    poll_seconds: float = Field(30.0, gt=0, description="Pause between passes of `run`.")
    auto_delete_period_seconds: int = Field(
        300, ge=1, description="How often the local Solr deletes expired documents."
    )

    api_tokens: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Bearer tokens accepted by the HTTP API, comma-separated in the environment.",
    )
    api_admin_tokens: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Tokens that may also act in the console (re-import, refresh, retry).",
    )
    api_allowed_cores: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["logInsights"],
        description="Cores that /api/solr-query may search; the first is the default.",
    )
    api_max_rows: int = Field(1000, ge=1, description="Largest rows (or limit) one request gets.")
    api_max_facet_limit: int = Field(1000, ge=1, description="Largest facet limit per request.")
    api_max_body_bytes: int = Field(65_536, ge=256, description="Largest request body accepted.")
    api_retry_after_seconds: int = Field(5, ge=1, description="Retry-After sent when Solr is down.")
    webhook_max_body_bytes: int = Field(
        2_000_000, ge=1024, description="Largest webhook delivery accepted (an order's JSON)."
    )
    api_max_response_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest Solr answer relayed; past it, a 400."
    )
    api_body_timeout_seconds: float = Field(
        10.0, gt=0, description="Longest wait for a whole request body once its headers are in."
    )
    api_header_timeout_seconds: float = Field(
        10.0, gt=0, description="Longest wait for a request's headers on a connection."
    )
    api_max_header_bytes: int = Field(
        32 * 1024,
        ge=4096,
        le=1024 * 1024,
        description="Bytes of request line and headers a request may send (431 past it).",
    )
    api_max_headers: int = Field(
        100, ge=10, le=1000, description="Headers a request may send (431 past them)."
    )
    api_max_concurrency: int = Field(
        256, ge=1, description="Requests one serve process answers at once; past it, 503."
    )
    api_max_connections: int = Field(
        768,
        ge=2,
        description="Connections one serve process keeps open; past it the one idle longest is "
        "closed (503 if none is idle). Keep it under the process's open-files limit (ulimit -n).",
    )

    @field_validator("api_tokens", "api_admin_tokens", "api_allowed_cores", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("api_allowed_cores")
    @classmethod
    def _some_core(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("api_allowed_cores needs at least one core, e.g. logInsights")
        return value

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return validate_time_zone(value)

    @field_validator("ttl_by_doc_type")
    @classmethod
    def _valid_ttls(cls, value: dict[DocType, str]) -> dict[DocType, str]:
        for ttl in value.values():
            validate_ttl(ttl)
        return value

    @property
    def credentials_path(self) -> Path:
        return self.solr_credentials_file or self.state_dir / "solr" / "credentials.json"

    @property
    def people_path(self) -> Path:
        """People's Solr accounts (operators), salted hashes only (0600)."""
        return self.state_dir / "solr" / "people.json"

    @property
    def zk_credentials_path(self) -> Path:
        return self.zk_credentials_file or self.state_dir / "solr" / "zk-credentials.properties"

    def zk_credentials(self) -> ZkCredentials | None:
        """Who loginsights is to ZooKeeper: the passwords given, else the credentials file,
        else None (a ZooKeeper that asks for nobody)."""
        if self.zk_readonly_password is not None:
            given = ZkCredentials(
                self.zk_admin_user,
                self.zk_admin_password,
                self.zk_readonly_user,
                self.zk_readonly_password,
            )
            given.remember()
            return given
        return ZkCredentials.load(self.zk_credentials_path)

    def solr_users(self) -> dict[SolrRole, str]:
        return {
            SolrRole.INDEXER: self.solr_indexer_user,
            SolrRole.READER: self.solr_reader_user,
            SolrRole.ADMIN: self.solr_admin_user,
        }

    def solr_accounts(self) -> SolrAccounts | None:
        """The Solr users loginsights logs in as, or None for a Solr that asks for nobody."""
        passwords = {
            SolrRole.INDEXER: self.solr_indexer_password,
            SolrRole.READER: self.solr_reader_password,
            SolrRole.ADMIN: self.solr_admin_password,
        }
        return resolve_accounts(passwords, self.solr_users(), self.credentials_path)

    def solr_account(self, role: SolrRole) -> SolrAccount | None:
        accounts = self.solr_accounts()
        return accounts.for_role(role) if accounts is not None else None

    @property
    def configset_dir(self) -> Path:
        return self.solr_assets_dir / "configsets" / "logInsights" / "conf"

    @property
    def launcher_dir(self) -> Path:
        return self.solr_assets_dir / "launcher"

    @property
    def ledger_file(self) -> Path:
        return self.ledger_path or self.state_dir / "ledger.sqlite3"

    @property
    def ledger_location(self) -> str | Path:
        """The PostgreSQL (or any SQLAlchemy) URL when one is set, else the SQLite file."""
        return self.ledger_url or self.ledger_file

    def ttl_for(self, doc_type: DocType) -> str:
        return self.ttl_by_doc_type.get(doc_type, "+60DAYS")


__all__ = ["REPO_ROOT", "Settings"]
