"""What each published status value means for the order store: one table per platform.

Every value of every enum the mapping reads has a deliberate entry here, never a default: an
order is imported live, imported as completed or cancelled, kept aside because it is not an
order yet (it *waits* and is looked at again), or refused with an error code. A value no table
knows (a platform's new value, before loginsights learnt it) refuses the order with
``unknown_status``, so it is seen, never shipped by guess. tests/test_dispositions.py reads each
enum from the pinned artifacts (Shopify's introspection dumps, commerce-sdk's types) and fails
when one of its values has no entry here; Shoplazza publishes no machine-readable contract, so
its words follow its reference pages (read 2026-12-06, docs/platforms.md).

When several fields speak, the strongest wins: refused, then cancelled, then completed (nothing
more ships, whatever the payment says), then waiting, then live.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from pipeline.models import Platform


class Disposition(IntEnum):
    """What the store does with an order; a larger value wins over a smaller one."""

    IMPORT = 0  # a live order: stored as created, it ships
    WAIT = 1  # not an order to ship yet: kept aside, looked at again until it changes
    COMPLETED = 2  # stored as completed: nothing (more) ships
    CANCELLED = 3  # stored as cancelled
    REFUSE = 4  # refused: a failed attempt with an error code


@dataclass(frozen=True)
class Entry:
    disposition: Disposition
    reason: str = ""  # why it waits or is refused, in a word people and facets can use

    def __str__(self) -> str:
        return self.disposition.name.lower() + (f" ({self.reason})" if self.reason else "")


LIVE = Entry(Disposition.IMPORT)
DONE = Entry(Disposition.COMPLETED)
GONE = Entry(Disposition.CANCELLED)


def wait(reason: str) -> Entry:
    return Entry(Disposition.WAIT, reason)


@dataclass(frozen=True)
class StatusTable:
    """One enum field of a platform's order, and what each of its values means.

    ``contract`` names the enum in the pinned artifact (``None`` where the platform publishes
    none); ``absent`` is what an order without the field (or with null) means.
    """

    platform: Platform
    field: str
    contract: str | None
    entries: dict[str, Entry]
    absent: Entry = LIVE
    graphql: bool = False  # Shopify: the table is for GraphQL orders (else for REST orders)

    def entry(self, raw: dict[str, Any]) -> tuple[Entry | None, str | None]:
        """The entry for this order's value (None: a value the table does not know), and it."""
        value = raw.get(self.field)
        if value is None or value == "":
            return self.absent, None
        text = str(value)
        return self.entries.get(text), text


# -- Shopify (GraphQL Admin API; the REST words are the same, lower-cased) --------------------

SHOPIFY_FINANCIAL = {
    "AUTHORIZED": LIVE,  # payment validated, captured later: ships
    "PAID": LIVE,
    "PARTIALLY_PAID": LIVE,
    "PARTIALLY_REFUNDED": LIVE,
    "PENDING": LIVE,  # manual methods, cash on delivery: the merchant ships on their terms
    "REFUNDED": wait("refunded"),  # all money back and nothing shipped: ask the merchant
    "VOIDED": wait("payment_voided"),  # the authorization was released: nothing is paid
    "EXPIRED": wait("payment_expired"),  # not captured in time: nothing is paid
}
SHOPIFY_FULFILLMENT = {
    "UNFULFILLED": LIVE,
    "OPEN": LIVE,
    "PARTIALLY_FULFILLED": LIVE,  # the rest ships
    "IN_PROGRESS": LIVE,
    "PENDING_FULFILLMENT": LIVE,
    "SCHEDULED": LIVE,
    "ON_HOLD": LIVE,  # the merchant's hold: the order system shows it, it is still an order
    "REQUEST_DECLINED": LIVE,  # the fulfilment service declined: someone must ship it
    "RESTOCKED": DONE,  # every item back on the shelf: nothing ships
    "FULFILLED": DONE,
    "FULFILLMENT_NOT_REQUIRED": DONE,  # 2026-10: no item needs fulfilment (digital goods)
}
SHOPIFY_REST_FULFILLMENT = {
    "fulfilled": DONE,
    "partial": LIVE,
    "restocked": DONE,
    "unfulfilled": LIVE,  # older shops; today's answer is null
}

SHOPIFY_TABLES = (
    StatusTable(
        Platform.SHOPIFY,
        "displayFinancialStatus",
        "OrderDisplayFinancialStatus",
        SHOPIFY_FINANCIAL,
        graphql=True,
    ),  # null: no payment was asked for (a free order)
    StatusTable(
        Platform.SHOPIFY,
        "displayFulfillmentStatus",
        "OrderDisplayFulfillmentStatus",
        SHOPIFY_FULFILLMENT,
        graphql=True,
    ),
    StatusTable(
        Platform.SHOPIFY,
        "financial_status",
        "OrderDisplayFinancialStatus",
        {key.lower(): entry for key, entry in SHOPIFY_FINANCIAL.items()},
    ),
    StatusTable(Platform.SHOPIFY, "fulfillment_status", None, SHOPIFY_REST_FULFILLMENT),
)

