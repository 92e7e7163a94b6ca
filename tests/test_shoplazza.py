"""Shoplazza as its published reference describes it, in both dated versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import fast_transport, simulator
from pydantic import SecretStr

from pipeline.models import Platform
from pipeline.orders import to_order
from pipeline.simulators import OrderCatalog, ShoplazzaSimulator
from pipeline.sources.shoplazza import ShoplazzaSource
from pipeline.windows import ImportWindow

T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
WINDOW = ImportWindow(start=T0 + timedelta(hours=1), end=T0 + timedelta(hours=2))


def source(sim: ShoplazzaSimulator, version: str, page_size: int = 10) -> ShoplazzaSource:
    return ShoplazzaSource("shop-a", sim.url, SecretStr(sim.access_token), api_version=version,
                           page_size=page_size, transport=fast_transport("shop-a"))  # fmt: skip


def test_2022_01_pages_repeat_the_query_conditions_with_the_next_token() -> None:
    orders = OrderCatalog.generate(300, seed=8, start=T0, end=T0 + timedelta(hours=3))
    with simulator(Platform.SHOPLAZZA, orders) as sim:
        assert isinstance(sim, ShoplazzaSimulator)
        listed = list(source(sim, "2022-01", page_size=25).list_orders(WINDOW))
        calls = [c for c in sim.recent if c.path.endswith("/orders")]
    with_token = [c for c in calls if c.param("next_token")]
    assert with_token, "more than one page"
    assert all(c.param("created_at_min") and c.param("created_at_max") for c in with_token)
    created = [to_order(Platform.SHOPLAZZA, "shop-a", raw).created_at for raw in listed]
    assert created and all(WINDOW.start <= moment <= WINDOW.end for moment in created), (
        "every page stays inside the window (a token alone would page past its end)"
    )


def test_a_2022_01_token_without_the_conditions_pages_the_whole_shop() -> None:
    """What the simulator does with a bare token: the reason the connector repeats them."""
    import requests

    orders = OrderCatalog.generate(40, seed=9, start=T0, end=T0 + timedelta(hours=3))
    with simulator(Platform.SHOPLAZZA, orders) as sim:
        assert isinstance(sim, ShoplazzaSimulator)
        headers = {"Access-Token": sim.access_token}
        url = f"{sim.url}/openapi/2022-01/orders"
        window = {"created_at_min": WINDOW.start.isoformat(),
                  "created_at_max": WINDOW.end.isoformat()}  # fmt: skip
        first = requests.get(url, params={**window, "limit": 2}, headers=headers, timeout=10)
        token = first.json()["next_token"]
        bare = requests.get(url, params={"limit": 250, "next_token": token}, headers=headers,
                            timeout=10).json()  # fmt: skip
        kept = requests.get(url, params={**window, "limit": 250, "next_token": token},
                            headers=headers, timeout=10).json()  # fmt: skip
    assert len(bare["orders"]) > len(kept["orders"])


@pytest.mark.parametrize("version", ["2026-01", "2022-01"])
def test_line_items_are_mapped_with_their_titles_in_both_versions(version: str) -> None:
    orders = OrderCatalog.generate(20, seed=10, start=WINDOW.start, end=WINDOW.end)
    with simulator(Platform.SHOPLAZZA, orders) as sim:
        assert isinstance(sim, ShoplazzaSimulator)
        listed = list(source(sim, version).list_orders(WINDOW))
    items = [item for raw in listed for item in raw["line_items"]]
    # the published line item, in both versions: product_title and variant_title, no title
    assert all("product_title" in item and "title" not in item for item in items), version
    mapped = [to_order(Platform.SHOPLAZZA, "shop-a", raw) for raw in listed]
    titles = [line.title for order in mapped for line in order.line_items]
    assert titles and all(titles), "no line item without its title"


@pytest.mark.parametrize(("version", "word"), [("2026-01", "shipped"), ("2022-01", "finished")])
def test_a_shipped_order_is_fulfilled_in_either_versions_words(version: str, word: str) -> None:
    orders = OrderCatalog.generate(30, seed=11, start=WINDOW.start, end=WINDOW.end)
    shipped = orders.created_between(None, None, high_inclusive=True, now=datetime.now(UTC))[0]
    orders.update(shipped.number, fulfilled=True)
    with simulator(Platform.SHOPLAZZA, orders) as sim:
        assert isinstance(sim, ShoplazzaSimulator)
        listed = list(source(sim, version).list_orders(WINDOW))
    raw = next(r for r in listed if r["fulfillment_status"] == word)
    assert to_order(Platform.SHOPLAZZA, "shop-a", raw).platform_fulfilled
