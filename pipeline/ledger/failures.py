"""Failed orders: one row per order (first and last attempt, count, last error) and the
history of every attempt; each write queues the order's log document in the same transaction."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.ledger.base import LedgerBase, payload_hash
from pipeline.models import FailedAttempt, next_version


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


class FailureLog(LedgerBase):
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

    def resolution_document(
        self, shop: str, order_id: str, *, ttl: str, zone: ZoneInfo
    ) -> dict[str, Any] | None:
        """The failure document of an order, marked resolved; None if it never failed."""
        rows = self._query(
            "SELECT * FROM failures WHERE shop=? AND order_id=? AND resolved_at IS NULL",
            (shop, order_id),
        )
        return resolved_document(rows[0], ttl=ttl, zone=zone) if rows else None

    def outstanding_rows(
        self, db: sqlite3.Connection, shop: str, order_ids: Sequence[str]
    ) -> dict[str, sqlite3.Row]:
        """The unresolved failures among ``order_ids``, read inside the caller's transaction."""
        marks = ",".join("?" * len(order_ids))
        rows = db.execute(
            "SELECT * FROM failures WHERE shop=? AND resolved_at IS NULL "
            f"AND order_id IN ({marks})",
            (shop, *order_ids),
        )
        return {row["order_id"]: row for row in rows}


def resolved_document(row: sqlite3.Row, *, ttl: str, zone: ZoneInfo) -> dict[str, Any]:
    """A failure row's log document, re-posted as resolved (it stays until it expires)."""
    attempt = FailedAttempt.model_validate_json(row["attempt"])
    return attempt.to_log_document(
        ttl=ttl,
        zone=zone,
        version=next_version(row["doc_version"]),
        first_attempted_at=datetime.fromisoformat(row["first_attempt_at"]),
        attempts=row["attempts"],
        resolved_at=datetime.now(UTC),
    )


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
