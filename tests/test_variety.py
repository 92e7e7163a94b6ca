"""Orders from the whole space each platform's contract allows, through simulator, connector,
mapping and ledger: nothing dropped (every line, quantity and amount), nothing invented, and
each order stored, failed or waiting exactly as its statuses' entries say.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import fast_transport, past_day, simulator
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from pipeline.contracts import Contracts
from pipeline.intake import ShopContext
from pipeline.ledger import Ledger
from pipeline.models import Platform
from pipeline.orders import Disposition, is_graphql_order, judge, problems, to_order
from pipeline.shops import ShopConfig
from pipeline.simulators import Faults, OrderCatalog, SimOrder
from pipeline.simulators.variety import SFCC_ENUMS, SHOPLAZZA_WORDS, sfcc_values
from pipeline.sources.sfcc import SfccSource
from pipeline.sources.shopify import ShopifySource
from pipeline.sources.shopify_graphql import ShopifyGraphQLSource
from pipeline.sources.shoplazza import ShoplazzaSource
from pipeline.worker import ImportWorker

ROADS = ["shopify-graphql", "shopify-rest", "shoplazza-2026-01", "shoplazza-2022-01", "sfcc"]


def source(road: str, sim: Any, shop: str) -> Any:
    transport = fast_transport(shop)
    token = SecretStr(getattr(sim, "access_token", ""))
    if road == "shopify-graphql":
        return ShopifyGraphQLSource(shop, sim.url, token, transport=transport)
    if road == "shopify-rest":
        return ShopifySource(shop, sim.url, token, transport=transport)
    if road.startswith("shoplazza"):
        version = road.removeprefix("shoplazza-")
        return ShoplazzaSource(shop, sim.url, token, api_version=version, transport=transport)
    return SfccSource(
        shop, sim.url, auth_url=sim.url, organization_id=sim.organization_id,
        site_id=sim.site_id, client_id=sim.client_id,
        client_secret=SecretStr(sim.client_secret), transport=transport,
    )  # fmt: skip


def platform_of(road: str) -> Platform:
    return Platform(road.split("-")[0])


def lines_of(order: SimOrder) -> list[tuple[str, int, Decimal]]:
    return [(i["sku"], int(i["quantity"]), Decimal(str(i["price"]))) for i in order.items]


item = st.fixed_dictionaries(
    {
        "quantity": st.integers(0, 9),
        "price": st.decimals(0, 9999, places=2).map(lambda d: f"{d:.2f}"),
        "title": st.text(
            st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=30
        ),
    }
)
shaped = st.fixed_dictionaries(
    {
        "items": st.one_of(
            st.lists(item, min_size=1, max_size=3), st.lists(item, min_size=19, max_size=60)
        ),
        "vary": st.one_of(st.none(), st.integers(0, 2**31 - 1)),
        "source": st.sampled_from(["web", "pos"]),
        "fulfilled": st.booleans(),
        "cancelled": st.booleans(),
        "note": st.sampled_from(["", "请放在门口 🚪", "x" * 500]),
        "phone": st.sampled_from([None, "+16175550100"]),
    }
)


def import_all(road: str, orders: list[dict[str, Any]], tmp: Path) -> tuple[Any, Any, Ledger]:
    start, end = past_day(hours=1)
    catalog = OrderCatalog.generate(0, seed=1, start=start, end=end)
    added = []
    for n, facts in enumerate(orders):
        items = [
            {**line, "sku": f"SKU-{n}-{i}", "title": line["title"] or f"Part {i}"}
            for i, line in enumerate(facts["items"])
        ]
        added.append(
            catalog.add(start + timedelta(seconds=30 * (n + 1)), **{**facts, "items": items})
        )
    ledger = Ledger(tmp / f"{road}.sqlite3")
    sim = simulator(platform_of(road), catalog).__enter__()
    shop = "shop-v"
    config = ShopConfig.model_validate(
        {"name": shop, "platform": platform_of(road), "base_url": sim.url, "start": start,
         "window_minutes": 120, "settle_lag_seconds": 0}
    )  # fmt: skip
    worker = ImportWorker(ShopContext(config, source(road, sim, shop), ledger))
    try:
        worker.import_range(start, end)
    finally:
        sim.__exit__(None, None, None)
    return added, config, ledger


@pytest.mark.slow
@pytest.mark.parametrize("road", ROADS)
@settings(
    max_examples=10,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # each example runs a server: no shrink
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(orders=st.lists(shaped, min_size=1, max_size=5))
def test_every_generated_order_is_stored_whole_failed_or_waiting_never_cut_or_invented(
    road: str, orders: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    added, config, ledger = import_all(road, orders, tmp_path_factory.mktemp("v"))
    platform, shop = platform_of(road), config.name
    with ledger:
        stored = {row["order_id"]: row for row in ledger.latest_orders(shop)}
        failed = {f.order_id: f for f in ledger.failures(shop)}
        waiting = ledger.waiting_reasons(shop)
        assert len(stored) + len(failed) + len(waiting) == len(added), "nothing dropped"
        assert not (set(stored) & set(failed)) and not (set(stored) & set(waiting))
        by_id = {_platform_id(road, o): o for o in added}
        for order_id, row in stored.items():
            raw = json.loads(row["payload"])
            order = to_order(platform, shop, raw)
            facts = by_id[order_id]
            mapped = [(i.sku, i.quantity, i.price) for i in order.line_items]
            assert mapped == lines_of(facts), "every line, quantity and price, none invented"
            graphql = platform is Platform.SHOPIFY and is_graphql_order(raw)
            judged = judge(platform, raw, graphql=graphql)
            assert judged.disposition in (
                Disposition.IMPORT, Disposition.COMPLETED, Disposition.CANCELLED
            )  # fmt: skip
            assert (
                row["status"]
                == {
                    Disposition.IMPORT: "created",
                    Disposition.COMPLETED: "completed",
                    Disposition.CANCELLED: "cancelled",
                }[judged.disposition]
            )
            assert problems(order) == []
        for failure in failed.values():
            assert failure.error_code in ("missing_address", "missing_phone", "bad_email",
                                          "unknown_status", "invalid_order")  # fmt: skip


def _platform_id(road: str, order: SimOrder) -> str:
    from pipeline.simulators.shoplazza import order_id

    if road.startswith("shopify"):
        return str(5_500_000_000_000 + order.number)
    if road.startswith("shoplazza"):
        return order_id(order.number)
    return f"{order.number + 1:08d}"


@pytest.mark.parametrize(
    ("platform", "fields"),
    [
        (Platform.SFCC, SFCC_ENUMS),
        (Platform.SHOPLAZZA, SHOPLAZZA_WORDS),
    ],
)
def test_the_states_fault_draws_every_value_of_every_enum_and_absent(
    platform: Platform, fields: dict[str, Any]
) -> None:
    """Over enough orders the draw reaches every published value (and "absent" where the field
    is optional): the simulator generates the whole space, not the shapes we expect."""
    start = datetime(2026, 11, 20, tzinfo=UTC)
    catalog = OrderCatalog.generate(
        400, seed=2, start=start, end=start + timedelta(hours=4), faults=Faults(states_share=1.0)
    )
    with simulator(platform, catalog) as sim:
        rendered = [sim.render(order) for order in catalog.created_between(  # type: ignore[attr-defined]
            None, None, high_inclusive=True, now=datetime.now(UTC))]  # fmt: skip
    for name, enum in fields.items():
        seen = {order.get(name) for order in rendered}
        if platform is Platform.SFCC:
            assert seen == {None, *sfcc_values(Contracts(), enum)}, name
        else:
            assert seen == set(enum), name


def test_the_many_lines_fault_makes_orders_longer_than_a_page() -> None:
    start = datetime(2026, 11, 20, tzinfo=UTC)
    catalog = OrderCatalog.generate(
        40, seed=3, start=start, end=start + timedelta(hours=1), faults=Faults(many_lines_share=0.5)
    )
    orders = catalog.created_between(None, None, high_inclusive=True, now=datetime.now(UTC))
    longest = max(len(o.items) for o in orders)
    assert 20 < longest <= 300 and min(len(o.items) for o in orders) >= 1
