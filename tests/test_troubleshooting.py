"""Seed 001's flows: re-import a fixed order, refresh one, find stuck ones, retry, show."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from conftest import SolrUnderTest, past_day, select, simulator, wait_for, worker_for_sim

from pipeline.flusher import OutboxFlusher
from pipeline.ledger import OLD_VERSION_TAG, Ledger
from pipeline.models import Platform
from pipeline.simulators import OrderCatalog, SimOrder, SimulatorServer
from pipeline.troubleshooting import (
    describe_order,
    find_stuck,
    refresh,
    reimport,
    retry_outstanding,
)
from pipeline.worker import ImportWorker


class Shop:
    """A Shopify simulator with a few chosen orders, and a worker that imported them once."""

    def __init__(self, sim: SimulatorServer, catalog: OrderCatalog, worker: ImportWorker) -> None:
        self.sim, self.catalog, self.worker = sim, catalog, worker

    def order_id(self, order: SimOrder) -> str:
        return str(self.sim.render(order)["id"])  # type: ignore[attr-defined]


@pytest.fixture
def day() -> tuple[datetime, datetime]:
    return past_day(hours=1)


@pytest.fixture
def catalog(day: tuple[datetime, datetime]) -> OrderCatalog:
    start, end = day
    return OrderCatalog.generate(20, seed=31, start=start, end=end)


@pytest.fixture
def shopify(
    catalog: OrderCatalog,
    day: tuple[datetime, datetime],
    ledger: Ledger,
    flusher: OutboxFlusher,
    shop: str,
) -> Iterator[Shop]:
    start, _ = day
    with simulator(Platform.SHOPIFY, catalog) as sim:
        yield Shop(sim, catalog, worker_for_sim(sim, shop, ledger, start=start, flusher=flusher))


def place(shop: Shop, day: tuple[datetime, datetime], minutes: int, **facts: object) -> SimOrder:
    return shop.catalog.add(day[0] + timedelta(minutes=minutes, seconds=7), **facts)


def import_day(shop: Shop, day: tuple[datetime, datetime]) -> None:
    shop.worker.import_range(*day)


def failure_doc(solr: SolrUnderTest, shop: str, order_id: str) -> dict:  # type: ignore[type-arg]
    docs = select(solr.url, q=f"orderId:{order_id}", fq=f"shop:{shop}", fl="*")["response"]["docs"]
    return docs[0] if docs else {}


def test_reimport_after_the_merchant_fixed_the_order_resolves_it(
    shopify: Shop, day: tuple[datetime, datetime], ledger: Ledger, solr: SolrUnderTest, shop: str
) -> None:
    broken = place(shopify, day, 10, address=None)
    import_day(shopify, day)
    order_id = shopify.order_id(broken)
    assert ledger.failure(shop, order_id) is not None
    assert wait_for(lambda: failure_doc(solr, shop, order_id), seconds=10)

    good = shopify.catalog.add(day[0] + timedelta(minutes=50))
    shopify.catalog.update(broken.number, address=good.address)
    outcome = reimport(shopify.worker.context, order_id)

    assert outcome.outcome == "imported"
    assert ledger.has_order(shop, order_id)
    failure = ledger.failure(shop, order_id)
    assert failure is not None and failure.resolved_at is not None
    doc = wait_for(
        lambda: (d := failure_doc(solr, shop, order_id)) and d["resolved"] and d, seconds=10
    )
    assert doc and doc["resolvedAt"], "the failure document is marked resolved, not deleted"
    assert doc["errorMessage"].startswith("Resolved "), "told apart with the documented fields"
    assert " after 1 attempt: " in doc["errorMessage"]


def test_reimport_of_an_order_still_broken_updates_its_failure(
    shopify: Shop, day: tuple[datetime, datetime], ledger: Ledger, solr: SolrUnderTest, shop: str
) -> None:
    broken = place(shopify, day, 11, phone=None, address=None)
    import_day(shopify, day)
    order_id = shopify.order_id(broken)
    first = wait_for(lambda: failure_doc(solr, shop, order_id), seconds=10)

    outcome = reimport(shopify.worker.context, order_id)

    assert outcome.outcome == "failed" and "address" in outcome.detail
    assert ledger.failure(shop, order_id).attempts == 2  # type: ignore[union-attr]
    doc = wait_for(
        lambda: (d := failure_doc(solr, shop, order_id)) and d["attempts"] == 2 and d, seconds=10
    )
    assert doc and doc["version"] > first["version"]
    assert doc["firstAttemptedImport"] == first["firstAttemptedImport"]


def test_reimport_of_an_unknown_order_says_so(shopify: Shop) -> None:
    outcome = reimport(shopify.worker.context, "999999999999")
    assert outcome.outcome == "not found"
    assert "999999999999" in outcome.detail and "admin" in outcome.detail


def test_refresh_makes_version_2_and_cancels_version_1_with_the_tag(
    shopify: Shop, day: tuple[datetime, datetime], ledger: Ledger, shop: str
) -> None:
    order = place(shopify, day, 12)
    import_day(shopify, day)
    order_id = shopify.order_id(order)
    shopify.catalog.update(order.number, fulfilled=True)

    outcome = refresh(shopify.worker.context, order_id)

    assert outcome.outcome == "refreshed" and outcome.version == 2
    versions = ledger.order_versions(shop, order_id)
    assert [(v["version"], v["status"]) for v in versions] == [(1, "cancelled"), (2, "completed")]
    assert OLD_VERSION_TAG in versions[0]["tags"]
    assert OLD_VERSION_TAG not in versions[1]["tags"]
    again = refresh(shopify.worker.context, order_id)
    assert again.outcome == "unchanged" and again.version == 2, "nothing changed: no version 3"
    assert [v["status"] for v in ledger.order_versions(shop, order_id)] == [
        "cancelled",
        "completed",
    ]
    shopify.catalog.update(order.number, cancelled=True)
    third = refresh(shopify.worker.context, order_id)
    assert third.outcome == "refreshed" and third.version == 3


def test_stuck_finds_the_pos_order_fulfilled_at_the_platform(
    shopify: Shop, day: tuple[datetime, datetime], ledger: Ledger, shop: str
) -> None:
    pos = place(shopify, day, 13, source="pos")
    web = place(shopify, day, 14)
    import_day(shopify, day)
    shopify.catalog.update(pos.number, fulfilled=True)
    pos_id, web_id = shopify.order_id(pos), shopify.order_id(web)

    report = find_stuck(shopify.worker.context)
    assert [s.order_id for s in report.stuck] == [pos_id]
    assert "fulfilled" in report.stuck[0].detail
    assert report.checked == ledger.count_orders(shop)

    fixed = find_stuck(shopify.worker.context, fix=True)
    assert [r.outcome for r in fixed.refreshed] == ["refreshed"]
    assert [v["status"] for v in ledger.order_versions(shop, pos_id)] == ["cancelled", "completed"]
    assert [v["status"] for v in ledger.order_versions(shop, web_id)] == ["created"]
    assert find_stuck(shopify.worker.context).stuck == []


def test_retry_resolves_the_fixed_orders_and_leaves_the_rest(
    shopify: Shop, day: tuple[datetime, datetime], ledger: Ledger, shop: str
) -> None:
    broken = [place(shopify, day, 20 + n, phone=None, address=None) for n in range(3)]
    import_day(shopify, day)
    good = shopify.catalog.add(day[0] + timedelta(minutes=40))
    for order in broken[:2]:
        shopify.catalog.update(order.number, phone=good.phone, address=good.address)

    outstanding = ledger.outstanding_failures(shop=shop)
    assert len(outstanding) == 3
    report = retry_outstanding({shop: shopify.worker.context}, outstanding)

    assert (report.retried, report.passed, report.still_failing) == (3, 2, 1)
    left = ledger.outstanding_failures(shop=shop)
    assert [f.order_id for f in left] == [shopify.order_id(broken[2])]


def test_show_tells_the_failure_history_and_the_raw_payload(
    shopify: Shop, day: tuple[datetime, datetime], shop: str
) -> None:
    broken = place(shopify, day, 30, address=None, note="Gift 🎁 — 礼物")
    import_day(shopify, day)
    order_id = shopify.order_id(broken)
    reimport(shopify.worker.context, order_id)
    raw = shopify.sim.render(broken)  # type: ignore[attr-defined]

    stories = describe_order(shopify.worker.context.ledger, raw["name"])
    assert [s["orderId"] for s in stories] == [order_id]
    story = stories[0]
    assert story["failure"]["attempts"] == 2 and story["failure"]["resolvedAt"] is None
    assert [h["errorCode"] for h in story["history"]] == ["missing_address"] * 2
    key = raw["order_status_url"].split("key=")[1]
    assert key and key not in json.dumps(story["payload"]), "the status page's key is emptied"
    shown = {**raw, "order_status_url": raw["order_status_url"].split("key=")[0] + "key="}
    assert story["payload"] == shown, "otherwise as the platform sent it, emoji and all"
    assert describe_order(shopify.worker.context.ledger, order_id, shop=shop) == stories
