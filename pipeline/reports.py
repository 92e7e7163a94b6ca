"""What the pipeline reports, as plain types every layer may import: nothing here imports a
service, so a module that only needs to know what an outcome or a report looks like never
pulls in the worker, the ledger or reconciliation to learn it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from pipeline.models import DocType, Platform
from pipeline.windows import ImportWindow


class Outcome(StrEnum):
    """What happened to one order (the values are what the CLI, the API and the console show)."""

    IMPORTED = "imported"
    ALREADY = "already imported"
    FAILED = "failed"
    FAILED_UNCHANGED = "failed, unchanged"  # failing as before: no new attempt recorded
    REFRESHED = "refreshed"
    UNCHANGED = "unchanged"  # a refresh found the platform's state equal to the stored one
    NOT_FOUND = "not found"
    STUCK = "stuck"  # in the store as created, though the platform cancelled or fulfilled it
    WAITING = "waiting"  # not an order to ship yet (not placed, payment failed): looked at again

    @property
    def passed(self) -> bool:
        """The order is in the order store."""
        return self in (Outcome.IMPORTED, Outcome.ALREADY, Outcome.REFRESHED, Outcome.UNCHANGED)


@dataclass
class WindowReport:
    window: ImportWindow
    shop: str = ""
    seen: int = 0
    imported: int = 0
    already: int = 0
    failed: int = 0
    unchanged: int = 0
    waiting: int = 0  # not orders to ship yet: kept aside, looked at again

    def count(self, outcome: Outcome) -> None:
        self.seen += 1
        _tally(self, outcome)


_TALLIED = {
    Outcome.IMPORTED: "imported",
    Outcome.ALREADY: "already",
    Outcome.FAILED: "failed",
    Outcome.WAITING: "waiting",
    Outcome.REFRESHED: "imported",  # a withdrawn order given a live version again
}


def _tally(report: WindowReport | NoticeReport, outcome: Outcome) -> None:
    """One more order under its outcome's count (any other outcome counts as unchanged)."""
    name = _TALLIED.get(outcome, "unchanged")
    setattr(report, name, getattr(report, name) + 1)


class Arrival(StrEnum):
    """How an order reached loginsights: announced by a webhook, or found by a window."""

    PUSH = "push"
    POLL = "poll"


@dataclass
class NoticeReport:
    """One pass over a shop's webhook notices."""

    shop: str
    orders: int = 0  # distinct orders noticed (a redelivery is one order)
    imported: int = 0
    already: int = 0  # a window (or an earlier delivery) had it already
    failed: int = 0
    unchanged: int = 0
    waiting: int = 0  # the platform does not show the order yet: tried again next pass
    given_up: int = 0  # still not shown after several passes: left to the windows

    def count(self, outcome: Outcome) -> None:
        _tally(self, outcome)


class Reason(StrEnum):
    """Why an order needs a person's (or the importer's) attention."""

    IMPORTED_NOW = "missing_imported_now"
    FAILED_NOW = "missing_failed_now"
    CANCELLED_AT_PLATFORM = "cancelled_at_platform_open_in_store"
    CANCELLED_IN_STORE = "cancelled_in_store_open_at_platform"


class ReasonedOrder(BaseModel):
    order_id: str
    reason: Reason


class ReconciliationReport(BaseModel):
    """What reconciliation found and did for one shop and span."""

    shop: str
    platform: str
    window_start: datetime
    window_end: datetime
    at_source: int = 0
    already_imported: int = 0
    imported_now: int = 0
    failed_now: int = 0
    missing_ids: list[str] = Field(default_factory=list, description="Lacking before this run.")
    excluded: int = Field(0, description="Left out by the shop's reconcile_exclude rules.")
    waiting: dict[str, int] = Field(
        default_factory=dict,
        description="Orders at the source that are not orders to ship yet, by reason (an SFCC "
        "order not placed, a payment that failed): kept aside and looked at again.",
    )
    orders: list[ReasonedOrder] = Field(
        default_factory=list, description="Each order that needs attention, with its reason."
    )
    dry_run: bool = False
    ran_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def missing(self) -> int:
        return len(self.missing_ids)

    def count(self, reason: Reason) -> int:
        return sum(1 for order in self.orders if order.reason is reason)

    def by_reason(self) -> dict[str, int]:
        return {reason.value: self.count(reason) for reason in Reason}

    def summary(self) -> str:
        verb = "would import" if self.dry_run else "imported now"
        done = self.missing if self.dry_run else self.imported_now
        return (
            f"Reconciliation of {self.shop} ({self.platform}) for orders created "
            f"{self.window_start:%Y-%m-%d %H:%M:%S} to {self.window_end:%Y-%m-%d %H:%M:%S} UTC: "
            f"{self.at_source} at the source, {self.already_imported} already imported, "
            f"{done} {verb}, {self.failed_now} failed now"
            + (
                f"; {self.count(Reason.CANCELLED_AT_PLATFORM)} cancelled at the platform but "
                f"open in the store, {self.count(Reason.CANCELLED_IN_STORE)} cancelled in the "
                "store but open at the platform"
                if self.count(Reason.CANCELLED_AT_PLATFORM) or self.count(Reason.CANCELLED_IN_STORE)
                else ""
            )
            + (f"; {self.excluded} excluded" if self.excluded else "")
            + (
                f"; {sum(self.waiting.values())} waiting, not orders to ship yet ("
                + ", ".join(f"{n} {r.replace('_', ' ')}" for r, n in sorted(self.waiting.items()))
                + ")"
                if self.waiting
                else ""
            )
            + (
                f" (search docType:{DocType.for_platform(Platform(self.platform)).value} AND "
                f"shop:{self.shop} for them)"
                if self.failed_now
                else ""
            )
        )


@dataclass(frozen=True)
class ShopPass:
    """What one pass over a shop says about its freshness and its platform budget."""

    shop: str
    lag_seconds: float | None  # now minus the shop's checkpoint
    calls: int  # API calls made since this process started
    rate_limited: int  # 429s (and load-shedding 503s) received since then
    budget_wait_seconds: float  # time spent waiting for the platform's budget since then


@dataclass(frozen=True)
class OutboxState:
    """The outbox after a flush: what waits for Solr, what Solr refused, and why it waits."""

    waiting: int
    dead: int
    solr_down: bool = False
    error: str = ""


@dataclass(frozen=True)
class OrderLatency:
    """From an order's creation at the platform to stored (or its failure posted)."""

    shop: str
    arrival: Arrival
    seconds: float


__all__ = [
    "Arrival",
    "NoticeReport",
    "OrderLatency",
    "OutboxState",
    "Outcome",
    "Reason",
    "ReasonedOrder",
    "ReconciliationReport",
    "ShopPass",
    "WindowReport",
]
