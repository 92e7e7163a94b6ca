"""The import worker: windows in, orders stored, failures recorded, checkpoints advanced.

For each window the connector lists the orders created in it; each order is skipped if the store
has it, else mapped and checked: a good order is stored (and its earlier failure, if any, marked
resolved), a bad one recorded as a failed attempt with a message a person can act on. Only when
every order of the window is stored or recorded does the shop's checkpoint move to the window's
end. A crash, an outage or a stop leaves the checkpoint where it was, and the next pass redoes
the window; storing is idempotent, so nothing is imported twice.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.documents import failure_renderer
from pipeline.errors import ConfigurationError, WorkerStopped
from pipeline.flusher import FlushReport, OutboxFlusher
from pipeline.ledger import Lease, Ledger, payload_hash
from pipeline.models import ErrorCode, FailedAttempt
from pipeline.orders import Order, UnmappableOrder, explain, problems, raw_order_id, to_order
from pipeline.reports import Outcome, WindowReport
from pipeline.shops import ShopConfig
from pipeline.sources import OrderSource
from pipeline.windows import ImportWindow, plan_windows, whole_second

log = logging.getLogger(__name__)

PAGE_SIZE = 250  # orders stored per transaction
FIRST_RUN_HOURS = 24  # where a shop with no checkpoint and no start begins, said aloud


def pages(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """Consecutive lists of at most ``size`` items (``itertools.batched`` before 3.12)."""
    iterator = iter(items)
    while page := list(islice(iterator, size)):
        yield page


def read_ahead(
    items: Iterator[list[dict[str, Any]]], depth: int = 2
) -> Iterator[list[dict[str, Any]]]:
    """Fetch the next pages in a thread while the caller processes this one.

    Fetching is waiting on the platform, processing is CPU: overlapping them is most of what a
    worker can gain. Errors of the fetch surface here, in order; if the caller stops early,
    the fetching thread stops at its next page.
    """
    ready: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    abandoned = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not abandoned.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            for page in items:
                if not put(("page", page)):
                    return
            put(("end", None))
        except BaseException as err:  # noqa: BLE001  (handed to the consumer, raised there)
            put(("error", err))

    thread = threading.Thread(target=fetch, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = ready.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        abandoned.set()


class ImportWorker:
    """Imports one shop's orders into the ledger."""

    def __init__(
        self,
        shop: ShopConfig,
        source: OrderSource,
        ledger: Ledger,
        *,
        ttl: str,
        time_zone: str = "America/New_York",
        flusher: OutboxFlusher | None = None,
        stop: threading.Event | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.shop = shop
        self.source = source
        self.ledger = ledger
        self.ttl = shop.ttl or ttl
        self.zone = ZoneInfo(time_zone)
        self.render = failure_renderer(self.ttl, self.zone)
        self.flusher = flusher
        self.stop = stop or threading.Event()
        self.clock = clock
        self.lease: Lease | None = None  # set while a scheduler holds the shop for this worker
        self.on_page: Callable[[], None] | None = None  # e.g. renew the lease
        self.on_failure: Callable[[FailedAttempt], None] | None = None  # e.g. count it

    # -- one order ------------------------------------------------------------------------

    def process(self, raw: dict[str, Any], *, force: bool = False) -> Outcome:
        """Store or record one order as the platform sent it; returns the outcome.

        ``force`` records a failure even when the same payload already failed the same way (a
        person asked for this attempt, so it counts and the log document moves forward).
        """
        return self.process_page([raw], force=force)[0]

    def process_page(self, raws: list[dict[str, Any]], *, force: bool = False) -> list[Outcome]:
        """Store or record a page of orders; the good ones are stored in one transaction.

        Outcomes come back in the order of ``raws``. A crash in the middle loses at most this
        page's good orders, which the window (whose checkpoint has not moved) imports again.
        """
        platform, shop = self.source.platform, self.shop.name
        ids = [raw_order_id(platform, raw) for raw in raws]
        known = self.ledger.known_order_ids(shop, [i for i in ids if i is not None])
        outcomes: list[Outcome] = [Outcome.ALREADY] * len(raws)
        good: dict[str, tuple[int, Order, dict[str, Any]]] = {}
        for index, (raw, order_id) in enumerate(zip(raws, ids, strict=True)):
            if order_id is not None and (order_id in known or order_id in good):
                continue
            verdict = self.judge(raw, order_id, force)
            if isinstance(verdict, Order):
                good[verdict.order_id] = (index, verdict, raw)
            else:
                outcomes[index] = verdict
        stored = self.ledger.store_orders(
            [(order, raw) for _, order, raw in good.values()],
            render=self.render,
            lease=self.lease,
        )
        for order_id, (index, _, _) in good.items():
            outcomes[index] = Outcome.IMPORTED if order_id in stored else Outcome.ALREADY
        return outcomes

    def judge(self, raw: dict[str, Any], order_id: str | None, force: bool) -> Order | Outcome:
        """The order, if it may be stored; else its failure is recorded and the outcome given."""
        platform, shop = self.source.platform, self.shop.name
        try:
            order = to_order(platform, shop, raw)
        except UnmappableOrder as err:
            return self._record(self._unreadable(raw, order_id, str(err)), raw, force)
        found = problems(order)
        if not found:
            return order
        attempt = FailedAttempt(
            platform=platform,
            shop=shop,
            order_id=order.order_id,
            order_name=order.name,
            order_created_at=order.created_at,
            attempted_at=self.clock(),
            error_message=explain(order, found),
            error_code=found[0].code,
            site=order.site_url or self._order_url(order.order_id),
        )
        return self._record(attempt, raw, force)

    def _record(self, attempt: FailedAttempt, raw: dict[str, Any], force: bool = False) -> Outcome:
        transient = attempt.error_code in (ErrorCode.STORE_ERROR, ErrorCode.PLATFORM_ERROR)
        recorded = self.ledger.record_failure(
            attempt,
            payload=raw,
            render=self.render,
            retry_unchanged=force or transient,
            lease=self.lease,
        )
        if recorded and self.on_failure:
            self.on_failure(attempt)
        return Outcome.FAILED if recorded else Outcome.FAILED_UNCHANGED

    def _unreadable(self, raw: dict[str, Any], order_id: str | None, reason: str) -> FailedAttempt:
        digest = payload_hash(raw)[:16]
        key = order_id or f"unidentified-{digest}"
        return FailedAttempt(
            platform=self.source.platform,
            shop=self.shop.name,
            order_id=key,
            order_name=str(raw.get("name") or raw.get("number") or key),
            order_created_at=self.clock(),
            attempted_at=self.clock(),
            error_message=(
                f"Order {key} of shop {self.shop.name} cannot be imported: {reason}. Check the "
                f"order in the platform's admin, then re-import it with `loginsights reimport "
                f"--shop {self.shop.name} --order-id {key}`"
            ),
            error_code=ErrorCode.INVALID_ORDER,
            site=self._order_url(key),
        )

    def _order_url(self, order_id: str) -> str:
        admin_url = getattr(self.source, "order_admin_url", None)
        if admin_url is not None:
            return str(admin_url(order_id))
        return f"{self.shop.base_url.rstrip('/')}/orders/{order_id}"

    # -- windows --------------------------------------------------------------------------

    def import_window(
        self,
        window: ImportWindow,
        *,
        on_order: Callable[[str], None] | None = None,
        advance_checkpoint: bool = True,
    ) -> WindowReport:
        """Import every order of the window; the checkpoint moves only if all of them made it."""
        report = WindowReport(window, shop=self.shop.name)
        for page in read_ahead(pages(self.source.list_orders(window), PAGE_SIZE)):
            if self.stop.is_set():
                raise WorkerStopped(
                    f"{self.shop.name}: stopped inside window {window}; it is redone next time"
                )
            if self.on_page:
                self.on_page()
            for outcome in self.process_page(page):
                report.count(outcome)
                if on_order:
                    on_order(outcome)
        if advance_checkpoint:
            self.ledger.advance_checkpoint(self.shop.name, window.end, lease=self.lease)
        self.flush()
        return report

    def resume_point(self) -> datetime:
        """Where the next window starts: the checkpoint, else the shop's ``start``, else 24
        hours ago, said aloud (orders before it are not imported unless someone asks)."""
        checkpoint = self.ledger.checkpoint(self.shop.name)
        if checkpoint is not None:
            return checkpoint
        if self.shop.start is not None:
            return self.shop.start
        start = whole_second(self.clock() - timedelta(hours=FIRST_RUN_HOURS))
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
            self.clock(),
            settle_lag=self.shop.settle_lag,
            max_span=self.shop.window,
            overlap=self.shop.overlap,
        )

    def catch_up(
        self,
        *,
        on_order: Callable[[str], None] | None = None,
        on_window: Callable[[WindowReport], None] | None = None,
    ) -> list[WindowReport]:
        """Import every window from the checkpoint to now minus the settle lag."""
        reports = []
        for window in self.pending_windows():
            report = self.import_window(window, on_order=on_order)
            reports.append(report)
            if on_window:
                on_window(report)
        return reports

    def check_range(self, start: datetime, end: datetime) -> None:
        """An explicit range may not reach past now minus the settle lag: orders there are not
        settled yet, and a checkpoint moved there would skip them."""
        horizon = whole_second(self.clock() - self.shop.settle_lag)
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
    ) -> list[WindowReport]:
        """Import an explicit range; the checkpoint follows only if the range touches it.

        A shop without a checkpoint has one only once everything from its beginning (its
        ``start``) is in: a range that does not reach back to it leaves the checkpoint unset,
        so the next plain import still begins at the beginning.
        """
        self.check_range(start, end)
        checkpoint = self.ledger.checkpoint(self.shop.name)
        if checkpoint is None:
            contiguous = self.shop.start is not None and start <= self.shop.start
        else:
            contiguous = start <= checkpoint
        reports = []
        for window in plan_windows(start, end, settle_lag=timedelta(0), max_span=self.shop.window):
            reports.append(
                self.import_window(window, on_order=on_order, advance_checkpoint=contiguous)
            )
        return reports

    def flush(self) -> FlushReport | None:
        if self.flusher is None:
            return None
        report = self.flusher.flush()
        if report.solr_down:
            log.warning(
                "%s: Solr is unavailable, %d log documents wait in the outbox: %s",
                self.shop.name,
                report.waiting,
                report.error,
            )
        return report


__all__ = [
    "ImportWorker",
    "WindowReport",
]
