"""The continuous worker (``loginsights run``): every shop caught up pass after pass, the outbox
drained, and each shop reconciled once a day just after midnight in its own time zone (seed 002).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pipeline.errors import RetryLaterError, SkipError, StopError, WorkerStopped
from pipeline.outbox import OutboxFlusher
from pipeline.reconcile import ReconciliationReport, reconcile, reconciliation_due
from pipeline.settings import Settings
from pipeline.shops import load_shops, shop_named
from pipeline.worker import ImportWorker, WindowReport, open_ledger, worker_for

log = logging.getLogger(__name__)


def shop_workers(
    settings: Settings,
    shop_names: Sequence[str],
    environ: Mapping[str, str],
    *,
    stop: threading.Event,
) -> tuple[list[ImportWorker], OutboxFlusher]:
    """Workers for the named shops of the shops file (all of them when none are named)."""
    shops = load_shops(settings.shops_file)
    chosen = [shop_named(shops, name) for name in shop_names] or list(shops.values())
    ledger, flusher = open_ledger(settings)
    workers = [worker_for(settings, shop, ledger, flusher, environ, stop=stop) for shop in chosen]
    return workers, flusher


def run_forever(
    workers: Sequence[ImportWorker],
    flusher: OutboxFlusher,
    *,
    stop: threading.Event,
    poll_seconds: float = 30.0,
    on_window: Callable[[WindowReport], None] | None = None,
    daily_reconciliation: bool = True,
    on_reconciliation: Callable[[ReconciliationReport], None] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Run until ``stop`` is set.

    A shop whose pass fails with a retry-later or skip error (an outage, Solr down, a 4xx) is
    skipped until the next pass while the others go on; a stop error (a ledger that cannot be
    written, a broken configuration) ends the run after a last flush of the outbox.
    """
    started = clock()
    while not stop.is_set():
        for worker in workers:
            if stop.is_set():
                break
            try:
                worker.catch_up(on_window=on_window)
                if daily_reconciliation and _due(worker, clock(), started):
                    report = reconcile(worker, ttl=worker.ttl)
                    if on_reconciliation:
                        on_reconciliation(report)
            except WorkerStopped:
                break
            except (RetryLaterError, SkipError) as err:
                log.warning("%s: skipped this pass: %s", worker.shop.name, err)
            except StopError as err:
                log.error("%s: stopping: %s", worker.shop.name, err)
                _flush_quietly(flusher)
                raise
        _flush_quietly(flusher)
        stop.wait(poll_seconds)
    _flush_quietly(flusher)


def _flush_quietly(flusher: OutboxFlusher) -> None:
    """A flush whose Solr request failed leaves its documents waiting; the next one retries."""
    try:
        flusher.flush()
    except (RetryLaterError, SkipError) as err:
        log.warning("outbox: %s", err)


def _due(worker: ImportWorker, now: datetime, started: datetime) -> bool:
    last = worker.ledger.last_reconciliation_at(worker.shop.name) or started
    return reconciliation_due(ZoneInfo(worker.shop.time_zone), now, last)


__all__ = ["run_forever", "shop_workers"]
