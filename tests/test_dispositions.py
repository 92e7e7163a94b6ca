"""Every status value the platforms publish has a deliberate entry: a new value is a red test.

The enums are read from the pinned artifacts themselves (Shopify's introspection dumps of every
pinned version, commerce-sdk's types), never from our own list of them.
"""

from __future__ import annotations

import functools

import pytest

from pipeline.contracts import SHOPIFY_ADMIN, Contracts
from pipeline.models import Platform
from pipeline.orders.dispositions import TABLES, Disposition, judge


@functools.cache
def shopify_enums(version: str) -> dict[str, set[str]]:
    """Every enum of one pinned dump (read once: a dump is ~1 s to load)."""
    types = Contracts().shopify_introspection(version)["__schema"]["types"]
    return {t["name"]: {v["name"] for v in t["enumValues"]} for t in types if t["kind"] == "ENUM"}


def shopify_enum(contracts: Contracts, version: str, name: str) -> set[str]:
    return shopify_enums(version)[name]


def pinned_shopify_versions(contracts: Contracts) -> list[str]:
    """Every pinned dump, ``unstable`` included: what a newer pin brings is seen here first."""
    folder = contracts.folder(SHOPIFY_ADMIN)
    return sorted(p.name[len("admin_") : -len(".json.gz")] for p in folder.glob("admin_*.json.gz"))


@pytest.mark.parametrize(
    "table",
    [t for tables in TABLES.values() for t in tables if t.contract],
    ids=lambda t: f"{t.platform.value}.{t.field}",
)
def test_every_value_of_a_published_enum_has_an_entry(table) -> None:  # type: ignore[no-untyped-def]
    contracts = Contracts()
    if table.platform is Platform.SFCC:
        published = {(table.contract, value) for value in contracts.sfcc_enum(table.contract)}
    else:
        published = {
            (version, value.lower() if not table.graphql else value)
            for version in pinned_shopify_versions(contracts)
            for value in shopify_enum(contracts, version, table.contract)
        }
    missing = sorted(
        f"{where}: {value}" for where, value in published if value not in table.entries
    )
    assert missing == [], f"{table.field}: published values without a deliberate entry"


def test_each_entry_is_a_value_the_contract_publishes_or_a_documented_older_word() -> None:
    """Entries are not invented: each names a value of the pinned artifact (REST's
    ``unfulfilled`` and Shoplazza's ``canceled`` are the older words kept on purpose)."""
    contracts = Contracts()
    kept = {"unfulfilled"}
    for tables in TABLES.values():
        for table in tables:
            if table.contract is None:
                continue
            if table.platform is Platform.SFCC:
                published = contracts.sfcc_enum(table.contract)
            else:
                published = {
                    v if table.graphql else v.lower()
                    for version in pinned_shopify_versions(contracts)
                    for v in shopify_enum(contracts, version, table.contract)
                }
            assert set(table.entries) - published - kept == set(), table.field


SFCC_PLACED = {
    "status": "new",
    "confirmationStatus": "confirmed",
    "paymentStatus": "not_paid",
    "exportStatus": "not_exported",
    "shippingStatus": "not_shipped",
}


@pytest.mark.parametrize(
    ("changes", "disposition", "reason"),
    [
        ({}, Disposition.IMPORT, ""),  # seed 004's sample: placed, confirmed, not paid yet
        ({"status": "created"}, Disposition.WAIT, "not_placed"),
        ({"status": "failed"}, Disposition.WAIT, "payment_failed"),
        ({"status": "completed"}, Disposition.COMPLETED, ""),
        ({"status": "cancelled"}, Disposition.CANCELLED, ""),
        ({"confirmationStatus": "not_confirmed"}, Disposition.WAIT, "not_confirmed"),
        ({"shippingStatus": "shipped"}, Disposition.COMPLETED, ""),
        ({"exportStatus": "exported"}, Disposition.IMPORT, ""),
        ({"status": None}, Disposition.WAIT, "no_status"),
        ({"status": "archived"}, Disposition.REFUSE, "unknown_status"),
        ({"status": "failed", "shippingStatus": "shipped"}, Disposition.COMPLETED, ""),
        ({"status": "cancelled", "confirmationStatus": "not_confirmed"}, Disposition.CANCELLED, ""),
    ],
)
def test_an_sfcc_order_ships_only_once_placed_and_confirmed(
    changes: dict[str, str | None], disposition: Disposition, reason: str
) -> None:
    raw = {**SFCC_PLACED, **changes}
    judged = judge(Platform.SFCC, {k: v for k, v in raw.items() if v is not None})
    assert (judged.disposition, judged.reason) == (disposition, reason)


@pytest.mark.parametrize(
    ("raw", "disposition", "reason"),
    [
        (
            {"displayFinancialStatus": "PAID", "displayFulfillmentStatus": "UNFULFILLED"},
            Disposition.IMPORT,
            "",
        ),
        (
            {"displayFinancialStatus": "VOIDED", "displayFulfillmentStatus": "UNFULFILLED"},
            Disposition.WAIT,
            "payment_voided",
        ),
        (
            {"displayFinancialStatus": "EXPIRED", "displayFulfillmentStatus": "UNFULFILLED"},
            Disposition.WAIT,
            "payment_expired",
        ),
        (
            {"displayFinancialStatus": None, "displayFulfillmentStatus": "UNFULFILLED"},
            Disposition.IMPORT,
            "",
        ),
        (
            {
                "displayFinancialStatus": "PAID",
                "displayFulfillmentStatus": "FULFILLMENT_NOT_REQUIRED",
            },
            Disposition.COMPLETED,
            "",
        ),
        (
            {
                "displayFinancialStatus": "VOIDED",
                "displayFulfillmentStatus": "UNFULFILLED",
                "cancelledAt": "2026-12-01T00:00:00Z",
            },
            Disposition.CANCELLED,
            "",
        ),
        (
            {"displayFinancialStatus": "PAID", "displayFulfillmentStatus": "TELEPORTED"},
            Disposition.REFUSE,
            "unknown_status",
        ),
    ],
)
def test_a_shopify_order_is_judged_by_payment_fulfilment_and_cancellation(
    raw: dict[str, str | None], disposition: Disposition, reason: str
) -> None:
    judged = judge(Platform.SHOPIFY, raw, graphql=True)
    assert (judged.disposition, judged.reason) == (disposition, reason)


def test_the_deciding_values_are_named_for_a_person() -> None:
    judged = judge(Platform.SFCC, {**SFCC_PLACED, "status": "failed"})
    assert judged.explanation == "status=failed"


@pytest.mark.parametrize(
    ("status", "disposition"),
    [
        ("opened", Disposition.WAIT),
        ("placed", Disposition.IMPORT),
        ("finished", Disposition.COMPLETED),
        ("cancelled", Disposition.CANCELLED),
    ],
)
def test_a_shoplazza_order_is_placed_before_it_ships(status: str, disposition: Disposition) -> None:
    raw = {"status": status, "financial_status": "paid", "fulfillment_status": "waiting"}
    assert judge(Platform.SHOPLAZZA, raw).disposition is disposition
