"""The ledger's foundation: the SQLite connection, its schema, and one-writer transactions."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
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
    """The SQLite order store (WAL); one per process, shared by the worker and the flusher.

    Every SQLite failure becomes one ``LedgerError`` naming the file and what to do: a full
    disk, a damaged file (checked with ``PRAGMA quick_check`` when the ledger opens), a lock
    held too long. A failed write is rolled back whole, so a window is never half recorded and
    its checkpoint never moves.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA busy_timeout=10000")
            problems = [row[0] for row in self._db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise sqlite3.DatabaseError(f"database disk image is malformed: {problems[0]}")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except OSError as err:
            raise LedgerError(
                f"cannot open the ledger at {path} ({err}); check the path "
                "(LOGINSIGHTS_LEDGER_PATH) and that the disk is writable"
            ) from err
        except sqlite3.Error as err:
            raise self._error(err, "opening it") from err
        self._lock = threading.RLock()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _error(self, err: sqlite3.Error, doing: str) -> LedgerError:
        text = str(err).lower()
        if "full" in text:
            advice = "the disk is full: free space and run again; the unfinished window is redone"
        elif any(word in text for word in ("malformed", "not a database", "corrupt")):
            advice = (
                f"the file is damaged: restore {self.path} from a backup, or move it aside (a "
                "new ledger is made) and run `loginsights reconcile --shop …` for each shop"
            )
        elif "locked" in text or "busy" in text:
            advice = "another process holds it; try again in a moment"
        else:
            advice = "check that the file and its folder are writable"
        return LedgerError(f"the ledger {self.path} failed while {doing} ({err}); {advice}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except sqlite3.Error as err:
                self._rollback()
                raise self._error(err, "writing") from err
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        """Roll back what is open; SQLite may already have rolled back after a full disk."""
        if self._db.in_transaction:
            with suppress(sqlite3.Error):  # the original error is what the caller needs
                self._db.execute("ROLLBACK")

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return list(self._db.execute(sql, params))
            except sqlite3.Error as err:
                raise self._error(err, "reading") from err

    def _enqueue(self, db: sqlite3.Connection, document: dict[str, Any]) -> None:
        db.execute(
            "INSERT INTO outbox (document_id, document, queued_at) VALUES (?,?,?)",
            (document["document-id"], json.dumps(document, ensure_ascii=False), now_iso()),
        )
