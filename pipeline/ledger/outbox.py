"""The outbox: log documents waiting for Solr; rows leave only once Solr accepted them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pipeline.ledger.base import LedgerBase


@dataclass(frozen=True)
class OutboxRow:
    id: int
    document_id: str
    document: dict[str, Any]


class OutboxQueue(LedgerBase):
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

    def outbox_requeue_dead(self) -> int:
        """Give documents Solr refused another chance (after the configset or data was fixed)."""
        with self._transaction() as db:
            return int(db.execute("UPDATE outbox SET dead=0 WHERE dead=1").rowcount)

    def outbox_counts(self) -> tuple[int, int]:
        """(waiting, dead) rows."""
        row = self._query(
            "SELECT SUM(dead=0), SUM(dead=1) FROM outbox",
        )[0]
        return int(row[0] or 0), int(row[1] or 0)
