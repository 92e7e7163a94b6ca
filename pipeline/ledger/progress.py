"""Where each shop stands: the checkpoint of its windows and its reconciliation reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, func, literal, select, true

from pipeline.ledger.base import LedgerBase
from pipeline.ledger.leases import Lease, ShopLeases, held_by
from pipeline.ledger.schema import checkpoints, reconciliations, shop_leases, shop_problems


class ShopProgress(ShopLeases, LedgerBase):
    def checkpoint(self, shop: str) -> datetime | None:
        rows = self._read(select(checkpoints.c.window_end).where(checkpoints.c.shop == shop))
        return datetime.fromisoformat(rows[0]["window_end"]) if rows else None

    def checkpoints(self) -> dict[str, datetime]:
        """Every shop's checkpoint (for `loginsights workers` and the lag metrics)."""
        rows = self._read(select(checkpoints.c.shop, checkpoints.c.window_end))
        return {row["shop"]: datetime.fromisoformat(row["window_end"]) for row in rows}

    def advance_checkpoint(
        self, shop: str, window_end: datetime, *, lease: Lease | None = None
    ) -> None:
        """Move the shop's checkpoint forward (never back) to the end of a complete window.

        Under a lease the check is folded into the write: one statement that inserts or moves
        the checkpoint only while the lease is held (no BEGIN, SELECT … FOR UPDATE, COMMIT
        around it). The window it closes was stored whole before, so even a write racing a
        takeover moves the checkpoint only past orders that are in the store."""
        end, now = window_end.astimezone(UTC).isoformat(), self.now_iso()
        if lease is None:  # SQLite needs a WHERE to read INSERT … SELECT … ON CONFLICT
            rows = select(literal(shop), literal(end), literal(now)).where(true())
        else:
            rows = select(literal(shop), literal(end), literal(now)).where(
                exists(select(shop_leases.c.token).where(*held_by(lease)))
            )
        insert = self._insert(checkpoints).from_select(["shop", "window_end", "updated_at"], rows)
        forward = insert.on_conflict_do_update(  # moves only forward
            index_elements=["shop"],
            set_={
                "window_end": insert.excluded.window_end,
                "updated_at": insert.excluded.updated_at,
            },
            where=checkpoints.c.window_end < insert.excluded.window_end,
        ).returning(checkpoints.c.shop)
        if self._write_rows(forward) or lease is None:
            return
        self.check_lease(lease)  # nothing moved: not forward, or the lease is gone (rare)

    # -- shops that cannot be worked ---------------------------------------------------------

    def report_problem(self, shop: str, problem: str, *, worker: str) -> None:
        """A shop that cannot be worked until a person acts (kept until it works again)."""
        with self._transaction() as db:
            current = db.execute(
                select(shop_problems.c.problem).where(shop_problems.c.shop == shop)
            ).scalar()
            if current == problem:
                return
            self._upsert(
                db,
                shop_problems,
                {"shop": shop, "problem": problem, "worker": worker, "since": self.now_iso()},
                keys=("shop",),
                update=("problem", "worker", "since"),
            )

    def clear_problem(self, shop: str) -> None:
        with self._transaction() as db:
            db.execute(shop_problems.delete().where(shop_problems.c.shop == shop))

    def shop_problems(self) -> dict[str, dict[str, str]]:
        rows = self._read(select(shop_problems))
        return {row["shop"]: dict(row) for row in rows}

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
                reconciliations.insert().values(
                    shop=shop,
                    window_start=start.astimezone(UTC).isoformat(),
                    window_end=end.astimezone(UTC).isoformat(),
                    ran_at=self.now_iso(),
                    report=json.dumps(report),
                )
            )
            self._enqueue(db, document)

    def reconciliations(self, shop: str) -> list[dict[str, Any]]:
        rows = self._read(
            select(reconciliations.c.report)
            .where(reconciliations.c.shop == shop)
            .order_by(reconciliations.c.id)
        )
        return [json.loads(r["report"]) for r in rows]

    def last_reconciliation_at(self, shop: str) -> datetime | None:
        rows = self._read(
            select(func.max(reconciliations.c.ran_at).label("t")).where(
                reconciliations.c.shop == shop
            )
        )
        return datetime.fromisoformat(rows[0]["t"]) if rows and rows[0]["t"] else None
