"""Orders stored wrong before loginsights knew better: found, read again, corrected, reported.

Two kinds, both from what the store already holds (no platform call to find them):

- **cut**: a Shopify order read over GraphQL before its line items were paged: its payload
  holds the first page (20) and no ``pageInfo``, or says more pages exist. Read again by id
  (whole now), it is stored as a new version when its lines differ.
- **taken live**: an order stored as created whose statuses now say it is not an order to ship
  (an SFCC order ``failed`` or ``created``, a voided payment): read again, it gets a new version,
  cancelled and tagged ``withdrawn``, and waits; once the platform shows it placed, the waiting
  look gives it a live version again. If the platform shows it placed already, nothing changes.

``audit`` only reports; ``fix=True`` corrects, and the report says what each correction was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import SourceRequestError
from pipeline.intake import OrderIntake, ShopContext
from pipeline.ledger import WaitingOrder
from pipeline.models import Platform
from pipeline.orders import (
    Disposition,
    Order,
    OrderStatus,
    UnmappableOrder,
    is_graphql_order,
    judge,
    to_order,
)
from pipeline.reports import Outcome

CUT_AT = 20  # line items the GraphQL connector read with each order before it paged them
WITHDRAWN_TAG = "withdrawn"


@dataclass(frozen=True)
class Correction:
    order_id: str
    kind: str  # "cut" or "taken live"
    found: str  # what the stored payload shows
    done: str  # what was done (or would be, without fix)


@dataclass
class CorrectionReport:
    shop: str
    examined: int = 0
    fixed: bool = False
    corrections: list[Correction] = field(default_factory=list)

    def summary(self) -> str:
        kinds = {k: sum(1 for c in self.corrections if c.kind == k) for k in ("cut", "taken live")}
        verb = "corrected" if self.fixed else "to correct (run again with --fix)"
        return (
            f"{self.shop}: examined {self.examined} stored orders; {kinds['cut']} stored with "
            f"their line items cut, {kinds['taken live']} taken live though not orders to ship; "
            f"{len(self.corrections)} {verb}"
        )


def suspicion(platform: Platform, row: Any) -> tuple[str, str] | None:
    """Why a stored order may be wrong (kind, what its payload shows), or None."""
    try:
        raw = json.loads(row["payload"])
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    graphql = platform is Platform.SHOPIFY and is_graphql_order(raw)
    if graphql:
        lines = raw.get("lineItems") or {}
        nodes = lines.get("nodes") or []
        info = lines.get("pageInfo")
        if (info is None and len(nodes) >= CUT_AT) or (info or {}).get("hasNextPage"):
            return "cut", f"{len(nodes)} line items stored and no proof they were all"
    judged = judge(platform, raw, graphql=graphql)
    if row["status"] == OrderStatus.CREATED.value and judged.disposition in (
        Disposition.WAIT,
        Disposition.REFUSE,
    ):
        return "taken live", f"stored as created though {judged.explanation}"
    return None


def audit(context: ShopContext, *, fix: bool = False) -> CorrectionReport:
    shop, platform = context.shop.name, context.source.platform
    report = CorrectionReport(shop, fixed=fix)
    for row in context.ledger.latest_orders(shop):
        report.examined += 1
        suspect = suspicion(platform, row)
        if suspect is None:
            continue
        kind, found = suspect
        order_id = row["order_id"]
        if not fix:
            report.corrections.append(Correction(order_id, kind, found, "not corrected yet"))
            continue
        done = _correct(context, row, kind)
        if done is not None:
            report.corrections.append(Correction(order_id, kind, found, done))
    return report


def _correct(context: ShopContext, row: Any, kind: str) -> str | None:
    """Read the order again and correct it; None when the platform's order is fine as stored."""
    order_id = row["order_id"]
    try:
        raw = context.source.fetch_order(order_id)
    except SourceRequestError as err:
        if err.status == 404:
            return "not found at the platform any more; left as stored"
        raise
    intake = OrderIntake(context)
    verdict = intake.verdict(raw, order_id)
    if isinstance(verdict, WaitingOrder):
        stored = to_order(context.source.platform, context.shop.name, json.loads(row["payload"]))
        withdrawn = stored.model_copy(
            update={
                "status": OrderStatus.CANCELLED,
                "tags": [*stored.tags, f"{WITHDRAWN_TAG}: {verdict.reason}"],
            }
        )
        version = context.ledger.refresh_order(withdrawn, raw)
        context.ledger.keep_waiting(verdict)
        return (
            f"version {version} cancelled and tagged {WITHDRAWN_TAG!r} ({verdict.detail}); it "
            "waits and gets a live version once the platform shows it placed"
        )
    if not isinstance(verdict, Order):
        intake.record(verdict, raw, force=True)
        context.flush()
        return f"read again, it fails: {verdict.error_code.value}; see `loginsights show`"
    if kind == "cut":
        before = _lines(context.source.platform, context.shop.name, row["payload"])
        after = len(verdict.line_items)
        if before == after:
            return None
        version = context.ledger.refresh_order(verdict, raw)
        return f"version {version} holds all {after} line items (version {version - 1}: {before})"
    return None


def restore_withdrawn(context: ShopContext, order_id: str, raw: dict[str, Any]) -> Outcome | None:
    """A withdrawn order the platform now shows placed gets a live version again (None: the
    order was never withdrawn; its ``already imported`` stands)."""
    versions = context.ledger.order_versions(context.shop.name, order_id)
    if not versions or not any(
        tag.startswith(WITHDRAWN_TAG) for tag in json.loads(versions[-1]["tags"])
    ):
        return None
    intake = OrderIntake(context)
    verdict = intake.verdict(raw, order_id)
    if isinstance(verdict, WaitingOrder):
        context.ledger.keep_waiting(verdict)
        return Outcome.WAITING
    if not isinstance(verdict, Order):
        return intake.record(verdict, raw)
    context.ledger.refresh_order(verdict, raw)
    return Outcome.REFRESHED


def _lines(platform: Platform, shop: str, payload: str) -> int:
    raw = json.loads(payload)
    lines = (raw.get("lineItems") or {}).get("nodes") or []
    try:
        return len(to_order(platform, shop, raw).line_items)
    except UnmappableOrder:
        return len(lines)


__all__ = [
    "WITHDRAWN_TAG",
    "Correction",
    "CorrectionReport",
    "audit",
    "restore_withdrawn",
    "suspicion",
]
