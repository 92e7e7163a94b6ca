"""The ledger's foundation: the database engine (SQLite or PostgreSQL), transactions, errors."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import Any, Self, TypeVar

import orjson
from sqlalchemy import (
    URL,
    Connection,
    CursorResult,
    Engine,
    RowMapping,
    Table,
    create_engine,
    event,
    make_url,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

from pipeline.errors import LedgerError, LedgerUnavailableError
from pipeline.ledger.migrations import ensure_schema
from pipeline.ledger.schema import outbox as outbox_table
from pipeline.windows import Clock, utc_now

T = TypeVar("T")


def payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def payload_text(payload: dict[str, Any]) -> str:
    """The raw payload as stored: orjson for speed, the standard encoder for what it refuses."""
    try:
        return orjson.dumps(payload).decode()
    except TypeError:
        return json.dumps(payload, ensure_ascii=False)


class LedgerBase:
    """The order store on one database: a SQLite file (WAL, the embedded default) or PostgreSQL.

    ``location`` is a file path (SQLite) or a SQLAlchemy URL (``postgresql+psycopg://…``,
    ``sqlite:///…``). A SQLite ledger is brought to the newest schema when it opens (one
    machine, one owner); a PostgreSQL ledger, shared by workers on several machines, is
    upgraded only by ``loginsights db upgrade`` and refuses to open behind it.

    Every database failure becomes one ``LedgerError`` naming the ledger and what to do: a full
    disk, a damaged file (``PRAGMA quick_check`` when a SQLite ledger opens), a lock held too
    long, a server that cannot be reached. A failed write is rolled back whole, so a window is
    never half recorded and its checkpoint never moves.
    """

    def __init__(self, location: Path | str, *, pool_size: int = 5, clock: Clock = utc_now) -> None:
        self.clock = clock  # the ledger's timestamps, set by whoever builds it
        # log documents queued by this process (a rolled-back one counts too): a pass that
        # queued none has nothing to flush
        self.documents_queued = 0
        self.url = ledger_url(location)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.path = self.url.database if self.is_sqlite else self.url.render_as_string()
        try:
            self._engine = _engine(self.url, pool_size)
            # one statement per read, no BEGIN/ROLLBACK around it (the same pool)
            self._reader = (
                self._engine
                if self.is_sqlite
                else self._engine.execution_options(isolation_level="AUTOCOMMIT")
            )
            if self.is_sqlite:
                self._check_sqlite()
            ensure_schema(self._engine, upgrade=self.is_sqlite, where=str(self.path))
        except OSError as err:
            raise LedgerError(
                f"cannot open the ledger at {self.path} ({err}); check the path "
                "(LOGINSIGHTS_LEDGER_PATH) and that the disk is writable"
            ) from err
        except DBAPIError as err:
            raise self._error(err, "opening it") from err

    def now_iso(self) -> str:
        return self.clock().astimezone(UTC).isoformat()

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_sqlite(self) -> None:
        with self._engine.connect() as connection:
            problems = [row[0] for row in connection.exec_driver_sql("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise LedgerError(
                f"the ledger {self.path} failed its integrity check ({problems[0]}); "
                + _advice("malformed", str(self.path))
            )

    def _error(self, err: DBAPIError, doing: str) -> LedgerError | LedgerUnavailableError:
        reason = str(err.orig) if err.orig is not None else str(err)
        if err.connection_invalidated:
            return LedgerUnavailableError(
                f"the ledger's database {self.path} dropped the connection while {doing} "
                f"({reason.strip()}); nothing of it was kept, and it is tried again with a new "
                "connection (if it keeps happening, check that PostgreSQL is up)"
            )
        return LedgerError(
            f"the ledger {self.path} failed while {doing} ({reason.strip()}); "
            + _advice(reason.lower(), str(self.path))
        )

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One transaction; SQLite takes its write lock at BEGIN (IMMEDIATE) to avoid deadlock."""
        try:
            with self._engine.begin() as connection:
                yield connection
        except DBAPIError as err:
            raise self._error(err, "writing") from err

    def _write(self, statement: Executable) -> int:
        """One statement that is its own transaction (autocommit on PostgreSQL: no BEGIN and
        COMMIT around it, two round trips fewer); a dropped connection is retried like a
        transaction is, by the caller's next pass. Returns the rows it changed (an INSERT says
        so only through RETURNING)."""
        return self._autocommit(statement, _changed)

    def _write_rows(self, statement: Executable) -> list[RowMapping]:
        """As ``_write``, for a statement whose RETURNING rows are wanted."""
        return self._autocommit(statement, lambda result: list(result.mappings()))

    def _autocommit(self, statement: Executable, read: Callable[[CursorResult[Any]], T]) -> T:
        if self.is_sqlite:
            with self._transaction() as connection:
                return read(connection.execute(statement))
        try:
            with self._reader.connect() as connection:
                return read(connection.execute(statement))
        except DBAPIError as err:
            raise self._error(err, "writing") from err

    def _read(self, statement: Executable) -> list[RowMapping]:
        """A read; one dropped connection is retried at once on a fresh one (nothing was
        changed), so the pool needs no ping before every checkout."""
        for attempt in (1, 2):
            try:
                with self._reader.connect() as connection:
                    return list(connection.execute(statement).mappings())
            except DBAPIError as err:
                if not (err.connection_invalidated and attempt == 1):
                    raise self._error(err, "reading") from err
        raise AssertionError("unreachable")

    def _insert(self, table: Table) -> Any:
        """The dialect's INSERT, which knows ON CONFLICT."""
        return (sqlite_insert if self.is_sqlite else postgresql_insert)(table)

    def _upsert(
        self,
        db: Connection,
        table: Table,
        values: dict[str, Any],
        *,
        keys: Sequence[str],
        update: Sequence[str],
    ) -> None:
        insert = sqlite_insert if self.is_sqlite else postgresql_insert
        statement = insert(table).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=list(keys), set_={name: statement.excluded[name] for name in update}
        )
        db.execute(statement)

    def _enqueue(self, db: Connection, document: dict[str, Any]) -> None:
        self.documents_queued += 1
        db.execute(
            outbox_table.insert().values(
                document_id=document["document-id"],
                document=json.dumps(document, ensure_ascii=False),
                queued_at=self.now_iso(),
            )
        )


