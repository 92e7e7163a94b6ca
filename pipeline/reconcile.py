"""Daily reconciliation (seed 002): every order the platform created in the last day, accounted for.

The windows of the import worker should already have caught every order; reconciliation is the
independent check that they did. It lists the platform's orders created in the span (ids and
times only where the API allows it: Shopify's ``fields``), compares them with the ledger, and
imports exactly the ones the ledger lacks, through the same order intake as a normal import. The
report (at the source, already imported, imported now, failed now) is kept in the ledger and
indexed in logInsights as docType ``ORDER_RECONCILIATION``, next to the failures it explains.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from pipeline.documents import reconciliation_document
from pipeline.intake import PAGE_SIZE, TRANSIENT, OrderIntake, ShopContext, pages, read_ahead
from pipeline.ledger import Lease
from pipeline.models import (
    Platform,
    next_version,
)
from pipeline.orders import (
    raw_cancelled,
    raw_channel,
    raw_created_at,
    raw_order_id,
    raw_updated_at,
)
from pipeline.reports import Outcome, Reason, ReasonedOrder, ReconciliationReport
from pipeline.windows import ImportWindow, plan_windows

# Beyond this many missing orders, re-listing full pages is cheaper than one call per order.
FETCH_ONE_BY_ONE_UP_TO = 50


def reconcile(
    context: ShopContext,
    *,
    hours: float = 24,
    end: datetime | None = None,
    dry_run: bool = False,
    lease: Lease | None = None,
    progress: Callable[[str], None] | None = None,
) -> ReconciliationReport:
    """Import what the ledger lacks of the orders created in the ``hours`` before ``end``.

    ``lease``: the scheduler's hold on the shop, checked by every write. ``progress`` hears
    each step as it happens (every 1,000 orders listed, then each page of missing orders).
    """
    say = progress or (lambda _: None)
    end = (end or context.clock()).astimezone(UTC).replace(microsecond=0)
    span = ImportWindow(start=end - timedelta(hours=hours), end=end)
    shop, platform = context.shop.name, context.source.platform
    report = ReconciliationReport(
        shop=shop,
        platform=platform.value,
        window_start=span.start,
        window_end=span.end,
        dry_run=dry_run,
    )
    cheap = isinstance(context.source, IdListing)
    waiting = context.ledger.waiting_reasons(shop)
    tally = _Tally(context, report, waiting)
    listing = read_ahead(pages(_listing(context, span, cheap), PAGE_SIZE))  # fetched meanwhile
    for raw in (raw for page in listing for raw in page):
        order_id = raw_order_id(platform, raw)
        created = raw_created_at(platform, raw)
        if order_id is None or (created is not None and not span.contains(created)):
            continue
        if _excluded(context.shop.reconcile_exclude, platform, raw):
            report.excluded += 1
            continue
        tally.add(order_id, raw)
        if tally.seen_count % 1000 == 0:
            say(f"listed {tally.seen_count} orders")
    tally.close()
    report.at_source = tally.seen_count
    say(f"listed {report.at_source} orders at the source")
    missing = tally.missing
    report.already_imported = tally.in_store
    report.missing_ids = missing
    listed = tally.missing_raw
    still_failing = _unchanged_failures(context, listed)
    if still_failing and not dry_run:  # would fail again the same way: not fetched again
        report.failed_now += len(still_failing)
        report.orders += [ReasonedOrder(order_id=order_id, reason=Reason.FAILED_NOW)
                          for order_id in missing if order_id in still_failing]  # fmt: skip
        missing = [order_id for order_id in missing if order_id not in still_failing]
    if dry_run or not missing:
        _count_waiting(context, report, tally.waiting_seen)
        return _kept(context, report)
    wanted, intake = set(missing), OrderIntake(context, lease=lease)
    say(f"{len(missing)} missing in the store: importing them")
    done = 0
    for page in read_ahead(pages(_full_orders(context, span, listed, wanted, cheap), PAGE_SIZE)):
        done += len(page)
        say(f"imported {done} of {len(missing)} missing")
        for raw, outcome in zip(page, intake.process_page(page), strict=True):
            order_id = raw_order_id(platform, raw) or ""
            if outcome is Outcome.IMPORTED:
                report.imported_now += 1
                report.orders.append(ReasonedOrder(order_id=order_id, reason=Reason.IMPORTED_NOW))
            elif outcome in (Outcome.FAILED, Outcome.FAILED_UNCHANGED):
                report.failed_now += 1
                report.orders.append(ReasonedOrder(order_id=order_id, reason=Reason.FAILED_NOW))
            elif outcome is Outcome.ALREADY:  # imported meanwhile by the shop's worker
                report.already_imported += 1
    context.flush()
    _count_waiting(context, report, tally.waiting_seen)
    return _kept(context, report)


def _unchanged_failures(context: ShopContext, listed: dict[str, dict[str, Any]]) -> set[str]:
    """The missing orders that failed before and that the platform has not changed since
    (their last change as listed equals the kept payload's)."""
    platform = context.source.platform
    changed = {
        order_id: stamp
        for order_id, raw in listed.items()
        if (stamp := raw_updated_at(platform, raw)) is not None
    }
    if not changed:
        return set()
    return context.ledger.unchanged_failures(
        context.shop.name, changed, lambda raw: raw_updated_at(platform, raw),
        transient=[code.value for code in TRANSIENT],
    )  # fmt: skip


class _Tally:
    """The listing compared with the store a thousand ids at a time: what the day needs kept is
    a compact set of the ids seen, the missing ones (with their creation time, or their payload
    when the listing gave the whole order), and the counts; never every order of the day."""

    CHUNK = 1000

    def __init__(
        self, context: ShopContext, report: ReconciliationReport, waiting: dict[str, str]
    ) -> None:
        self.context, self.report, self.waiting = context, report, waiting
        self.seen: set[str] = set()
        self.pending: list[tuple[str, dict[str, Any]]] = []
        self.missing: list[str] = []
        self.missing_raw: dict[str, dict[str, Any]] = {}  # the missing orders' payload or time
        self.waiting_seen: set[str] = set()
        self.in_store = 0

    @property
    def seen_count(self) -> int:
        return len(self.seen)

    def add(self, order_id: str, raw: dict[str, Any]) -> None:
        if order_id in self.seen:
            return
        self.seen.add(order_id)
        self.pending.append((order_id, raw))
        if len(self.pending) >= self.CHUNK:
            self.close()

    def close(self) -> None:
        if not self.pending:
            return
        platform = self.context.source.platform
        statuses = self.context.ledger.latest_statuses(
            self.context.shop.name, [order_id for order_id, _ in self.pending]
        )
        for order_id, raw in self.pending:
            status = statuses.get(order_id)
            if status is None:
                if order_id in self.waiting:
                    self.waiting_seen.add(order_id)
                    continue
                self.missing.append(order_id)
                self.missing_raw[order_id] = raw  # few: the missing ones only
                continue
            self.in_store += 1
            cancelled_there, cancelled_here = raw_cancelled(platform, raw), status == "cancelled"
            if cancelled_there and not cancelled_here:
                self.report.orders.append(
                    ReasonedOrder(order_id=order_id, reason=Reason.CANCELLED_AT_PLATFORM)
                )
            elif cancelled_here and not cancelled_there:
                self.report.orders.append(
                    ReasonedOrder(order_id=order_id, reason=Reason.CANCELLED_IN_STORE)
                )
        self.pending = []


def _count_waiting(context: ShopContext, report: ReconciliationReport, seen: set[str]) -> None:
    """The span's orders that wait (not placed, payment failed, ...), by reason."""
    for order_id, reason in context.ledger.waiting_reasons(context.shop.name).items():
        if order_id in seen:
            report.waiting[reason] = report.waiting.get(reason, 0) + 1


def _excluded(rules: Sequence[str], platform: Platform, raw: dict[str, Any]) -> bool:
    """The shop's reconcile_exclude rules: "pos" (point-of-sale orders), "cancelled"."""
    return ("pos" in rules and raw_channel(platform, raw) == "pos") or (
        "cancelled" in rules and raw_cancelled(platform, raw)
    )


@runtime_checkable
class IdListing(Protocol):
    """A source that can list only ids and creation times (Shopify: cheap, or in bulk)."""

    def list_ids(self, span: ImportWindow) -> Iterator[dict[str, Any]]: ...


def _listing(context: ShopContext, span: ImportWindow, cheap: bool) -> Iterator[dict[str, Any]]:
    if cheap:
        assert isinstance(context.source, IdListing)
        yield from context.source.list_ids(span)
        return
    for window in plan_windows(
        span.start, span.end, settle_lag=timedelta(0), max_span=context.shop.window
    ):
        yield from context.source.list_orders(window)


def _full_orders(
    context: ShopContext,
    span: ImportWindow,
    listed: dict[str, dict[str, Any]],
    wanted: set[str],
    cheap: bool,
) -> Any:
    """The full payloads of the wanted orders: already in hand, fetched one by one when they
    are few, else re-listed from full pages of only the windows that hold them."""
    platform = context.source.platform
    if not cheap:
        yield from (listed[order_id] for order_id in listed if order_id in wanted)
    elif len(wanted) <= FETCH_ONE_BY_ONE_UP_TO:
        for order_id in listed:
            if order_id in wanted:
                yield context.source.fetch_order(order_id)
    else:
        times = [raw_created_at(platform, listed[order_id]) for order_id in wanted]
        for window in plan_windows(
            span.start, span.end, settle_lag=timedelta(0), max_span=context.shop.window
        ):
            if not any(moment is None or window.contains(moment) for moment in times):
                continue  # nothing missing here: no need to read its full pages
            for raw in context.source.list_orders(window):
                listed_id = raw_order_id(platform, raw)
                if listed_id is not None and listed_id in wanted:
                    wanted.discard(listed_id)
                    yield raw


def _kept(context: ShopContext, report: ReconciliationReport) -> ReconciliationReport:
    if not report.dry_run:
        context.ledger.save_reconciliation(
            report.shop,
            report.window_start,
            report.window_end,
            report.model_dump(mode="json"),
            reconciliation_document(
                report, site=context.shop.base_url, ttl=context.ttl, version=next_version(None)
            ),
        )
        context.flush()
    return report


# -- scheduling --------------------------------------------------------------------------------


def last_midnight(zone: ZoneInfo, now: datetime) -> datetime:
    """The most recent midnight in ``zone`` at or before ``now`` (UTC-aware)."""
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(0), tzinfo=zone).astimezone(UTC)


def reconciliation_due(zone: ZoneInfo, now: datetime, last_run: datetime) -> bool:
    """Due once per local day, at the first check after midnight; a missed midnight (the worker
    was down) is made up at the next check. ``last_run`` is the last reconciliation, or when the
    worker started for a shop never reconciled (its first one is at the next midnight).
    """
    return last_run < last_midnight(zone, now) <= now


__all__ = [
    "ReconciliationReport",
    "last_midnight",
    "reconcile",
    "reconciliation_due",
]
