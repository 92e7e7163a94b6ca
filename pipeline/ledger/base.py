"""The ledger's foundation: the SQLite connection, its schema, and one-writer transactions."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from pipeline.errors import LedgerError

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    shop TEXT NOT NULL,
    order_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    platform TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL,
    tags TEXT NOT NULL,
    payload TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    PRIMARY KEY (shop, order_id, version)
);
CREATE INDEX IF NOT EXISTS orders_by_created ON orders (shop, created_at);
CREATE TABLE IF NOT EXISTS failures (
    shop TEXT NOT NULL,
    order_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    name TEXT NOT NULL,
    order_created_at TEXT NOT NULL,
    first_attempt_at TEXT NOT NULL,
    last_attempt_at TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    error_code TEXT NOT NULL,
    last_error TEXT NOT NULL,
    payload TEXT,
    payload_hash TEXT,
    attempt TEXT NOT NULL,
    doc_version INTEGER NOT NULL,
    resolved_at TEXT,
    PRIMARY KEY (shop, order_id)
);
CREATE TABLE IF NOT EXISTS checkpoints (
    shop TEXT PRIMARY KEY,
    window_end TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS attempts (
    shop TEXT NOT NULL,
    order_id TEXT NOT NULL,
    attempted_at TEXT NOT NULL,
    error_code TEXT NOT NULL,
    error TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_by_order ON attempts (shop, order_id);
CREATE TABLE IF NOT EXISTS reconciliations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shop TEXT NOT NULL,
    window_start TEXT NOT NULL,
    window_end TEXT NOT NULL,
    ran_at TEXT NOT NULL,
    report TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id TEXT NOT NULL,
    document TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    dead INTEGER NOT NULL DEFAULT 0
);
"""


def payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


class LedgerBase:
    """One SQLite database (WAL) shared by the worker and the flusher of one process."""

    """The SQLite order store; one per process, shared by the worker and the flusher."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as err:
            raise LedgerError(
                f"cannot open the ledger at {path} ({err}); check the path "
                "(LOGINSIGHTS_LEDGER_PATH) and that the disk is writable"
            ) from err
        self._lock = threading.RLock()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except sqlite3.Error as err:
                self._db.execute("ROLLBACK")
                raise LedgerError(f"ledger write failed ({err}); the import will redo it") from err
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, params))

    def _enqueue(self, db: sqlite3.Connection, document: dict[str, Any]) -> None:
        db.execute(
            "INSERT INTO outbox (document_id, document, queued_at) VALUES (?,?,?)",
            (document["document-id"], json.dumps(document, ensure_ascii=False), now_iso()),
        )
