"""Order intake: the rules one order goes through, and the shop it goes through them for.

An order the platform sent is skipped if the store has it, else mapped and checked: a good order
is stored (and its earlier failure, if any, marked resolved), a bad one recorded as a failed
attempt with a message a person can act on. Windows (``pipeline.worker``), reconciliation and
the troubleshooting flows all import through ``OrderIntake``, so an order is judged the same way
whichever road it came by.

``ShopContext`` is what those services are handed for one shop (who, where its orders come
from, where they go, the time): the composition root builds it; services never reach into a
worker to find it.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.documents import failure_renderer
from pipeline.flusher import FlushReport, OutboxFlusher
from pipeline.ledger import Lease, Ledger, WaitingOrder, payload_hash
from pipeline.models import ErrorCode, FailedAttempt, Platform, RenderFailure
from pipeline.orders import (
    Disposition,
    IncompleteOrder,
    Order,
    UnmappableOrder,
    explain,
    is_graphql_order,
    judge,
    problems,
    raw_created_at,
    raw_order_id,
    to_order,
)
from pipeline.reports import Outcome
from pipeline.shops import ShopConfig
from pipeline.sources import OrderSource
from pipeline.windows import Clock, utc_now

log = logging.getLogger(__name__)

PAGE_SIZE = 250  # orders stored per transaction
# the same failure again is still an attempt when its cause was passing
TRANSIENT = (ErrorCode.STORE_ERROR, ErrorCode.PLATFORM_ERROR, ErrorCode.INCOMPLETE_ORDER)


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


@dataclass(frozen=True)
class ShopContext:
    """One shop and what acting for it takes; ``default_ttl`` applies unless the shop sets one."""

    shop: ShopConfig
    source: OrderSource
    ledger: Ledger
    default_ttl: str = "+60DAYS"
    time_zone: str = "America/New_York"
    flusher: OutboxFlusher | None = None
    clock: Clock = field(default=utc_now)

    @property
    def name(self) -> str:
        return self.shop.name

    @property
    def ttl(self) -> str:
        return self.shop.ttl or self.default_ttl

    @cached_property
    def render(self) -> RenderFailure:
        return failure_renderer(self.ttl, ZoneInfo(self.time_zone))

    def flush(self, *, queued_since: int | None = None) -> FlushReport | None:
        """Send what this shop queued to Solr now; Solr being down leaves it waiting, said once.

        With ``queued_since`` (the ledger's ``documents_queued`` when the work began) nothing
        is asked of the outbox if nothing was queued since; the runner's own flush takes what
        others left.
        """
        if self.flusher is None or self.ledger.documents_queued == queued_since:
            return None
        report = self.flusher.flush()
        if report.solr_down:
            log.warning(
                "%s: Solr is unavailable, %d log documents wait in the outbox: %s",
                self.name,
                report.waiting,
                report.error,
            )
        return report

    def order_url(self, order_id: str) -> str:
        """Where a person opens the order in the platform's admin."""
        admin_url = getattr(self.source, "order_admin_url", None)
        if admin_url is not None:
            return str(admin_url(order_id))
        return f"{self.shop.base_url.rstrip('/')}/orders/{order_id}"


class OrderIntake:
    """Stores or records orders for one shop; under a ``lease``, every write checks it is held."""

    def __init__(
        self,
        context: ShopContext,
        *,
        lease: Lease | None = None,
        on_failure: Callable[[FailedAttempt], None] | None = None,
    ) -> None:
        self.context = context
        self.lease = lease
        self.on_failure = on_failure

    def process(self, raw: dict[str, Any], *, force: bool = False) -> Outcome:
        """Store or record one order as the platform sent it.

        ``force`` records a failure even when the same payload already failed the same way (a
        person asked for this attempt, so it counts and the log document moves forward).
        """
        return self.process_page([raw], force=force)[0]

    def process_page(self, raws: list[dict[str, Any]], *, force: bool = False) -> list[Outcome]:
        """Store or record a page of orders; the good ones are stored in one transaction.

        Outcomes come back in the order of ``raws``. A crash in the middle loses at most this
        page's good orders, which the window (whose checkpoint has not moved) imports again.
        """
        context = self.context
        ids = [raw_order_id(context.source.platform, raw) for raw in raws]
        known = context.ledger.known_order_ids(context.name, [i for i in ids if i is not None])
        outcomes: list[Outcome] = [Outcome.ALREADY] * len(raws)
        good: dict[str, tuple[int, Order, dict[str, Any]]] = {}
        for index, (raw, order_id) in enumerate(zip(raws, ids, strict=True)):
            if order_id is not None and (order_id in known or order_id in good):
                continue
            verdict = self.verdict(raw, order_id)
            if isinstance(verdict, Order):
                good[verdict.order_id] = (index, verdict, raw)
            elif isinstance(verdict, WaitingOrder):
                context.ledger.keep_waiting(verdict, lease=self.lease)
                outcomes[index] = Outcome.WAITING
            else:
                outcomes[index] = self.record(verdict, raw, force=force)
        stored = context.ledger.store_orders(
            [(order, raw) for _, order, raw in good.values()],
            render=context.render,
            lease=self.lease,
        )
        for order_id, (index, _, _) in good.items():
            outcomes[index] = Outcome.IMPORTED if order_id in stored else Outcome.ALREADY
        return outcomes

    def verdict(
        self, raw: dict[str, Any], order_id: str | None
    ) -> Order | FailedAttempt | WaitingOrder:
        """The order, if it may be stored; else why not: a failed attempt, or an order that is
        not one to ship yet (it waits and is looked at again). Writes nothing."""
        context = self.context
        platform, shop = context.source.platform, context.name
        try:
            order = to_order(platform, shop, raw)
        except IncompleteOrder as err:
            return self._unreadable(raw, order_id, str(err), ErrorCode.INCOMPLETE_ORDER)
        except UnmappableOrder as err:
            return self._unreadable(raw, order_id, str(err))
        graphql = platform is Platform.SHOPIFY and is_graphql_order(raw)
        judged = judge(platform, raw, graphql=graphql)
        if judged.disposition is Disposition.WAIT:
            return WaitingOrder(
                shop=shop,
                order_id=order.order_id,
                platform=platform.value,
                name=order.name,
                order_created_at=order.created_at,
                reason=judged.reason,
                detail=judged.explanation,
            )
        if judged.disposition is Disposition.REFUSE:
            return self._unreadable(
                raw,
                order.order_id,
                f"the platform says {judged.explanation}, a value this version of loginsights "
                "has no entry for (pipeline/orders/dispositions.py), so it is not imported by "
                "guess; upgrade loginsights or add the value there",
                ErrorCode.UNKNOWN_STATUS,
            )
        found = problems(order)
        if not found:
            return order
        return FailedAttempt(
            platform=platform,
            shop=shop,
            order_id=order.order_id,
            order_name=order.name,
            order_created_at=order.created_at,
            attempted_at=context.clock(),
            error_message=explain(order, found),
            error_code=found[0].code,
            site=order.site_url or context.order_url(order.order_id),
        )

    def record(
        self, attempt: FailedAttempt, raw: dict[str, Any], *, force: bool = False
    ) -> Outcome:
        """Keep the failed attempt (and queue its document); the same failure again is noted only
        when forced or when the cause was passing (the store or the platform erred)."""
        transient = attempt.error_code in TRANSIENT
        recorded = self.context.ledger.record_failure(
            attempt,
            payload=raw,
            render=self.context.render,
            retry_unchanged=force or transient,
            lease=self.lease,
        )
        if attempt.error_code is ErrorCode.INCOMPLETE_ORDER:  # read again whole, by id
            self.context.ledger.keep_waiting(
                WaitingOrder(
                    shop=attempt.shop,
                    order_id=attempt.order_id,
                    platform=attempt.platform.value,
                    name=attempt.order_name,
                    order_created_at=attempt.order_created_at,
                    reason="incomplete",
                    detail=attempt.error_message,
                ),
                lease=self.lease,
            )
        if recorded and self.on_failure:
            self.on_failure(attempt)
        return Outcome.FAILED if recorded else Outcome.FAILED_UNCHANGED

    def _unreadable(
        self,
        raw: dict[str, Any],
        order_id: str | None,
        reason: str,
        code: ErrorCode = ErrorCode.INVALID_ORDER,
    ) -> FailedAttempt:
        context = self.context
        key = order_id or f"unidentified-{payload_hash(raw)[:16]}"
        created = raw_created_at(context.source.platform, raw)
        return FailedAttempt(
            platform=context.source.platform,
            shop=context.name,
            order_id=key,
            order_name=str(raw.get("name") or raw.get("number") or key),
            order_created_at=created or context.clock(),
            attempted_at=context.clock(),
            error_message=(
                f"Order {key} of shop {context.name} cannot be imported: {reason}. Check the "
                f"order in the platform's admin, then re-import it with `loginsights reimport "
                f"--shop {context.name} --order-id {key}`"
            ),
            error_code=code,
            site=context.order_url(key),
        )


__all__ = ["PAGE_SIZE", "OrderIntake", "ShopContext", "pages"]
