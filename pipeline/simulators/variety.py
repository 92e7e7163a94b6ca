"""Statuses drawn from the whole space a platform's published contract allows.

An order of the ``states`` fault (``SimOrder.vary``) takes each status field's value from every
value the contract names, and "absent" where the field is optional, rather than the live /
fulfilled / cancelled the simulators otherwise write. The values come from the artifacts
themselves (Shopify's introspection dump, commerce-sdk's types); Shoplazza publishes no
machine-readable contract, so its words are the reference pages' (read 2026-12-06).
A test's own choice (``SimOrder.states``) wins over the draw.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from pipeline.contracts import Contracts
from pipeline.simulators.catalog import SimOrder
from pipeline.sources.shopify_versions import supported_on

# Shoplazza's order-list reference (2022-01): the filters' words are the order's words.
SHOPLAZZA_WORDS: dict[str, tuple[str | None, ...]] = {
    "status": ("opened", "placed", "finished", "cancelled"),
    "financial_status": (
        "waiting", "paying", "paid", "cancelled", "failed", "refunding", "refund_failed",
        "refunded", "partially_refunded",
    ),
    "fulfillment_status": (
        "initialled", "waiting", "partially_shipped", "shipped", "partially_finished", "finished",
        "cancelled", "returning", "returned", "partially_returned",
    ),
}  # fmt: skip
SFCC_ENUMS = {
    "status": "OrderStatus",
    "confirmationStatus": "OrderConfirmationStatus",
    "paymentStatus": "OrderPaymentStatus",
    "shippingStatus": "OrderShippingStatus",
    "exportStatus": "OrderExportStatus",
    "channelType": "OrderChannelTypeEnum",
}
SHOPIFY_ENUMS = {
    "displayFinancialStatus": "OrderDisplayFinancialStatus",
    "displayFulfillmentStatus": "OrderDisplayFulfillmentStatus",
}
SHOPIFY_REST_FULFILLMENT = (None, "fulfilled", "partial", "restocked")

_cache: dict[tuple[str, str], tuple[str, ...]] = {}
_lock = threading.Lock()


def draw(order: SimOrder, key: str, values: Sequence[str | None]) -> str | None:
    """The order's value for ``key`` ("sfcc.status"), drawn from ``values`` by its seed."""
    rng = random.Random(f"{order.vary}:{key}")
    return values[rng.randrange(len(values))]


def chosen(order: SimOrder, key: str) -> bool:
    """Whether the order's value for ``key`` comes from a test or the draw (not the default)."""
    return key in order.states or order.vary is not None


def value(order: SimOrder, key: str, values: Sequence[str | None]) -> str | None:
    if key in order.states:
        return order.states[key]
    return draw(order, key, values)


def shopify_values(contracts: Contracts, enum: str) -> tuple[str, ...]:
    """An enum's values in the newest pinned Admin schema released by now (a pinned candidate
    is not served yet; older versions map what they lack)."""
    key = ("shopify", enum)
    with _lock:
        if key not in _cache:
            now = datetime.now(UTC)
            stable = [v for v in contracts.shopify_versions() if supported_on(v, now)]
            newest = (stable or contracts.shopify_versions())[-1]
            types = contracts.shopify_introspection(newest)["__schema"]["types"]
            found = next(t for t in types if t["name"] == enum)
            _cache[key] = tuple(sorted(v["name"] for v in found["enumValues"]))
        return _cache[key]


def sfcc_values(contracts: Contracts, enum: str) -> tuple[str, ...]:
    key = ("sfcc", enum)
    with _lock:
        if key not in _cache:
            _cache[key] = tuple(sorted(contracts.sfcc_enum(enum)))
        return _cache[key]


__all__ = [
    "SFCC_ENUMS",
    "SHOPIFY_ENUMS",
    "SHOPIFY_REST_FULFILLMENT",
    "SHOPLAZZA_WORDS",
    "chosen",
    "sfcc_values",
    "shopify_values",
    "value",
]
