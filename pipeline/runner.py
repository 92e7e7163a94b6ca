"""The continuous worker (``loginsights run``): many shops at once, each under a lease.

A bounded pool of threads works the shops. Before a pass over a shop the runner takes the shop's
lease in the ledger (so that, with several ``run`` processes on several machines sharing one
PostgreSQL ledger, a shop is worked by one of them at a time) and keeps it from pass to pass
(``pipeline.holdings``: a heartbeat renews them all); every write checks it
(``pipeline.ledger.leases``). Each shop is paced by its
own platform budget in its connector, so a slow or failing shop never holds the others back.
After a pass a shop rests ``poll_seconds``; once a day, just after midnight in its own time
zone, it is also reconciled (seed 002). A shop whose webhooks announced orders (notices in the
ledger, looked for every ``notice_seconds`` and whenever ``serve`` rings the bell,
``pipeline.notice_bell``) gets a pass at once that imports just those, so a pushed order does
not wait for the poll. The outbox is drained by the loop, by every worker.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pipeline.errors import (
    LeaseLostError,
    RetryLaterError,
    SkipError,
    SourceRequestError,
    StopError,
    WorkerStopped,
)
from pipeline.events import QUIET, EventStream
from pipeline.flusher import OutboxFlusher
from pipeline.holdings import ShopHoldings
from pipeline.intake import ShopContext
from pipeline.ledger import HeldElsewhere, Lease, Ledger
from pipeline.life_lock import LifeLock
from pipeline.notice_bell import NoticeBell
from pipeline.pass_lease import PassLease
from pipeline.reconcile import reconcile, reconciliation_due
from pipeline.reports import OutboxState, ShopPass
from pipeline.shares import shops_key
from pipeline.windows import Clock, utc_now
from pipeline.worker import ImportWorker

log = logging.getLogger(__name__)
REFUSED = "the platform refused loginsights' credentials"
PROBLEMS_READ_EVERY = timedelta(seconds=30)


def default_worker_name() -> str:
    """host:pid, so `loginsights workers` says where a shop is being worked."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class RunOptions:
    """How ``run`` shares out the work; the defaults suit one process on one machine."""

    concurrency: int | None = None  # threads; None: one per shop, at most 32
    poll_seconds: float = 30.0
    lease_seconds: float = 30.0  # a killed worker's shops are taken over after this
    lag_warning_seconds: float = 3600.0
    worker_name: str = ""
    daily_reconciliation: bool = True
    lease_keep_seconds: float = math.inf  # let a shop go after this long (rotation; off)
    notice_seconds: float = 1.0  # how often the ledger is asked for webhook notices


def run_forever(
    workers: Sequence[ImportWorker],
    flusher: OutboxFlusher,
    *,
    stop: threading.Event,
    options: RunOptions = RunOptions(),
    ledger: Ledger | None = None,
    events: EventStream = QUIET,
    clock: Clock = utc_now,
    bell: NoticeBell | None = None,
    shares_bell: NoticeBell | None = None,
    life_lock: LifeLock | None = None,
) -> None:
    """Run until ``stop`` is set.

    ``bell`` wakes the loop when ``serve`` keeps a webhook notice; ``shares_bell`` when another
    worker joins, leaves or lets shops go; ``life_lock`` lets the others see at once that this
    process died (all three PostgreSQL only).

    A shop whose pass fails with a retry-later or skip error (an outage, Solr down, a 4xx, a
    lease taken over) is skipped until its next pass while the others go on; a stop error (a
    ledger that cannot be written, a broken configuration) ends the run after a last flush.
    """
    leases = ledger if ledger is not None else _ledger_of(workers)
    crew = _Crew(workers, flusher, leases, stop, options, clock, events, shares_bell, life_lock)
    crew.bell = bell if crew.pushed else None
    crew.run()


def _ledger_of(workers: Sequence[ImportWorker]) -> Ledger | None:
    ledger = workers[0].context.ledger if workers else None
    return ledger if isinstance(ledger, Ledger) else None


