"""Where each shop stands: the checkpoint of its windows and its reconciliation reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pipeline.ledger.base import LedgerBase, now_iso


class ShopProgress(LedgerBase):
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
                (shop, window_end.astimezone(UTC).isoformat(), now_iso()),
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
                    now_iso(),
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
