"""Connectors against the simulators over real HTTP: windows, paging, retries, auth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import fast_transport, simulator, source_for
from pydantic import SecretStr

from pipeline.errors import SourceRequestError, SourceUnavailableError
from pipeline.models import Platform
from pipeline.orders import raw_order_id
from pipeline.simulators import Faults, OrderCatalog, SfccSimulator
from pipeline.sources.sfcc import SfccSource
from pipeline.sources.shopify import ShopifySource
from pipeline.sources.transport import SOURCE_RETRY_POLICY, Action, action_for, listed
from pipeline.windows import ImportWindow

T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
WINDOW = ImportWindow(start=T0 + timedelta(hours=1), end=T0 + timedelta(hours=2))


def catalog() -> OrderCatalog:
    return OrderCatalog.generate(700, seed=21, start=T0, end=T0 + timedelta(hours=3))


@pytest.mark.parametrize("platform", list(Platform), ids=lambda p: p.value)
def test_each_connector_lists_exactly_the_orders_created_in_the_window(platform: Platform) -> None:
    orders = catalog()
    expected = orders.created_between(
        WINDOW.start, WINDOW.end, high_inclusive=False, now=datetime.now(UTC)
    )
    with simulator(platform, orders) as sim:
        source = source_for(sim, "shop-a")
        listed = list(source.list_orders(WINDOW))
        ids = [raw_order_id(platform, raw) for raw in listed]
        one = source.fetch_order(ids[0])  # type: ignore[arg-type]
    assert len(ids) == len(set(ids)) == len(expected) > 200, "more than one page"
    assert raw_order_id(platform, one) == ids[0]


def test_the_retry_policy_is_one_table() -> None:
    assert SOURCE_RETRY_POLICY[429] is Action.RATE_LIMITED
    assert action_for(503) is Action.RETRY and action_for(599) is Action.RETRY
    assert action_for(401) is Action.REFRESH_AUTH
    assert action_for(400) is Action.FAIL and action_for(404) is Action.FAIL


def test_5xx_bursts_are_retried_until_the_listing_is_complete() -> None:
    with simulator(Platform.SHOPIFY, catalog(), Faults(burst_5xx_share=0.3), seed=5) as sim:
        source = source_for(sim, "shop-a", attempts=10)
        source.page_size = 20  # about a dozen pages, so the bursts surely hit some
        listed = list(source.list_orders(WINDOW))
        assert sim.fault_replies > 0
    assert len({o["id"] for o in listed}) == len(listed) > 200


def test_a_persistent_outage_becomes_source_unavailable() -> None:
    with simulator(Platform.SHOPLAZZA, catalog(), Faults.parse(["outage:0-3600"])) as sim:
        source = source_for(sim, "shop-a", attempts=3)
        with pytest.raises(SourceUnavailableError, match="kept failing .*HTTP 503.* after 3 tries"):
            list(source.list_orders(WINDOW))
        assert sim.calls == 3


def test_wrong_credentials_fail_at_once_without_showing_the_secret() -> None:
    with simulator(Platform.SHOPIFY, catalog()) as sim:
        source = ShopifySource(
            "shop-a", sim.url, SecretStr("shpat_WRONG_SECRET"), transport=fast_transport("shop-a")
        )
        with pytest.raises(SourceRequestError, match="HTTP 401") as caught:
            list(source.list_orders(WINDOW))
        assert sim.calls == 1, "a 401 without a refresh is not retried"
    assert "WRONG_SECRET" not in str(caught.value)
    assert "access token variable" in str(caught.value)


def test_sfcc_renews_an_expired_token_once_and_carries_on() -> None:
    with simulator(Platform.SFCC, catalog()) as sim:
        assert isinstance(sim, SfccSimulator)
        source = source_for(sim, "shop-a")
        pages = source.list_orders(WINDOW)
        first = [next(pages) for _ in range(3)]
        sim.expire_tokens()
        rest = list(pages)
        assert sim.tokens_issued == 2
    assert len({o["orderNo"] for o in first + rest}) == len(first + rest) > 200


def test_sfcc_bad_client_secret_is_a_clear_configuration_error() -> None:
    with simulator(Platform.SFCC, catalog()) as sim:
        assert isinstance(sim, SfccSimulator)
        source = SfccSource(
            "shop-a",
            sim.url,
            auth_url=sim.url,
            organization_id=sim.organization_id,
            site_id=sim.site_id,
            client_id=sim.client_id,
            client_secret=SecretStr("NOT_THE_SECRET"),
            transport=fast_transport("shop-a"),
        )
        with pytest.raises(SourceRequestError, match="client id and secret") as caught:
            list(source.list_orders(WINDOW))
    assert "NOT_THE_SECRET" not in str(caught.value)


def test_sfcc_splits_a_window_deeper_than_10000_orders() -> None:
    orders = OrderCatalog.generate(10_500, seed=22, start=T0, end=T0 + timedelta(hours=2))
    with simulator(Platform.SFCC, orders) as sim:
        source = source_for(sim, "shop-a")
        listed = list(source.list_orders(ImportWindow(start=T0, end=T0 + timedelta(hours=2))))
    assert source.windows_split == 1
    assert len({o["orderNo"] for o in listed}) == len(listed) == 10_500


@pytest.mark.parametrize(
    "body",
    [{"errors": "Not Found"}, {"orders": None}, {"data": {"orders": []}}, ["orders"]],
    ids=["error body", "null", "other envelope", "not an object"],
)
def test_a_listing_without_its_orders_is_an_error_never_an_empty_window(body: object) -> None:
    with pytest.raises(SourceRequestError, match="answered without a 'orders' list") as caught:
        listed(body, "orders", shop="hc-demo", url="https://hc-demo.example/openapi/orders?x=1")
    assert "API version" in str(caught.value)
    assert "x=1" not in str(caught.value), "query strings (and any secrets in them) stay out"


def test_the_listing_list_is_returned_as_sent() -> None:
    orders = [{"id": "1"}, {"id": "2"}]
    assert listed({"orders": orders}, "orders", shop="s", url="https://s.example/o") is orders