class _Crew:
    """The loop behind ``run_forever``: which shop is due, who holds it, what failed."""

    def __init__(
        self,
        workers: Sequence[ImportWorker],
        flusher: OutboxFlusher,
        ledger: Ledger | None,
        stop: threading.Event,
        options: RunOptions,
        clock: Clock,
        events: EventStream = QUIET,
        shares_bell: NoticeBell | None = None,
        life_lock: LifeLock | None = None,
    ) -> None:
        self.workers, self.flusher, self.ledger = list(workers), flusher, ledger
        self.events = events
        self.stop, self.options, self.clock = stop, options, clock
        self.name = options.worker_name or default_worker_name()
        self.lease_duration = timedelta(seconds=options.lease_seconds)
        self.started = clock()
        self.holdings = (
            None
            if ledger is None
            else ShopHoldings(
                ledger,
                self.name,
                lease_seconds=options.lease_seconds,
                keep_seconds=options.lease_keep_seconds,
                clock=clock,
                shops_total=len(self.workers),
                shops_key=shops_key([worker.shop.name for worker in self.workers]),
                bell=shares_bell,
                life=life_lock,
            )
        )
        self.bell: NoticeBell | None = None  # rung by `serve` (PostgreSQL): look for notices now
        self._reconciled: dict[str, datetime] = {}  # shop: last reconciliation known here
        self._broken_here: set[str] = set()  # shops found refused by their platform
        self._problems_read_at: datetime | None = None
        # only shops with webhooks get notices; a fleet without them never asks
        self.pushed = any(getattr(w.shop, "webhook_secret_env", None) for w in self.workers)

    def run(self) -> None:
        threads = self.options.concurrency or max(1, min(len(self.workers), 32))
        running: dict[str, Future[Lease | None]] = {}
        polling: dict[str, bool] = {}  # whether the running pass is a poll (else notices only)
        due = {worker.shop.name: 0.0 for worker in self.workers}
        noticed: set[str] = set()
        elsewhere: dict[str, float] = {}  # shops another worker holds: not asked for until then
        look_for_notices = flush_at = 0.0
        rings = 0  # of the shares bell, as last seen: shops may have been let go since
        fatal: BaseException | None = None
        if self.holdings:
            self.holdings.start()
        if self.bell:
            self.bell.start()
        with ThreadPoolExecutor(threads, thread_name_prefix="shop") as pool:
            while not self.stop.is_set() and fatal is None:
                for name, future in list(running.items()):
                    if future.done():
                        del running[name]
                        if polling.pop(name):
                            due[name] = time.monotonic() + self.options.poll_seconds
                        fatal = fatal or _fatal(future)
                        self._done(name, None if fatal else future.result())
                if self.holdings and self.holdings.rings != rings:
                    rings = self.holdings.rings  # ask at once for the shops refused so far
                    for name in elsewhere:
                        due[name] = min(due[name], time.monotonic())
                    elsewhere.clear()
                if time.monotonic() >= look_for_notices:
                    noticed = self._noticed()
                    look_for_notices = time.monotonic() + self.options.notice_seconds
                ready: list[ImportWorker] = []
                for worker in self._pushed_first(noticed):
                    name = worker.shop.name
                    if fatal or name in running or len(running) + len(ready) >= threads:
                        continue
                    if time.monotonic() < due[name] and name not in noticed:
                        continue
                    if time.monotonic() < elsewhere.get(name, 0.0):
                        noticed.discard(name)  # its holder sees the notices itself
                        continue
                    ready.append(worker)
                taken = self._take([w.shop.name for w in ready])
                for worker in ready:
                    name = worker.shop.name
                    lease = taken.get(name)
                    if isinstance(lease, HeldElsewhere) and self.holdings:
                        # another worker has it: ask again just after its lease could lapse
                        wait = self.holdings.wait_seconds(lease)
                        elsewhere[name] = due[name] = time.monotonic() + wait
                        noticed.discard(name)
                        continue
                    poll = polling[name] = time.monotonic() >= due[name]
                    notices = name in noticed
                    if self.holdings:
                        self.holdings.counted(notices=notices)
                    noticed.discard(name)
                    running[name] = pool.submit(
                        self._one_pass, worker, lease if isinstance(lease, Lease) else None,
                        poll, notices,
                    )  # fmt: skip
                if time.monotonic() >= flush_at:
                    self._flush()
                    flush_at = time.monotonic() + self.options.notice_seconds
                if self.bell is None:
                    self.stop.wait(0.2)
                elif self.bell.wait(0.2):
                    look_for_notices = 0.0
            if fatal is not None:
                self.stop.set()
            for name, future in running.items():
                fatal = fatal or _fatal_after(future)
                if not future.exception():
                    self._done(name, future.result())
        if self.holdings:
            self.holdings.let_go()
        if self.bell:
            self.bell.close()
        self._flush()
        if fatal is not None:
            raise fatal

    def _pushed_first(self, noticed: set[str]) -> list[ImportWorker]:
        """The shops in the order they get a thread: those with pushed orders waiting first,
        so a burst of polls (a worker taking its share over) does not delay them."""
        if not noticed:
            return self.workers
        return sorted(self.workers, key=lambda worker: worker.shop.name not in noticed)

    def _take(self, names: list[str]) -> dict[str, Lease | HeldElsewhere]:
        """The leases of the shops due now, asked for together (none without a ledger)."""
        return self.holdings.take_all(names) if self.holdings and names else {}

    def _done(self, name: str, lease: Lease | None) -> None:
        if self.holdings:
            self.holdings.done(name, lease)

    def _noticed(self) -> set[str]:
        """Shops whose webhooks announced orders: worked now, before their poll is due."""
        if self.ledger is None or not self.pushed:
            return set()
        try:
            return self.ledger.noticed_shops()
        except (RetryLaterError, SkipError, StopError) as err:
            log.warning("webhook notices could not be read (the windows still run): %s", err)
            return set()

    def _one_pass(
        self, worker: ImportWorker, lease: Lease | None, poll: bool, notices: bool
    ) -> Lease | None:
        """A poll pass reads the shop's windows (and reconciles once a day); a pass for notices
        imports what the webhooks announced, and a poll pass does that first too. Returns the
        lease to keep for the next pass (None: let go)."""
        shop, context = worker.shop.name, worker.context
        held = (
            None
            if lease is None or self.ledger is None
            else (PassLease(lease, self.ledger, self.lease_duration, self.clock))
        )
        renew = held.renew if held else None
        keep = False
        try:
            if notices:
                worker.import_noticed(lease=lease)
            if poll:
                worker.catch_up(on_window=self.events.publish, lease=lease, on_page=renew)
                worker.look_again(lease=lease)
                if self.options.daily_reconciliation and self._reconciliation_due(context):
                    report = reconcile(context, lease=lease)
                    self._reconciled[shop] = self.clock()
                    self.events.publish(report)
                self._report(worker)
                self._works_again(shop)
            keep = True
        except WorkerStopped:
            pass
        except LeaseLostError as err:
            log.warning("%s: %s", shop, err)
        except SourceRequestError as err:
            keep = True
            if err.status in (401, 403):  # a revoked token waits for a person: BROKEN
                self._refused(shop, err)
            else:
                log.warning("%s: skipped this pass: %s", shop, err)
        except (RetryLaterError, SkipError) as err:
            log.warning("%s: skipped this pass: %s", shop, err)
            keep = True
        except StopError as err:
            log.error("%s: stopping: %s", shop, err)
            raise
        finally:
            if held and not keep:
                held.release()
        return held.lease if held and keep else None

    def _refused(self, shop: str, err: SourceRequestError) -> None:
        """The platform refuses the shop's credentials: the shop is BROKEN (in the ledger, so
        `workers`, the console, /metrics and notifications say so) until a pass works again."""
        log.error("%s: the platform refused its credentials: %s", shop, err)
        if self.ledger is not None:
            self.ledger.report_problem(
                shop,
                f"{REFUSED} (HTTP {err.status}); renew the "
                "shop's token or the app's access, then it is imported from its checkpoint",
                worker=self.name,
            )
            self._broken_here.add(shop)

    def _works_again(self, shop: str) -> None:
        """A pass worked: a refusal found here, or by another worker before (the ledger's
        problems, read at most every PROBLEMS_READ_EVERY), no longer holds."""
        if self.ledger is None:
            return
        now = self.clock()
        if self._problems_read_at is None or now - self._problems_read_at > PROBLEMS_READ_EVERY:
            self._broken_here |= {
                name for name, row in self.ledger.shop_problems().items()
                if str(row["problem"]).startswith(REFUSED)
            }  # fmt: skip
            self._problems_read_at = now
        if shop in self._broken_here:
            self.ledger.clear_problem(shop)
            self._broken_here.discard(shop)

    def _reconciliation_due(self, context: ShopContext) -> bool:
        """Asked of the ledger only when this process's memory says it may be due: another
        process may have reconciled the shop meanwhile."""
        zone, now = ZoneInfo(context.shop.time_zone), self.clock()
        known = self._reconciled.get(context.name)
        if known is not None and not reconciliation_due(zone, now, known):
            return False
        last = context.ledger.last_reconciliation_at(context.name) or self.started
        self._reconciled[context.name] = last
        return reconciliation_due(zone, now, last)

    def _report(self, worker: ImportWorker) -> None:
        checkpoint = worker.checkpoint  # as this pass read or moved it: no query
        lag = (self.clock() - checkpoint).total_seconds() if checkpoint else None
        source = worker.context.source
        transport = getattr(source, "transport", None)
        budget = getattr(source, "cost", None) or getattr(transport, "budget", None)
        self.events.publish(
            ShopPass(
                shop=worker.shop.name,
                lag_seconds=lag,
                calls=getattr(transport, "calls", 0),
                rate_limited=getattr(transport, "rate_limited", 0),
                budget_wait_seconds=getattr(budget, "waited_seconds", 0.0),
            )
        )
        if lag is not None and lag > self.options.lag_warning_seconds:
            log.warning(
                "%s: its checkpoint is %.0f minutes behind now (over the %.0f-minute "
                "threshold); look at `loginsights workers` and the shop's errors",
                worker.shop.name,
                lag / 60,
                self.options.lag_warning_seconds / 60,
            )

    def _flush(self) -> None:
        """A flush whose Solr request failed leaves its documents waiting; the next one retries."""
        try:
            report = self.flusher.flush()
            self.events.publish(
                OutboxState(report.waiting, report.dead, report.solr_down, report.error)
            )
        except (RetryLaterError, SkipError) as err:
            log.warning("outbox: %s", err)


def _fatal(future: Future[Lease | None]) -> BaseException | None:
    """What a pass let through ends the run: stop errors, and anything unforeseen."""
    return future.exception()


def _fatal_after(future: Future[Lease | None]) -> BaseException | None:
    try:
        future.result()
    except Exception as err:  # noqa: BLE001  (handed to run(), which re-raises it)
        return err
    return None


__all__ = [
    "RunOptions",
    "default_worker_name",
    "run_forever",
]
