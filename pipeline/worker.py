"""The import worker: windows in, orders stored, failures recorded, checkpoints advanced.

For each window the connector lists the orders created in it, and each goes through the order
intake (``pipeline.intake``): stored, or recorded as a failed attempt. Only when
every order of the window is stored or recorded does the shop's checkpoint move to the window's
end. A crash, an outage or a stop leaves the checkpoint where it was, and the next pass redoes
the window; storing is idempotent, so nothing is imported twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pipeline.corrections import restore_withdrawn
from pipeline.errors import ConfigurationError, SourceRequestError, WorkerStopped
from pipeline.events import QUIET, EventStream
from pipeline.intake import PAGE_SIZE, OrderIntake, ShopContext, pages, read_ahead
from pipeline.ledger import STOPPED_WATCHING, Lease
from pipeline.ledger.waiting import watched_until
from pipeline.models import ErrorCode
from pipeline.orders import raw_created_at
from pipeline.reports import Arrival, NoticeReport, OrderLatency, Outcome, WindowReport
from pipeline.shops import ShopConfig
from pipeline.windows import ImportWindow, plan_windows, whole_second

log = logging.getLogger(__name__)

FIRST_RUN_HOURS = 24  # where a shop with no checkpoint and no start begins, said aloud
NOTICES_KEPT = timedelta(days=2)  # settled webhook notices, for "did the webhook come?"
NOTICE_PRUNE_EVERY = timedelta(hours=1)
NEW = (Outcome.IMPORTED, Outcome.FAILED)  # what a person was waiting for
WAITING_REREAD = timedelta(minutes=10)  # how long the next look's time is trusted from memory


class ImportWorker:
    """Imports one shop's orders window by window; a scheduler hands each pass its lease."""

    def __init__(
        self,
        context: ShopContext,
        *,
        stop: threading.Event | None = None,
        events: EventStream = QUIET,
    ) -> None:
        self.context = context
        self.stop = stop or threading.Event()
        self.events = events  # failures recorded and each order's latency are published
        self.checkpoint: datetime | None = None  # as last read or moved by this worker
        self._pruned_at: datetime | None = None
        self._next_look: datetime | None = None  # None: ask the ledger when orders wait

    @property
    def shop(self) -> ShopConfig:
        return self.context.shop

    def intake(self, lease: Lease | None = None) -> OrderIntake:
        """The order rules, writing under ``lease`` when a scheduler holds the shop."""
        return OrderIntake(self.context, lease=lease, on_failure=self.events.publish)

    # -- windows --------------------------------------------------------------------------

    def import_window(
        self,
        window: ImportWindow,
        *,
        on_order: Callable[[str], None] | None = None,
        advance_checkpoint: bool = True,
        lease: Lease | None = None,
        on_page: Callable[[], None] | None = None,
    ) -> WindowReport:
        """Import every order of the window; the checkpoint moves only if all of them made it.

        ``on_page`` runs before each page (a scheduler renews its lease there).
        """
        context, intake = self.context, self.intake(lease)
        report = WindowReport(window, shop=context.name)
        arrived: list[tuple[dict[str, Any], Outcome]] = []
        for page in read_ahead(pages(context.source.list_orders(window), PAGE_SIZE)):
            if self.stop.is_set():
                raise WorkerStopped(
                    f"{context.name}: stopped inside window {window}; it is redone next time"
                )
            if on_page:
                on_page()
            outcomes = intake.process_page(page)
            for outcome in outcomes:
                report.count(outcome)
                if on_order:
                    on_order(outcome)
            arrived += [(raw, o) for raw, o in zip(page, outcomes, strict=True) if o in NEW]
        if report.waiting:
            self._next_look = None
        if advance_checkpoint:  # an order kept waiting does not hold the checkpoint back
            context.ledger.advance_checkpoint(context.name, window.end, lease=lease)
            self.checkpoint = window.end
        if report.imported or report.failed:  # nothing new was queued for Solr otherwise
            context.flush()
        self._observe(Arrival.POLL, arrived)
        return report

    # -- the push path ----------------------------------------------------------------------

    def import_noticed(self, *, lease: Lease | None = None, limit: int = 250) -> NoticeReport:
        """Import by id the orders the shop's webhooks announced, through the same intake.

        A notice whose order the platform does not show yet waits for the next pass (and is
        left to the windows after a few); a platform outage leaves them all waiting.
        """
        context = self.context
        report = NoticeReport(context.name)
        deliveries: dict[str, list[str]] = {}
        for row in context.ledger.pending_notices(context.name, limit=limit):
            deliveries.setdefault(row["order_id"], []).append(row["delivery_id"])
        intake, arrived = self.intake(lease), []
        queued = context.ledger.documents_queued
        for order_id, ids in deliveries.items():
            report.orders += 1
            try:
                raw = context.source.fetch_order(order_id)
            except SourceRequestError as err:
                if err.status != 404:
                    raise
                given_up = context.ledger.notice_not_found(context.name, ids)
                report.given_up += given_up
                report.waiting += not given_up
                continue
            outcome = intake.process(raw)
            context.ledger.settle_notices(context.name, ids, outcome.value)
            report.count(outcome)
            if outcome in NEW:
                arrived.append((raw, outcome))
        if deliveries:
            context.flush(queued_since=queued)
            self._observe(Arrival.PUSH, arrived)
            self._prune_notices()
        return report

    # -- orders that are not orders yet --------------------------------------------------------

    def look_again(self, *, lease: Lease | None = None, limit: int = 50) -> NoticeReport:
        """Fetch by id the shop's waiting orders that are due, and run each through the intake
        again: placed now, it is imported; still not, it waits longer (looks back off); gone
        from the platform, or watched for thirty days, it is settled and says so in ``show``.

        Costs no statement while the next look is not due (the time is kept from the last look,
        re-read at least every ten minutes).
        """
        context = self.context
        report = NoticeReport(context.name)
        now = context.clock()
        if self._next_look is not None and now < self._next_look:
            return report
        intake, settled = self.intake(lease), dict[str, list[str]]()
        for row in context.ledger.due_waiting(context.name, limit=limit):
            report.orders += 1
            order_id = row["order_id"]
            if now > watched_until(datetime.fromisoformat(row["order_created_at"])):
                settled.setdefault(STOPPED_WATCHING, []).append(order_id)
                continue
            try:
                raw = context.source.fetch_order(order_id)
            except SourceRequestError as err:
                if err.status != 404:
                    raise
                settled.setdefault("not found at the platform", []).append(order_id)
                report.given_up += 1
                continue
            outcome = intake.process(raw)
            if outcome is Outcome.ALREADY:  # withdrawn by an audit, placed now: live again
                outcome = restore_withdrawn(context, order_id, raw) or outcome
            report.count(outcome)
            if outcome is not Outcome.WAITING and not self._still_incomplete(order_id):
                settled.setdefault(outcome.value, []).append(order_id)
        for outcome_text, ids in settled.items():
            context.ledger.settle_waiting(context.name, ids, outcome_text)
        if report.orders:
            context.flush()
        due = context.ledger.next_waiting_look(context.name)
        self._next_look = min(due or now + WAITING_REREAD, now + WAITING_REREAD)
        return report

    def _still_incomplete(self, order_id: str) -> bool:
        failure = self.context.ledger.failure(self.context.name, order_id)
        return (
            failure is not None
            and failure.resolved_at is None
            and failure.error_code == ErrorCode.INCOMPLETE_ORDER.value
        )

    def _observe(self, arrival: Arrival, arrived: list[tuple[dict[str, Any], Outcome]]) -> None:
        """Creation to stored (or, for a failure, to its document posted): what a user waits."""
        if not self.events.listeners or not arrived:
            return
        now, platform = self.context.clock(), self.context.source.platform
        for raw, _ in arrived:
            created = raw_created_at(platform, raw)
            if created is not None:
                seconds = (now - created).total_seconds()
                self.events.publish(OrderLatency(self.context.name, arrival, seconds))

    def _prune_notices(self) -> None:
        now = self.context.clock()
        if self._pruned_at is None or now - self._pruned_at > NOTICE_PRUNE_EVERY:
            self._pruned_at = now
            self.context.ledger.prune_notices(self.shop.name, settled_before=now - NOTICES_KEPT)

    def resume_point(self) -> datetime:
        """Where the next window starts: the checkpoint, else the shop's ``start``, else 24
        hours ago, said aloud (orders before it are not imported unless someone asks)."""
        checkpoint = self.checkpoint = self.context.ledger.checkpoint(self.shop.name)
        if checkpoint is not None:
            return checkpoint
        if self.shop.start is not None:
            return self.shop.start
        start = whole_second(self.context.clock() - timedelta(hours=FIRST_RUN_HOURS))
        log.warning(
            "%s: first import, and the shops file gives no start: importing orders created "
            "from %s on (%d hours ago); older orders are not imported. Set start = \"…\" in "
            "[shops.%s], or catch up with `loginsights reconcile --shop %s --hours N`",
            self.shop.name, start.isoformat(), FIRST_RUN_HOURS, self.shop.name, self.shop.name,
        )  # fmt: skip
        return start

    def pending_windows(self) -> list[ImportWindow]:
        return plan_windows(
            self.resume_point(),
            self.context.clock(),
            settle_lag=self.shop.settle_lag,
            max_span=self.shop.window,
            overlap=self.shop.overlap,
        )

    def catch_up(
        self,
        *,
        on_order: Callable[[str], None] | None = None,
        on_window: Callable[[WindowReport], None] | None = None,
        lease: Lease | None = None,
        on_page: Callable[[], None] | None = None,
    ) -> list[WindowReport]:
        """Import every window from the checkpoint to now minus the settle lag."""
        reports = []
        for window in self.pending_windows():
            report = self.import_window(window, on_order=on_order, lease=lease, on_page=on_page)
            reports.append(report)
            if on_window:
                on_window(report)
        return reports

    def check_range(self, start: datetime, end: datetime) -> None:
        """An explicit range may not reach past now minus the settle lag: orders there are not
        settled yet, and a checkpoint moved there would skip them."""
        horizon = whole_second(self.context.clock() - self.shop.settle_lag)
        if end > horizon:
            raise ConfigurationError(
                f"{self.shop.name}: the range ends {end.isoformat()}, after now minus the "
                f"settle lag ({horizon.isoformat()}); orders there may not be visible yet. End "
                "it earlier, or run a plain `loginsights import` to catch up to now"
            )
        if end <= start:
            raise ConfigurationError(
                f"{self.shop.name}: the range ends {end.isoformat()}, not after its start "
                f"{start.isoformat()}; the range is half-open [from, to)"
            )

    def import_range(
        self,
        start: datetime,
        end: datetime,
        *,
        on_order: Callable[[str], None] | None = None,
        on_window: Callable[[WindowReport], None] | None = None,
    ) -> list[WindowReport]:
        """Import an explicit range; the checkpoint follows only if the range touches it.

        A shop without a checkpoint has one only once everything from its beginning (its
        ``start``) is in: a range that does not reach back to it leaves the checkpoint unset,
        so the next plain import still begins at the beginning.
        """
        self.check_range(start, end)
        checkpoint = self.context.ledger.checkpoint(self.shop.name)
        if checkpoint is None:
            contiguous = self.shop.start is not None and start <= self.shop.start
        else:
            contiguous = start <= checkpoint
        reports = []
        for window in plan_windows(start, end, settle_lag=timedelta(0), max_span=self.shop.window):
            reports.append(
                self.import_window(window, on_order=on_order, advance_checkpoint=contiguous)
            )
            if on_window:
                on_window(reports[-1])
        return reports


__all__ = ["ImportWorker"]
