"""The outbox: log documents waiting for Solr; rows leave only once Solr accepted them.

Documents are stored as the JSON text Solr is sent, and a batch is posted as that text joined
into one JSON array: nothing is decoded and encoded again on the way out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, delete, func, select, update

from pipeline.ledger.base import LedgerBase
from pipeline.ledger.schema import outbox


@dataclass(frozen=True)
class OutboxRow:
    id: int
    document_id: str
    document_json: str

    @property
    def document(self) -> dict[str, object]:
        import json

        value: dict[str, object] = json.loads(self.document_json)
        return value


class OutboxQueue(LedgerBase):
    def enqueue(self, document: dict[str, object]) -> None:
        with self._transaction() as db:
            self._enqueue(db, document)

    def outbox_batch(self, limit: int) -> list[OutboxRow]:
        rows = self._read(
            select(outbox.c.id, outbox.c.document_id, outbox.c.document)
            .where(outbox.c.dead == 0)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        return [OutboxRow(r["id"], r["document_id"], r["document"]) for r in rows]

    def outbox_done(self, row_ids: list[int]) -> None:
        """Forget the rows Solr accepted, in one statement."""
        if row_ids:
            with self._transaction() as db:
                db.execute(delete(outbox).where(outbox.c.id.in_(row_ids)))

    def outbox_failed(self, row_ids: list[int], reason: str, *, dead: bool) -> None:
        """Keep rows Solr did not take: ``dead`` ones wait for a person, the rest are retried."""
        if row_ids:
            with self._transaction() as db:
                db.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(row_ids))
                    .values(tries=outbox.c.tries + 1, last_error=reason, dead=int(dead))
                )

    def outbox_requeue_dead(self) -> int:
        """Give documents Solr refused another chance (after the configset or data was fixed)."""
        with self._transaction() as db:
            return int(db.execute(update(outbox).where(outbox.c.dead == 1).values(dead=0)).rowcount)

    def outbox_oldest(self) -> datetime | None:
        """When the oldest document still waiting for Solr was queued (None: none waits)."""
        rows = self._read(select(func.min(outbox.c.queued_at).label("t")).where(outbox.c.dead == 0))
        return datetime.fromisoformat(rows[0]["t"]) if rows and rows[0]["t"] else None

    def outbox_counts(self) -> tuple[int, int]:
        """(waiting, dead) rows."""
        rows = self._read(
            select(
                func.sum(case((outbox.c.dead == 0, 1), else_=0)).label("waiting"),
                func.sum(case((outbox.c.dead == 1, 1), else_=0)).label("dead"),
            )
        )
        return int(rows[0]["waiting"] or 0), int(rows[0]["dead"] or 0)
