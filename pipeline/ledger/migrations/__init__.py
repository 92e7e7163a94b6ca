"""The ledger's schema migrations (Alembic), run from code: no alembic.ini to find.

``ensure_schema`` runs when a ledger opens: a SQLite ledger is upgraded in place (an existing
ledger made before migrations existed is adopted by the baseline revision, which only creates
what is missing); a PostgreSQL ledger must already be at the newest revision, since workers on
several machines share it and one person upgrades it with ``loginsights db upgrade``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from pipeline.errors import LedgerError

HERE = Path(__file__).resolve().parent


def _config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Apply every migration not yet applied; (revision before, revision after)."""
    before = current_revision(engine)
    command.upgrade(_config(engine), "head")
    return before, head_revision()


def ensure_schema(engine: Engine, *, upgrade: bool, where: str) -> None:
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    if upgrade:
        command.upgrade(_config(engine), "head")
        return
    raise LedgerError(
        f"the ledger {where} is at schema revision {current or 'none'}, this loginsights needs "
        f"{head}; run `loginsights db upgrade` once (every worker can keep running meanwhile "
        "on the old version until it is upgraded too)"
    )


__all__ = ["current_revision", "ensure_schema", "head_revision", "upgrade"]
