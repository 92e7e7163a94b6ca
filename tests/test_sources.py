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


@pytest.mark.slow
def test_sfcc_reads_on_past_the_10000_deep_offset_limit() -> None:
    orders = OrderCatalog.generate(10_500, seed=22, start=T0, end=T0 + timedelta(hours=2))
    with simulator(Platform.SFCC, orders) as sim:
        source = source_for(sim, "shop-a")
        listed = list(source.list_orders(ImportWindow(start=T0, end=T0 + timedelta(hours=2))))
    assert source.continuations == 1
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


# -- issue 12: SFCC as an Admin API client, Shoplazza's dated versions ----------------------


def sfcc_source(sim: SfccSimulator, shop: str, **options: object) -> SfccSource:
    return SfccSource(
        shop, sim.url, auth_url=sim.url, organization_id=sim.organization_id,
        site_id=sim.site_id, client_id=sim.client_id,
        client_secret=SecretStr(sim.client_secret), transport=fast_transport(shop),
        **options,  # type: ignore[arg-type]
    )  # fmt: skip


def test_sfcc_token_carries_the_tenant_scope_and_is_renewed_mid_window() -> None:
    orders = catalog()
    with simulator(Platform.SFCC, orders, token_ttl_seconds=31.0,
                   faults=Faults(latency_seconds=0.05)) as sim:  # fmt: skip
        assert isinstance(sim, SfccSimulator)
        source = sfcc_source(sim, "shop-a", page_size=20)
        source._token_expires = 0.0  # as if the first token were about to expire
        listed_ids = [raw_order_id(Platform.SFCC, raw) for raw in source.list_orders(WINDOW)]
        issued = sim.tokens_issued
    expected = orders.created_between(WINDOW.start, WINDOW.end, high_inclusive=False,
                                      now=datetime.now(UTC))  # fmt: skip
    assert len(listed_ids) == len(set(listed_ids)) == len(expected)
    assert issued >= 1


@pytest.mark.slow
def test_sfcc_expired_token_mid_window_is_renewed_on_401() -> None:
    orders = catalog()
    with simulator(Platform.SFCC, orders, token_ttl_seconds=0.3,
                   faults=Faults(latency_seconds=0.05)) as sim:  # fmt: skip
        assert isinstance(sim, SfccSimulator)
        source = sfcc_source(sim, "shop-a", page_size=10)
        count = sum(1 for _ in source.list_orders(WINDOW))
        issued = sim.tokens_issued
    assert count > 100 and issued >= 2, "the token expired under the reader and was renewed"


def test_sfcc_load_shedding_backs_off_and_completes() -> None:
    orders = catalog()
    with simulator(Platform.SFCC, orders, shed_load_calls=(2, 3)) as sim:
        assert isinstance(sim, SfccSimulator)
        source = sfcc_source(sim, "shop-a", page_size=50)
        count = sum(1 for _ in source.list_orders(WINDOW))
        shed = sim.throttled
    assert count > 200 and shed == 2
    assert source.transport.rate_limited == 2, "THROTTLE 503s counted as rate limiting"


def test_sfcc_failure_site_is_the_business_manager_order_link() -> None:
    with simulator(Platform.SFCC, catalog()) as sim:
        assert isinstance(sim, SfccSimulator)
        with_bm = sfcc_source(
            sim, "shop-a", business_manager_url="https://zzxy-001.dx.commercecloud.salesforce.com"
        )
        without = sfcc_source(sim, "shop-a")
    assert with_bm.order_admin_url("00001234") == (
        "https://zzxy-001.dx.commercecloud.salesforce.com/on/demandware.store/Sites-Site/"
        "default/ViewOrder_52-FindByNumber?OrderNo=00001234"
    )
    assert without.order_admin_url("00001234").endswith(
        f"/organizations/{sim.organization_id}/orders/00001234?siteId={sim.site_id}"
    )


@pytest.mark.parametrize("version", ["2026-01", "2022-01"])
@pytest.mark.parametrize("size", [1, 7, 10, 11])
def test_shoplazza_both_versions_page_exactly(version: str, size: int) -> None:
    from pipeline.sources.shoplazza import ShoplazzaSource

    orders = OrderCatalog.generate(size * 3, seed=size, start=WINDOW.start, end=WINDOW.end)
    with simulator(Platform.SHOPLAZZA, orders) as sim:
        source = ShoplazzaSource("shop-a", sim.url, SecretStr(sim.access_token),
                                 api_version=version, page_size=size,
                                 transport=fast_transport("shop-a"))  # fmt: skip
        ids = [raw_order_id(Platform.SHOPLAZZA, raw) for raw in source.list_orders(WINDOW)]
        calls = sim.calls
    assert len(ids) == len(set(ids)) == size * 3
    assert calls in (3, 4), "one call per page (2022-01 may end on an empty page)"


def test_shoplazza_answers_each_version_in_its_own_shape() -> None:
    import requests

    orders = OrderCatalog.generate(5, seed=2, start=WINDOW.start, end=WINDOW.end)
    with simulator(Platform.SHOPLAZZA, orders) as sim:
        headers = {"Access-Token": sim.access_token}
        old = requests.get(f"{sim.url}/openapi/2022-01/orders", params={"limit": 2},
                           headers=headers, timeout=10).json()  # fmt: skip
        new = requests.get(f"{sim.url}/openapi/2026-01/orders", params={"page_size": 2},
                           headers=headers, timeout=10).json()  # fmt: skip
    assert set(old) == {"count", "next_token", "orders"} and old["next_token"]
    assert set(new) == {"orders", "cursor", "has_more"} and new["has_more"] is True


def test_shoplazza_unsupported_version_is_a_clear_error() -> None:
    from pipeline.errors import ConfigurationError
    from pipeline.sources.shoplazza import ShoplazzaSource

    with pytest.raises(ConfigurationError, match="2026-01"):
        ShoplazzaSource("shop-a", "http://127.0.0.1:9", SecretStr("x"), api_version="2019-01")


@pytest.mark.slow
def test_shoplazza_default_bucket_is_paced_without_429s() -> None:
    from pipeline.sources.pacing import LeakyBucket
    from pipeline.sources.shoplazza import ShoplazzaSource
    from pipeline.sources.transport import ShopTransport

    orders = OrderCatalog.generate(60, seed=3, start=WINDOW.start, end=WINDOW.end)
    with simulator(Platform.SHOPLAZZA, orders, bucket_size=4, leak_rate=2.0) as sim:
        transport = ShopTransport("shop-a",
                                  budget=LeakyBucket(4, 2.0, margin=1.0))  # fmt: skip
        source = ShoplazzaSource("shop-a", sim.url, SecretStr(sim.access_token), page_size=5,
                                 transport=transport)  # fmt: skip
        count = sum(1 for _ in source.list_orders(WINDOW))
        throttled = sim.throttled
    assert count == 60 and throttled == 0 and transport.rate_limited == 0
