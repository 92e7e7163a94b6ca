"""Draining the ledger's outbox into Solr: at least once, in order, nothing dropped.

Rows leave the outbox only after Solr accepted their document. When Solr is down or restarting
(connection refused, 5xx, 404 on the collection, "no servers hosting shard") the flush stops and
the rows wait (the worker goes on importing). A document goes "dead" only when Solr names it in a
per-document error; it is kept with Solr's reason, counted in ``loginsights outbox`` and queued
again by ``loginsights outbox --retry-dead``, never deleted silently.

A flush that posted anything ends with a soft commit, so that whoever runs ``import`` and then
``query`` finds exactly the failures the import reported.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from pipeline.errors import SolrUnavailableError
from pipeline.indexing import LogInsightsIndex
from pipeline.ledger import Ledger

DEAD_COUNTED_EVERY = 30.0  # seconds; dead rows change only when Solr refuses one, or by hand


@dataclass
class FlushReport:
    posted: int = 0
    refused: int = 0
    waiting: int = 0
    dead: int = 0
    solr_down: bool = False
    error: str = ""


class OutboxFlusher:
    def __init__(self, ledger: Ledger, index: LogInsightsIndex, *, batch_size: int = 500) -> None:
        self.ledger = ledger
        self.index = index
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._dead, self._dead_counted_at = 0, float("-inf")

    def flush(self, *, max_batches: int | None = None) -> FlushReport:
        """Post what waits; one flush at a time per process (a concurrent call waits for it)."""
        with self._lock:
            return self._flush(max_batches)

    def _flush(self, max_batches: int | None) -> FlushReport:
        report = FlushReport()
        batches = 0
        while max_batches is None or batches < max_batches:
            rows = self.ledger.outbox_batch(self.batch_size)
            if not rows:
                break
            batches += 1
            try:
                result = self.index.post_serialized(
                    [(row.document_id, row.document_json) for row in rows]
                )
            except SolrUnavailableError as err:
                self.ledger.outbox_failed([row.id for row in rows], str(err), dead=False)
                report.solr_down, report.error = True, str(err)
                break
            refused = {r.document_id: r.reason for r in result.refused}
            done = [row.id for row in rows if row.document_id not in refused]
            self.ledger.outbox_done(done)
            for row in rows:
                if row.document_id in refused:
                    self.ledger.outbox_failed([row.id], refused[row.document_id], dead=True)
            report.posted += len(done)
            report.refused += len(rows) - len(done)
        if report.posted and not report.solr_down:
            try:
                self.index.soft_commit()
            except SolrUnavailableError as err:
                report.solr_down, report.error = True, str(err)
        if batches or time.monotonic() - self._dead_counted_at > DEAD_COUNTED_EVERY:
            report.waiting, self._dead = self.ledger.outbox_counts()
            self._dead_counted_at = time.monotonic()
        report.dead = self._dead  # an outbox found empty has nothing waiting: no count asked
        return report


__all__ = ["FlushReport", "OutboxFlusher"]
