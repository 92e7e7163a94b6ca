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
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.errors import SolrAccessError, SolrUnavailableError
from pipeline.indexing import LogInsightsIndex
from pipeline.ledger import Ledger

DEAD_COUNTED_EVERY = 30.0  # seconds; dead rows change only when Solr refuses one, or by hand
# A node that is starting, or loading a new security.json, refuses good credentials for a moment
# (401/403): until refusals have lasted this long they are "not ready, waiting", not "wrong
# account".
REFUSALS_SETTLE_SECONDS = 60.0


@dataclass
class FlushReport:
    posted: int = 0
    refused: int = 0
    waiting: int = 0
    dead: int = 0
    solr_down: bool = False
    error: str = ""


class OutboxFlusher:
    def __init__(
        self,
        ledger: Ledger,
        index: LogInsightsIndex,
        *,
        batch_size: int = 500,
        settle_seconds: float = REFUSALS_SETTLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ledger = ledger
        self.index = index
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._dead, self._dead_counted_at = 0, float("-inf")
        self._settle, self._clock = settle_seconds, clock
        self._refused_since: float | None = None

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
                why = self._why_waiting(err)
                self.ledger.outbox_failed([row.id for row in rows], why, dead=False)
                report.solr_down, report.error = True, why
                break
            self._refused_since = None
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

    def _why_waiting(self, err: SolrUnavailableError) -> str:
        """What to tell the user: a refusal of the credentials names the account only once it
        has lasted past the settle time (a node starting or reloading its security refuses
        good credentials for a moment, and that clears by itself)."""
        if not isinstance(err, SolrAccessError):
            return str(err)
        now = self._clock()
        if self._refused_since is None:
            self._refused_since = now
        refusing_for = now - self._refused_since
        if refusing_for >= self._settle:
            return f"{err} (refused for {refusing_for:.0f} s)"
        return (
            f"Solr is not ready to take log documents (HTTP {err.status}, as a node answers "
            "while it starts or loads its security); waiting, they are kept and sent once it "
            f"takes them (if it still refuses after {self._settle:.0f} s, the account is named)"
        )


__all__ = ["FlushReport", "OutboxFlusher"]
