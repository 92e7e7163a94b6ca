"""Failed orders: one row per order (first and last attempt, count, last error) and the
history of every attempt; each write queues the order's log document in the same transaction."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, select, true, update

from pipeline.ledger.base import LedgerBase, payload_hash
from pipeline.ledger.leases import Lease, ShopLeases
from pipeline.ledger.schema import attempts as attempts_table
from pipeline.ledger.schema import failures
from pipeline.models import FailedAttempt, RenderFailure, next_version


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


class FailureLog(ShopLeases, LedgerBase):
    def failure(self, shop: str, order_id: str) -> FailureRecord | None:
        rows = self._read(select(failures).where(*_order_is(shop, order_id)))
        return _failure(rows[0]) if rows else None

    def failures(self, shop: str, *, outstanding_only: bool = True) -> list[FailureRecord]:
        query = select(failures).where(failures.c.shop == shop)
        if outstanding_only:
            query = query.where(failures.c.resolved_at.is_(None))
        return [_failure(r) for r in self._read(query.order_by(failures.c.last_attempt_at.desc()))]

    def record_failure(
        self,
        attempt: FailedAttempt,
        *,
        payload: dict[str, Any] | None,
        render: RenderFailure,
        retry_unchanged: bool,
        lease: Lease | None = None,
    ) -> bool:
        """Count one failed attempt and queue its log document, in one transaction.

        Returns False (and writes nothing) when the same payload already failed and the error is
        not a transient one: re-running a window then changes nothing.
        """
        digest = payload_hash(payload) if payload is not None else None
        with self._transaction() as db:
            found = self._read_fenced(
                db, select(failures).where(*_order_is(attempt.shop, attempt.order_id)), lease
            )
            row = found[0]._mapping if found else None
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
            document = render(attempt, version=version, first_attempted_at=first, attempts=attempts)
            values = {
                "shop": attempt.shop,
                "order_id": attempt.order_id,
                "platform": attempt.platform.value,
                "name": attempt.order_name,
                "order_created_at": attempt.order_created_at.astimezone(UTC).isoformat(),
                "first_attempt_at": first.astimezone(UTC).isoformat(),
                "last_attempt_at": attempt.attempted_at.astimezone(UTC).isoformat(),
                "attempts": attempts,
                "error_code": attempt.error_code.value,
                "last_error": attempt.error_message,
                "payload": json.dumps(payload, ensure_ascii=False) if payload is not None else None,
                "payload_hash": digest,
                "attempt": attempt.model_dump_json(),
                "doc_version": version,
                "resolved_at": None,
            }
            self._upsert(
                db,
                failures,
                values,
                keys=("shop", "order_id"),
                update=[k for k in values if k not in ("shop", "order_id", "platform",
                                                       "order_created_at", "first_attempt_at")],
            )  # fmt: skip
            db.execute(
                attempts_table.insert().values(
                    shop=attempt.shop,
                    order_id=attempt.order_id,
                    attempted_at=attempt.attempted_at.astimezone(UTC).isoformat(),
                    error_code=attempt.error_code.value,
                    error=attempt.error_message,
                )
            )
            self._enqueue(db, document)
            return True

    def record_failures(
        self,
        attempts: Sequence[FailedAttempt],
        *,
        render: RenderFailure,
    ) -> int:
        """Record attempts made elsewhere (the demo, benchmarks, tests) as the worker does:
        facts here, documents queued in the outbox. Returns how many were recorded."""
        return sum(
            self.record_failure(
                attempt,
                payload=None,
                render=render,
                retry_unchanged=True,
            )
            for attempt in attempts
        )

    def unchanged_failures(
        self,
        shop: str,
        listed: dict[str, str],
        updated_at: Callable[[dict[str, Any]], str | None],
        *,
        transient: Sequence[str] = (),
    ) -> set[str]:
        """Of ``listed`` (order id: the platform's last change, as listed), the orders whose
        failure is outstanding with a payload the platform has not changed since: importing
        them again would fail again the same way, so reconciliation need not fetch them."""
        unchanged: set[str] = set()
        ids = list(listed)
        for start in range(0, len(ids), 900):
            rows = self._read(
                select(failures.c.order_id, failures.c.payload).where(
                    failures.c.shop == shop,
                    failures.c.order_id.in_(ids[start : start + 900]),
                    failures.c.resolved_at.is_(None),
                    failures.c.payload.is_not(None),
                    failures.c.error_code.not_in(list(transient)),  # those are always retried
                )
            )
            for row in rows:
                try:
                    kept = updated_at(json.loads(row["payload"]))
                except ValueError:
                    continue
                if kept is not None and kept == listed[row["order_id"]]:
                    unchanged.add(row["order_id"])
        return unchanged

    def requeue_all_documents(
        self, *, render: RenderFailure, batch: int = 1000, shop: str | None = None
    ) -> int:
        """Queue every failing or resolved order's document again (of one shop, or all),
        rendered from the facts with a newer version: how a collection is rebuilt after a
        schema change (or a lost index)."""
        queued = 0
        last: tuple[str, str] = ("", "")
        only = failures.c.shop == shop if shop is not None else true()
        while True:
            rows = self._read(
                select(failures)
                .where(only)
                .where((failures.c.shop > last[0])
                       | ((failures.c.shop == last[0]) & (failures.c.order_id > last[1])))
                .order_by(failures.c.shop, failures.c.order_id)
                .limit(batch)
            )  # fmt: skip
            if not rows:
                return queued
            with self._transaction() as db:
                for row in rows:
                    attempt = FailedAttempt.model_validate_json(row["attempt"])
                    version = next_version(row["doc_version"])
                    document = render(
                        attempt,
                        version=version,
                        first_attempted_at=datetime.fromisoformat(row["first_attempt_at"]),
                        attempts=row["attempts"],
                        resolved_at=(
                            datetime.fromisoformat(row["resolved_at"])
                            if row["resolved_at"]
                            else None
                        ),
                    )
                    db.execute(
                        update(failures)
                        .where(*_order_is(row["shop"], row["order_id"]))
                        .values(doc_version=version)
                    )
                    self._enqueue(db, document)
            queued += len(rows)
            last = (rows[-1]["shop"], rows[-1]["order_id"])

    def outstanding_failures(
        self,
        *,
        shop: str | None = None,
        platform: str | None = None,
        error_code: str | None = None,
        since: datetime | None = None,
    ) -> list[FailureRecord]:
        """Unresolved failed orders, newest attempt first, narrowed by whatever is given."""
        query = select(failures).where(failures.c.resolved_at.is_(None))
        for column, value in (("shop", shop), ("platform", platform), ("error_code", error_code)):
            if value is not None:
                query = query.where(failures.c[column] == value)
        if since is not None:
            query = query.where(failures.c.last_attempt_at >= since.astimezone(UTC).isoformat())
        rows = self._read(query.order_by(failures.c.last_attempt_at.desc()))
        return [_failure(r) for r in rows]

    def attempt_history(self, shop: str, order_id: str) -> list[RowMapping]:
        table = attempts_table
        return self._read(
            select(table.c.attempted_at, table.c.error_code, table.c.error)
            .where(table.c.shop == shop, table.c.order_id == order_id)
            .order_by(table.c.attempted_at)
        )

    def failed_payload(self, shop: str, order_id: str) -> dict[str, Any] | None:
        rows = self._read(select(failures.c.payload).where(*_order_is(shop, order_id)))
        return json.loads(rows[0]["payload"]) if rows and rows[0]["payload"] else None

    def resolution_document(
        self, shop: str, order_id: str, *, render: RenderFailure
    ) -> dict[str, Any] | None:
        """The failure document of an order, marked resolved; None if it never failed."""
        rows = self._read(
            select(failures).where(*_order_is(shop, order_id), failures.c.resolved_at.is_(None))
        )
        return resolved_document(rows[0], render=render, resolved_at=self.clock()) if rows else None

    def outstanding_rows(
        self, db: Connection, shop: str, order_ids: Sequence[str], *, lease: Lease | None = None
    ) -> dict[str, RowMapping]:
        """The unresolved failures among ``order_ids``, read inside the caller's transaction
        (with the lease check, when it is the transaction's first statement)."""
        query = select(failures).where(
            failures.c.shop == shop,
            failures.c.resolved_at.is_(None),
            failures.c.order_id.in_(order_ids),
        )
        rows = self._read_fenced(db, query, lease)
        return {row.order_id: row._mapping for row in rows}


def _order_is(shop: str, order_id: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return failures.c.shop == shop, failures.c.order_id == order_id


def resolved_document(
    row: RowMapping, *, render: RenderFailure, resolved_at: datetime
) -> dict[str, Any]:
    """A failure row's log document, re-posted as resolved (it stays until it expires)."""
    attempt = FailedAttempt.model_validate_json(row["attempt"])
    return render(
        attempt,
        version=next_version(row["doc_version"]),
        first_attempted_at=datetime.fromisoformat(row["first_attempt_at"]),
        attempts=row["attempts"],
        resolved_at=resolved_at,
    )


def _failure(row: RowMapping) -> FailureRecord:
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