# -- Salesforce Commerce Cloud (commerce-sdk's Checkout Orders types) ------------------------
#
# An order system takes an SFCC order once it is placed (``new``) and confirmed; SFCC's export
# flag (``exportStatus``) is how *one* order system tells SFCC it took the order, so it is read
# for what it says, not required: the seed's own sample is a placed order ``not_exported``.

SFCC_TABLES = (
    StatusTable(
        Platform.SFCC,
        "status",
        "OrderStatus",
        {
            "created": wait("not_placed"),  # "not yet placed": the checkout may still fail
            "new": LIVE,
            "completed": DONE,
            "cancelled": GONE,
            "failed": wait("payment_failed"),  # set when its payment fails; never ships
        },
        absent=wait("no_status"),
    ),
    StatusTable(
        Platform.SFCC,
        "confirmationStatus",
        "OrderConfirmationStatus",
        {"confirmed": LIVE, "not_confirmed": wait("not_confirmed")},
    ),
    StatusTable(
        Platform.SFCC,
        "paymentStatus",
        "OrderPaymentStatus",
        {"paid": LIVE, "part_paid": LIVE, "not_paid": LIVE},  # captured at shipping, often
    ),
    StatusTable(
        Platform.SFCC,
        "shippingStatus",
        "OrderShippingStatus",
        {"not_shipped": LIVE, "part_shipped": LIVE, "shipped": DONE},
    ),
    StatusTable(
        Platform.SFCC,
        "exportStatus",
        "OrderExportStatus",
        {"not_exported": LIVE, "ready": LIVE, "exported": LIVE, "failed": LIVE},
    ),
)

# -- Shoplazza (its reference: order-list 2022-01, order properties) --------------------------

SHOPLAZZA_TABLES = (
    StatusTable(
        Platform.SHOPLAZZA,
        "status",
        None,
        {
            "opened": wait("not_placed"),  # a checkout begun, not placed (placed_at null)
            "placed": LIVE,
            "finished": DONE,
            "cancelled": GONE,
            "canceled": GONE,
        },
        absent=wait("no_status"),
    ),
    StatusTable(
        Platform.SHOPLAZZA,
        "financial_status",
        None,
        {
            "waiting": LIVE,  # cash on delivery and other later payments
            "paying": LIVE,
            "paid": LIVE,
            "partially_refunded": LIVE,
            "refunding": wait("refunding"),
            "refund_failed": LIVE,
            "refunded": wait("refunded"),
            "cancelled": wait("payment_cancelled"),
            "failed": wait("payment_failed"),
        },
    ),
    StatusTable(
        Platform.SHOPLAZZA,
        "fulfillment_status",
        None,
        {
            "initialled": LIVE,
            "waiting": LIVE,
            "partially_shipped": LIVE,
            "partially_finished": LIVE,
            "shipped": DONE,
            "finished": DONE,
            "cancelled": GONE,
            "returning": DONE,
            "returned": DONE,
            "partially_returned": DONE,
        },
    ),
)

TABLES: dict[Platform, tuple[StatusTable, ...]] = {
    Platform.SHOPIFY: SHOPIFY_TABLES,
    Platform.SFCC: SFCC_TABLES,
    Platform.SHOPLAZZA: SHOPLAZZA_TABLES,
}


@dataclass(frozen=True)
class Judgement:
    """What the store does with one order, and the field values that decided it."""

    disposition: Disposition
    reason: str = ""
    because: tuple[str, ...] = ()  # "status=failed", ...

    @property
    def explanation(self) -> str:
        return ", ".join(self.because)


def judge(platform: Platform, raw: dict[str, Any], *, graphql: bool = False) -> Judgement:
    """The order's disposition from every status field its platform publishes.

    An unknown value refuses the order (``unknown_status``): seen by a person, never shipped
    by guess. A cancellation time (Shopify's ``cancelledAt``/``cancelled_at``, Shoplazza's
    ``canceled_at``) cancels the order whatever its statuses say.
    """
    found: list[tuple[Entry, str]] = []
    for table in TABLES[platform]:
        if platform is Platform.SHOPIFY and table.graphql != graphql:
            continue
        entry, value = table.entry(raw)
        said = f"{table.field}={value}" if value is not None else f"{table.field} absent"
        if entry is None:
            found.append((Entry(Disposition.REFUSE, "unknown_status"), said))
        else:
            found.append((entry, said))
    cancelled_key = {Platform.SHOPIFY: "cancelledAt" if graphql else "cancelled_at",
                     Platform.SHOPLAZZA: "canceled_at"}.get(platform)  # fmt: skip
    if cancelled_key and raw.get(cancelled_key):
        found.append((GONE, f"{cancelled_key}={raw[cancelled_key]}"))
    if not found:
        return Judgement(Disposition.IMPORT)
    strongest = max(entry.disposition for entry, _ in found)
    deciding = [(entry, said) for entry, said in found if entry.disposition is strongest]
    return Judgement(
        strongest,
        reason=deciding[0][0].reason,
        because=tuple(said for _, said in deciding),
    )


__all__ = [
    "TABLES",
    "Disposition",
    "Entry",
    "Judgement",
    "StatusTable",
    "judge",
]
