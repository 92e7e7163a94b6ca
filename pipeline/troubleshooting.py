"""The troubleshooting flows of seed 001, one order at a time.

- **Re-import**: the merchant fixed an order (added the address, the phone); fetch it now and
  import it. Success resolves its failure document; another failure updates it.
- **Refresh**: the platform's state moved on (a POS order fulfilled after it was imported); store
  the current state as a new version and cancel the old one with the tag ``old version``.
- **Stuck**: orders still ``created`` in the store that the platform already fulfilled or
  cancelled.
- **Retry**: re-import every outstanding failure, and say how many pass now.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import RowMapping

from pipeline.errors import SourceRequestError
from pipeline.intake import OrderIntake, ShopContext
from pipeline.ledger import FailureRecord, Ledger, WaitingOrder
from pipeline.orders import Order, OrderStatus, UnmappableOrder, to_order
from pipeline.reports import Outcome
from pipeline.scrub import scrub


@dataclass(frozen=True)
class OrderOutcome:
    """What happened to one order: ``imported``, ``already imported``, ``failed``, ``refreshed``,
    or ``not found``; ``detail`` says why in words a person can act on."""

    shop: str
    order_id: str
    outcome: Outcome
    detail: str = ""
    version: int | None = None


def reimport(context: ShopContext, order_id: str) -> OrderOutcome:
    """Fetch one order from the platform now and import it (or record why it still fails)."""
    shop = context.shop.name
    raw = _fetch(context, order_id)
    if raw is None:
        return OrderOutcome(shop, order_id, Outcome.NOT_FOUND, _not_found(context, order_id))
    outcome = OrderIntake(context).process(raw, force=True)
    context.flush()
    if outcome is Outcome.IMPORTED:
        return OrderOutcome(shop, order_id, outcome, "its earlier failure is resolved")
    if outcome is Outcome.ALREADY:
        return OrderOutcome(
            shop,
            order_id,
            outcome,
            "already in the order store; use `loginsights refresh` to take the platform's "
            "current state",
        )
    if outcome is Outcome.WAITING:
        return _waiting(context, order_id)
    return _failed(context, order_id)


def _waiting(context: ShopContext, order_id: str) -> OrderOutcome:
    row = context.ledger.waiting_order(context.shop.name, order_id)
    detail = waiting_sentence(row) if row is not None else ""
    return OrderOutcome(context.shop.name, order_id, Outcome.WAITING, detail)


def waiting_sentence(row: RowMapping) -> str:
    """Why an order is kept aside, and what loginsights does about it, in one sentence."""
    reason = str(row["reason"]).replace("_", " ")
    if row["settled_at"]:
        return (
            f"kept aside from {row['first_seen_at'][:19]} ({reason}: {row['detail']}) until "
            f"{row['settled_at'][:19]}: {row['outcome']}"
        )
    return (
        f"not imported: {reason} ({row['detail']}); not an order to ship yet, so it waits and "
        f"is looked at again (next look {row['next_look_at'][:19]} UTC, {row['looks']} looks so "
        "far); it is imported once the platform shows it placed"
    )


def _failed(context: ShopContext, order_id: str) -> OrderOutcome:
    failure = context.ledger.failure(context.shop.name, order_id)
    detail = failure.last_error if failure else ""
    return OrderOutcome(context.shop.name, order_id, Outcome.FAILED, detail)


def refresh(context: ShopContext, order_id: str) -> OrderOutcome:
    """A new version of the order from the platform's current state (seed 001's refresh)."""
    shop = context.shop.name
    if not context.ledger.has_order(shop, order_id):
        return reimport(context, order_id)
    raw = _fetch(context, order_id)
    if raw is None:
        return OrderOutcome(shop, order_id, Outcome.NOT_FOUND, _not_found(context, order_id))
    intake = OrderIntake(context)
    verdict = intake.verdict(raw, order_id)
    if isinstance(verdict, WaitingOrder):
        context.ledger.keep_waiting(verdict)
        return _waiting(context, order_id)
    if not isinstance(verdict, Order):
        intake.record(verdict, raw, force=True)
        context.flush()
        return _failed(context, order_id)
    order = verdict
    if order.platform_fulfilled and order.status is OrderStatus.CREATED:
        order = order.model_copy(update={"status": OrderStatus.COMPLETED})
    latest = context.ledger.order_versions(shop, order_id)[-1]
    if latest["status"] == order.status.value and json.loads(latest["payload"]) == raw:
        return OrderOutcome(
            shop,
            order_id,
            Outcome.UNCHANGED,
            f"the platform's state equals version {latest['version']}; nothing to refresh",
            version=int(latest["version"]),
        )
    resolved = context.ledger.resolution_document(shop, order_id, render=context.render)
    version = context.ledger.refresh_order(order, raw, resolved_document=resolved)
    context.flush()
    return OrderOutcome(
        shop,
        order_id,
        Outcome.REFRESHED,
        f"version {version} is {order.status.value}; version {version - 1} is cancelled and "
        "tagged 'old version'",
        version=version,
    )


@dataclass
class StuckReport:
    checked: int = 0
    stuck: list[OrderOutcome] = field(default_factory=list)
    refreshed: list[OrderOutcome] = field(default_factory=list)


def find_stuck(
    context: ShopContext,
    *,
    fix: bool = False,
    limit: int = 500,
    on_order: Callable[[], None] | None = None,
) -> StuckReport:
    """Orders ``created`` in the store whose platform state is fulfilled or cancelled."""
    shop, report = context.shop.name, StuckReport()
    for row in context.ledger.latest_orders(shop, status=OrderStatus.CREATED.value)[:limit]:
        report.checked += 1
        if on_order:
            on_order()
        raw = _fetch(context, row["order_id"])
        if raw is None:
            continue
        try:
            current = to_order(context.source.platform, shop, raw)
        except UnmappableOrder:
            continue
        state = (
            "cancelled"
            if current.status is OrderStatus.CANCELLED
            else "fulfilled"
            if current.platform_fulfilled
            else None
        )
        if state is None:
            continue
        report.stuck.append(
            OrderOutcome(
                shop, row["order_id"], Outcome.STUCK, f"{row['name']} is {state} at the platform"
            )
        )
        if fix:
            report.refreshed.append(refresh(context, row["order_id"]))
    return report


@dataclass
class RetryReport:
    retried: int = 0
    passed: int = 0
    still_failing: int = 0
    not_found: int = 0
    outcomes: list[OrderOutcome] = field(default_factory=list)


def retry_outstanding(
    shops: dict[str, ShopContext],
    failures: Iterable[FailureRecord],
    *,
    on_order: Callable[[OrderOutcome], None] | None = None,
) -> RetryReport:
    """Re-import each outstanding failure of the given shops (others are left alone)."""
    report = RetryReport()
    for failure in failures:
        context = shops.get(failure.shop)
        if context is None:
            continue
        outcome = reimport(context, failure.order_id)
        report.retried += 1
        if outcome.outcome in (Outcome.IMPORTED, Outcome.ALREADY):
            report.passed += 1
        elif outcome.outcome is Outcome.NOT_FOUND:
            report.not_found += 1
        else:
            report.still_failing += 1
        report.outcomes.append(outcome)
        if on_order:
            on_order(outcome)
    return report


def _fetch(context: ShopContext, order_id: str) -> dict[str, Any] | None:
    try:
        return context.source.fetch_order(order_id)
    except SourceRequestError as err:
        if err.status == 404:
            return None
        raise


def _not_found(context: ShopContext, order_id: str) -> str:
    return (
        f"order {order_id} was not found at {context.shop.name} ({context.source.platform.value}); "
        "check the id in the platform's admin (the platform's order id, not its name)"
    )


def describe_order(
    ledger: Ledger, reference: str, *, shop: str | None = None
) -> list[dict[str, Any]]:
    """Everything the store knows of an order (by id or name): its failure history, its
    versions, and the payload as the platform sent it, with every secret in it emptied
    (``statusPageUrl``'s ``key=``, a token): the one rule for every place that shows one."""
    stories = []
    for found_shop, order_id in ledger.find_orders(reference, shop=shop):
        failure = ledger.failure(found_shop, order_id)
        versions = ledger.order_versions(found_shop, order_id)
        waiting = ledger.waiting_order(found_shop, order_id)
        payload = (
            json.loads(versions[-1]["payload"])
            if versions
            else ledger.failed_payload(found_shop, order_id)
        )
        stories.append(
            {
                "shop": found_shop,
                "orderId": order_id,
                "name": versions[-1]["name"]
                if versions
                else (failure.name if failure else (waiting["name"] if waiting else "")),
                "waiting": None
                if waiting is None
                else {
                    "reason": waiting["reason"],
                    "detail": waiting["detail"],
                    "since": waiting["first_seen_at"],
                    "looks": waiting["looks"],
                    "nextLookAt": waiting["next_look_at"],
                    "settledAt": waiting["settled_at"],
                    "outcome": waiting["outcome"],
                    "sentence": waiting_sentence(waiting),
                },
                "failure": None
                if failure is None
                else {
                    "attempts": failure.attempts,
                    "firstAttemptAt": failure.first_attempt_at.isoformat(),
                    "lastAttemptAt": failure.last_attempt_at.isoformat(),
                    "errorCode": failure.error_code,
                    "lastError": failure.last_error,
                    "resolvedAt": failure.resolved_at.isoformat() if failure.resolved_at else None,
                },
                "history": [
                    {"at": r["attempted_at"], "errorCode": r["error_code"], "error": r["error"]}
                    for r in ledger.attempt_history(found_shop, order_id)
                ],
                "versions": [
                    {
                        "version": row["version"],
                        "status": row["status"],
                        "tags": json.loads(row["tags"]),
                        "importedAt": row["imported_at"],
                    }
                    for row in versions
                ],
                "payload": _shown(payload),
            }
        )
    return stories


def _shown(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [_shown(item) for item in value]
    if isinstance(value, dict):
        return {key: _shown(item) for key, item in value.items()}
    return value


__all__ = [
    "OrderOutcome",
    "RetryReport",
    "StuckReport",
    "describe_order",
    "find_stuck",
    "refresh",
    "reimport",
    "retry_outstanding",
]
