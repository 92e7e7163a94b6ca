"""The ledger: the order store and the memory of every import, in SQLite (WAL).

Tables:
    orders       imported orders (a refresh adds a version), with the raw payload as sent
    failures     one row per failing order: first and last attempt, count, last error
    checkpoints  per shop, the end of the last window imported completely
    outbox       log documents for Solr not yet accepted by it
    attempts     every failed attempt of every order (the history ``loginsights show`` prints)
    reconciliations  the daily reconciliation reports

A failed attempt and its outbox row are written in one transaction, and so are a success and
the outbox row that marks the failure resolved: if the process dies, either both exist or
neither. The outbox is emptied only by ``OutboxFlusher`` once Solr has accepted a document.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.errors import LedgerError
from pipeline.models import FailedAttempt, next_version
from pipeline.orders.model import Order, OrderStatus

OLD_VERSION_TAG = "old version"

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


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class FailureRecord:
    shop: str
    order_id: str
    name: str
    attempts: int
    first_attempt_at: datetime
    last_attempt_at: datetime
    error_code: str
    last_error: str
    resolved_at: datetime | None
    doc_version: int


@dataclass(frozen=True)
class OutboxRow:
    id: int
    document_id: str
    document: dict[str, Any]


class Ledger:
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

    def __enter__(self) -> Ledger:
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

    # -- orders ---------------------------------------------------------------------------

    def has_order(self, shop: str, order_id: str) -> bool:
        return bool(
            self._query(
                "SELECT 1 FROM orders WHERE shop=? AND order_id=? LIMIT 1", (shop, order_id)
            )
        )

    def save_order(
        self,
        order: Order,
        payload: dict[str, Any],
        *,
        resolved_document: dict[str, Any] | None = None,
    ) -> bool:
        """Store version 1 of an order; False if it was already there (nothing changes)."""
        with self._transaction() as db:
            if db.execute(
                "SELECT 1 FROM orders WHERE shop=? AND order_id=?", (order.shop, order.order_id)
            ).fetchone():
                return False
            self._insert_order(db, order, payload, version=1)
            if resolved_document is not None:
                self._resolve(db, order, resolved_document)
            return True

    def _resolve(self, db: sqlite3.Connection, order: Order, document: dict[str, Any]) -> None:
        db.execute(
            "UPDATE failures SET resolved_at=?, doc_version=? WHERE shop=? AND order_id=?",
            (_now(), document["version"], order.shop, order.order_id),
        )
        self._enqueue(db, document)

    def _insert_order(
        self, db: sqlite3.Connection, order: Order, payload: dict[str, Any], *, version: int
    ) -> None:
        db.execute(
            "INSERT INTO orders VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                order.shop,
                order.order_id,
                version,
                order.platform.value,
                order.name,
                order.created_at.astimezone(UTC).isoformat(),
                order.status.value,
                json.dumps(order.tags),
                json.dumps(payload, ensure_ascii=False),
                _now(),
            ),
        )

    def refresh_order(
        self,
        order: Order,
        payload: dict[str, Any],
        *,
        resolved_document: dict[str, Any] | None = None,
    ) -> int:
        """Store the platform's current state as a new version; the previous one is cancelled
        and tagged ``old version`` (seed 001). Returns the new version number."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT MAX(version) AS v FROM orders WHERE shop=? AND order_id=?",
                (order.shop, order.order_id),
            ).fetchone()
            previous = row["v"] if row is not None and row["v"] is not None else 0
            if previous:
                old = db.execute(
                    "SELECT tags FROM orders WHERE shop=? AND order_id=? AND version=?",
                    (order.shop, order.order_id, previous),
                ).fetchone()
                tags = [t for t in json.loads(old["tags"]) if t != OLD_VERSION_TAG]
                db.execute(
                    "UPDATE orders SET status=?, tags=? WHERE shop=? AND order_id=? AND version=?",
                    (
                        OrderStatus.CANCELLED.value,
                        json.dumps([*tags, OLD_VERSION_TAG]),
                        order.shop,
                        order.order_id,
                        previous,
                    ),
                )
            self._insert_order(db, order, payload, version=previous + 1)
            if resolved_document is not None:
                self._resolve(db, order, resolved_document)
            return int(previous + 1)

    def latest_orders(self, shop: str, *, status: str | None = None) -> list[sqlite3.Row]:
        """The newest version of each order of the shop, oldest order first."""
        sql = (
            "SELECT o.* FROM orders o JOIN (SELECT order_id, MAX(version) AS v FROM orders "
            "WHERE shop=? GROUP BY order_id) l ON o.order_id=l.order_id AND o.version=l.v "
            "WHERE o.shop=?"
        )
        params: tuple[Any, ...] = (shop, shop)
        if status is not None:
            sql += " AND o.status=?"
            params += (status,)
        return self._query(sql + " ORDER BY o.created_at", params)

    def order_versions(self, shop: str, order_id: str) -> list[sqlite3.Row]:
        return self._query(
            "SELECT * FROM orders WHERE shop=? AND order_id=? ORDER BY version", (shop, order_id)
        )

    def order_ids(self, shop: str) -> set[str]:
        return {
            r["order_id"] for r in self._query("SELECT order_id FROM orders WHERE shop=?", (shop,))
        }

    def order_rows(self, shop: str) -> list[sqlite3.Row]:
        return self._query(
            "SELECT * FROM orders WHERE shop=? ORDER BY created_at, version", (shop,)
        )

    def count_orders(self, shop: str) -> int:
        return int(self._query("SELECT COUNT(*) FROM orders WHERE shop=?", (shop,))[0][0])

    # -- failures -------------------------------------------------------------------------

    def failure(self, shop: str, order_id: str) -> FailureRecord | None:
        rows = self._query("SELECT * FROM failures WHERE shop=? AND order_id=?", (shop, order_id))
        return _failure(rows[0]) if rows else None

    def failures(self, shop: str, *, outstanding_only: bool = True) -> list[FailureRecord]:
        sql = "SELECT * FROM failures WHERE shop=?"
        if outstanding_only:
            sql += " AND resolved_at IS NULL"
        return [_failure(r) for r in self._query(sql + " ORDER BY last_attempt_at DESC", (shop,))]

    def record_failure(
        self,
        attempt: FailedAttempt,
        *,
        payload: dict[str, Any] | None,
        ttl: str,
        zone: ZoneInfo,
        retry_unchanged: bool,
    ) -> bool:
        """Count one failed attempt and queue its log document, in one transaction.

        Returns False (and writes nothing) when the same payload already failed and the error is
        not a transient one: re-running a window then changes nothing.
        """
        digest = payload_hash(payload) if payload is not None else None
        with self._transaction() as db:
            row = db.execute(
                "SELECT * FROM failures WHERE shop=? AND order_id=?",
                (attempt.shop, attempt.order_id),
            ).fetchone()
            if (
                row is not None
                and not retry_unchanged
                and row["resolved_at"] is None
                and digest is not None
                and row["payload_hash"] == digest
                and row["last_error"] == attempt.error_message
            ):
                return False
            first = (
                datetime.fromisoformat(row["first_attempt_at"])
                if row is not None
                else attempt.attempted_at
            )
            attempts = (row["attempts"] if row is not None else 0) + 1
            version = next_version(row["doc_version"] if row is not None else None)
            document = attempt.to_log_document(
                ttl=ttl, zone=zone, version=version, first_attempted_at=first, attempts=attempts
            )
            db.execute(
                "INSERT INTO failures VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,NULL) "
                "ON CONFLICT (shop, order_id) DO UPDATE SET name=excluded.name, "
                "last_attempt_at=excluded.last_attempt_at, attempts=excluded.attempts, "
                "error_code=excluded.error_code, last_error=excluded.last_error, "
                "payload=excluded.payload, payload_hash=excluded.payload_hash, "
                "attempt=excluded.attempt, doc_version=excluded.doc_version, resolved_at=NULL",
                (
                    attempt.shop,
                    attempt.order_id,
                    attempt.platform.value,
                    attempt.order_name,
                    attempt.order_created_at.astimezone(UTC).isoformat(),
                    first.astimezone(UTC).isoformat(),
                    attempt.attempted_at.astimezone(UTC).isoformat(),
                    attempts,
                    attempt.error_code.value,
                    attempt.error_message,
                    json.dumps(payload, ensure_ascii=False) if payload is not None else None,
                    digest,
                    attempt.model_dump_json(),
                    version,
                ),
            )
            db.execute(
                "INSERT INTO attempts VALUES (?,?,?,?,?)",
                (
                    attempt.shop,
                    attempt.order_id,
                    attempt.attempted_at.astimezone(UTC).isoformat(),
                    attempt.error_code.value,
                    attempt.error_message,
                ),
            )
            self._enqueue(db, document)
            return True

    def outstanding_failures(
        self,
        *,
        shop: str | None = None,
        platform: str | None = None,
        error_code: str | None = None,
        since: datetime | None = None,
    ) -> list[FailureRecord]:
        """Unresolved failed orders, newest attempt first, narrowed by whatever is given."""
        sql, params = "SELECT * FROM failures WHERE resolved_at IS NULL", []
        for column, value in (("shop", shop), ("platform", platform), ("error_code", error_code)):
            if value is not None:
                sql += f" AND {column}=?"
                params.append(value)
        if since is not None:
            sql += " AND last_attempt_at>=?"
            params.append(since.astimezone(UTC).isoformat())
        rows = self._query(sql + " ORDER BY last_attempt_at DESC", tuple(params))
        return [_failure(r) for r in rows]

    def attempt_history(self, shop: str, order_id: str) -> list[sqlite3.Row]:
        return self._query(
            "SELECT attempted_at, error_code, error FROM attempts WHERE shop=? AND order_id=? "
            "ORDER BY attempted_at",
            (shop, order_id),
        )

    def failed_payload(self, shop: str, order_id: str) -> dict[str, Any] | None:
        rows = self._query(
            "SELECT payload FROM failures WHERE shop=? AND order_id=?", (shop, order_id)
        )
        return json.loads(rows[0]["payload"]) if rows and rows[0]["payload"] else None

    def find_orders(self, reference: str, *, shop: str | None = None) -> list[tuple[str, str]]:
        """(shop, order id) pairs whose id or name is ``reference`` ('#1001' or '1001')."""
        names = (reference, f"#{reference.lstrip('#')}")
        found: set[tuple[str, str]] = set()
        for table in ("orders", "failures"):
            sql = f"SELECT DISTINCT shop, order_id FROM {table} WHERE (order_id=? OR name IN (?,?))"
            params: tuple[Any, ...] = (reference, *names)
            if shop is not None:
                sql += " AND shop=?"
                params += (shop,)
            found |= {(r["shop"], r["order_id"]) for r in self._query(sql, params)}
        return sorted(found)

    def resolution_document(
        self, shop: str, order_id: str, *, ttl: str, zone: ZoneInfo
    ) -> dict[str, Any] | None:
        """The failure document of an order, marked resolved; None if it never failed."""
        rows = self._query(
            "SELECT * FROM failures WHERE shop=? AND order_id=? AND resolved_at IS NULL",
            (shop, order_id),
        )
        if not rows:
            return None
        row = rows[0]
        attempt = FailedAttempt.model_validate_json(row["attempt"])
        document = attempt.to_log_document(
            ttl=ttl,
            zone=zone,
            version=next_version(row["doc_version"]),
            first_attempted_at=datetime.fromisoformat(row["first_attempt_at"]),
            attempts=row["attempts"],
        )
        document["resolved"] = True
        document["resolvedAt"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return document

    # -- checkpoints ----------------------------------------------------------------------

    def checkpoint(self, shop: str) -> datetime | None:
        rows = self._query("SELECT window_end FROM checkpoints WHERE shop=?", (shop,))
        return datetime.fromisoformat(rows[0]["window_end"]) if rows else None

    def advance_checkpoint(self, shop: str, window_end: datetime) -> None:
        """Move the shop's checkpoint forward (never back) to the end of a complete window."""
        with self._transaction() as db:
            row = db.execute("SELECT window_end FROM checkpoints WHERE shop=?", (shop,)).fetchone()
            if row is not None and datetime.fromisoformat(row["window_end"]) >= window_end:
                return
            db.execute(
                "INSERT INTO checkpoints VALUES (?,?,?) ON CONFLICT (shop) DO UPDATE SET "
                "window_end=excluded.window_end, updated_at=excluded.updated_at",
                (shop, window_end.astimezone(UTC).isoformat(), _now()),
            )

    # -- reconciliations ------------------------------------------------------------------

    def save_reconciliation(
        self,
        shop: str,
        start: datetime,
        end: datetime,
        report: dict[str, Any],
        document: dict[str, Any],
    ) -> None:
        """Keep a reconciliation report and queue its log document, in one transaction."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO reconciliations (shop, window_start, window_end, ran_at, report) "
                "VALUES (?,?,?,?,?)",
                (
                    shop,
                    start.astimezone(UTC).isoformat(),
                    end.astimezone(UTC).isoformat(),
                    _now(),
                    json.dumps(report),
                ),
            )
            self._enqueue(db, document)

    def reconciliations(self, shop: str) -> list[dict[str, Any]]:
        rows = self._query("SELECT report FROM reconciliations WHERE shop=? ORDER BY id", (shop,))
        return [json.loads(r["report"]) for r in rows]

    def last_reconciliation_at(self, shop: str) -> datetime | None:
        rows = self._query("SELECT MAX(ran_at) AS t FROM reconciliations WHERE shop=?", (shop,))
        return datetime.fromisoformat(rows[0]["t"]) if rows and rows[0]["t"] else None

    # -- outbox ---------------------------------------------------------------------------

    def _enqueue(self, db: sqlite3.Connection, document: dict[str, Any]) -> None:
        db.execute(
            "INSERT INTO outbox (document_id, document, queued_at) VALUES (?,?,?)",
            (document["document-id"], json.dumps(document, ensure_ascii=False), _now()),
        )

    def enqueue(self, document: dict[str, Any]) -> None:
        with self._transaction() as db:
            self._enqueue(db, document)

    def outbox_batch(self, limit: int) -> list[OutboxRow]:
        rows = self._query(
            "SELECT id, document_id, document FROM outbox WHERE dead=0 ORDER BY id LIMIT ?",
            (limit,),
        )
        return [OutboxRow(r["id"], r["document_id"], json.loads(r["document"])) for r in rows]

    def outbox_done(self, row_ids: list[int]) -> None:
        with self._transaction() as db:
            db.executemany("DELETE FROM outbox WHERE id=?", [(i,) for i in row_ids])

    def outbox_failed(self, row_ids: list[int], reason: str, *, dead: bool) -> None:
        """Keep rows Solr did not take: ``dead`` ones wait for a person, the rest are retried."""
        with self._transaction() as db:
            db.executemany(
                "UPDATE outbox SET tries=tries+1, last_error=?, dead=? WHERE id=?",
                [(reason, int(dead), i) for i in row_ids],
            )

    def outbox_counts(self) -> tuple[int, int]:
        """(waiting, dead) rows."""
        row = self._query(
            "SELECT SUM(dead=0), SUM(dead=1) FROM outbox",
        )[0]
        return int(row[0] or 0), int(row[1] or 0)


def _failure(row: sqlite3.Row) -> FailureRecord:
    return FailureRecord(
        shop=row["shop"],
        order_id=row["order_id"],
        name=row["name"],
        attempts=row["attempts"],
        first_attempt_at=datetime.fromisoformat(row["first_attempt_at"]),
        last_attempt_at=datetime.fromisoformat(row["last_attempt_at"]),
        error_code=row["error_code"],
        last_error=row["last_error"],
        resolved_at=datetime.fromisoformat(row["resolved_at"]) if row["resolved_at"] else None,
        doc_version=row["doc_version"],
    )


__all__ = ["OLD_VERSION_TAG", "FailureRecord", "Ledger", "OutboxRow", "payload_hash"]