def _changed(result: CursorResult[Any]) -> int:
    return len(result.all()) if result.returns_rows else int(result.rowcount)


def ledger_url(location: Path | str) -> URL:
    """A SQLAlchemy URL for a file path or a URL string."""
    text = str(location)
    if "://" in text:
        return make_url(text)
    return URL.create("sqlite", database=str(Path(text)))


def libpq_conninfo(url: URL) -> str:
    """psycopg's own connection string for a PostgreSQL ledger (the sessions SQLAlchemy does not
    pool: the bells' LISTEN, the life lock): its URL without SQLAlchemy's driver name."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _engine(url: URL, pool_size: int) -> Engine:
    if url.get_backend_name() != "sqlite":
        # no ping per checkout (a round trip per transaction): a dropped connection is retried
        # (reads) or is LedgerUnavailableError (writes), and the pool is renewed on it. No
        # overflow: connections opened for a burst and closed after it cost more than a thread
        # waiting a moment for one of the pool's (a quarter connection per pushed order)
        return create_engine(url, pool_size=pool_size, max_overflow=0, pool_recycle=1800)
    if url.database:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _advice(reason: str, where: str) -> str:
    if "full" in reason:
        return "the disk is full: free space and run again; the unfinished window is redone"
    if any(word in reason for word in ("malformed", "not a database", "corrupt")):
        return (
            f"the file is damaged: restore {where} from a backup, or move it aside (a new "
            "ledger is made) and run `loginsights reconcile --shop …` for each shop"
        )
    if "locked" in reason or "busy" in reason:
        return "another process holds it; try again in a moment"
    if "connect" in reason or "connection" in reason:
        return "the database server cannot be reached; check LOGINSIGHTS_LEDGER_URL and retry"
    return "check that the ledger and its folder are writable"
