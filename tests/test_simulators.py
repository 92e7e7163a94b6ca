"""The simulators behave like the platforms they play (paging, bounds, limits, auth, errors)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
import requests
from conftest import simulator

from pipeline.errors import ConfigurationError
from pipeline.models import Platform
from pipeline.simulators import Faults, OrderCatalog, ShopifySimulator

T0 = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
SHOPIFY_ORDERS = "/admin/api/2024-10/orders.json"
TOKEN = {"X-Shopify-Access-Token": "shpat_simulated"}


def catalog_at(*offsets_ms: int) -> OrderCatalog:
    catalog = OrderCatalog()
    for offset in offsets_ms:
        catalog.add(T0 + timedelta(milliseconds=offset))
    return catalog


def test_shopify_requires_its_access_token() -> None:
    with simulator(Platform.SHOPIFY, catalog_at(0)) as sim:
        response = requests.get(sim.url + SHOPIFY_ORDERS, timeout=5)
        assert response.status_code == 401
        assert "Invalid API key or access token" in response.json()["errors"]


def test_shopify_hides_closed_orders_unless_status_any() -> None:
    catalog = catalog_at(0, 1000)
    catalog.update(0, fulfilled=True)
    with simulator(Platform.SHOPIFY, catalog) as sim:
        default = requests.get(sim.url + SHOPIFY_ORDERS, headers=TOKEN, timeout=5).json()
        every = requests.get(
            sim.url + SHOPIFY_ORDERS, params={"status": "any"}, headers=TOKEN, timeout=5
        ).json()
    assert len(default["orders"]) == 1 and len(every["orders"]) == 2


def test_shopify_bounds_are_inclusive_and_compare_exact_times_shown_to_the_second() -> None:
    # 12:00:00.000, 12:00:00.500, 12:00:01.000: the middle one is lost between ..00 and ..01
    with simulator(Platform.SHOPIFY, catalog_at(0, 500, 1000)) as sim:

        def names(low: str, high: str) -> list[str]:
            body = requests.get(
                sim.url + SHOPIFY_ORDERS,
                params={"status": "any", "created_at_min": low, "created_at_max": high},
                headers=TOKEN,
                timeout=5,
            ).json()
            return [o["name"] for o in body["orders"]]

        first = names("2026-11-20T11:00:00Z", "2026-11-20T12:00:00Z")
        second = names("2026-11-20T12:00:01Z", "2026-11-20T13:00:00Z")
        both = names("2026-11-20T11:00:00Z", "2026-11-20T13:00:00Z")
        created = requests.get(
            sim.url + SHOPIFY_ORDERS, params={"status": "any"}, headers=TOKEN, timeout=5
        )
    assert first == ["#1001"] and second == ["#1003"], "seed 002's one-second gap"
    assert both == ["#1001", "#1002", "#1003"]
    assert created.json()["orders"][1]["created_at"] == "2026-11-20T07:00:00-05:00"


def test_shopify_link_paging_allows_only_limit_with_page_info() -> None:
    catalog = OrderCatalog.generate(120, seed=2, start=T0, end=T0 + timedelta(hours=1))
    with simulator(Platform.SHOPIFY, catalog) as sim:
        seen: list[int] = []
        response = requests.get(
            sim.url + SHOPIFY_ORDERS,
            params={"status": "any", "limit": 50},
            headers=TOKEN,
            timeout=5,
        )
        while True:
            seen.extend(o["id"] for o in response.json()["orders"])
            if "next" not in response.links:
                break
            next_url = response.links["next"]["url"]
            response = requests.get(next_url, headers=TOKEN, timeout=5)
        refused = requests.get(next_url + "&status=any", headers=TOKEN, timeout=5)
        too_many = requests.get(
            sim.url + SHOPIFY_ORDERS, params={"limit": 251}, headers=TOKEN, timeout=5
        )
    assert len(seen) == 120 == len(set(seen))
    assert refused.status_code == 400 and "page_info" in refused.json()["errors"]
    assert too_many.status_code == 400


def test_shopify_leaky_bucket_answers_429_with_retry_after() -> None:
    sim = ShopifySimulator(catalog_at(0), bucket_size=3, leak_rate=0.5).start()
    try:
        answers = [
            requests.get(sim.url + SHOPIFY_ORDERS, headers=TOKEN, timeout=5) for _ in range(4)
        ]
    finally:
        sim.stop()
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[2].headers["X-Shopify-Shop-Api-Call-Limit"] == "3/3"
    assert float(answers[3].headers["Retry-After"]) > 0


def test_shoplazza_pages_by_next_token_and_speaks_its_errors() -> None:
    catalog = OrderCatalog.generate(25, seed=3, start=T0, end=T0 + timedelta(hours=1))
    with simulator(Platform.SHOPLAZZA, catalog) as sim:
        headers = {"Access-Token": "shoplazza_simulated"}
        url = sim.url + "/openapi/2022-01/orders"
        first = requests.get(url, headers=headers, timeout=5).json()
        ids = [o["id"] for o in first["orders"]]
        token = first["next_token"]
        while token:
            page = requests.get(
                url, params={"next_token": token}, headers=headers, timeout=5
            ).json()
            ids += [o["id"] for o in page["orders"]]
            token = page["next_token"]
        missing = requests.get(url + "/1580000000000000001", headers=headers, timeout=5)
        unauthorized = requests.get(url, timeout=5)
    assert len(first["orders"]) == 10, "default limit"
    assert len(ids) == 25 == len(set(ids)) and all(len(i) == 19 for i in ids)
    assert missing.status_code == 404 and missing.json() == {"error": "Unable to find resource"}
    assert unauthorized.status_code == 401


def test_sfcc_needs_a_fresh_token_and_caps_paging_depth() -> None:
    catalog = OrderCatalog.generate(30, seed=4, start=T0, end=T0 + timedelta(hours=1))
    with simulator(Platform.SFCC, catalog) as sim:
        unscoped = requests.post(
            sim.url + "/dwsso/oauth2/access_token",
            data={"grant_type": "client_credentials"},
            auth=("sfcc-client", "sfcc-secret"),
            timeout=5,
        )
        assert unscoped.status_code == 400 and unscoped.json()["error"] == "invalid_scope"
        token = requests.post(
            sim.url + "/dwsso/oauth2/access_token",
            data={"grant_type": "client_credentials",
                  "scope": "SALESFORCE_COMMERCE_API:zzxy_prd sfcc.orders"},
            auth=("sfcc-client", "sfcc-secret"),
            timeout=5,
        ).json()  # fmt: skip
        url = sim.url + "/checkout/orders/v1/organizations/f_ecom_zzxy_prd/orders"
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        page = requests.get(url, params={"siteId": "RefArch"}, headers=bearer, timeout=5).json()
        deep = requests.get(
            url,
            params={"siteId": "RefArch", "offset": 9900, "limit": 200},
            headers=bearer,
            timeout=5,
        )
        half_open = requests.get(
            url,
            params={
                "siteId": "RefArch",
                "creationDateFrom": page["data"][-1]["creationDate"],
                "creationDateTo": page["data"][0]["creationDate"],
            },
            headers=bearer,
            timeout=5,
        ).json()
        sim.expire_tokens()  # type: ignore[attr-defined]
        expired = requests.get(url, params={"siteId": "RefArch"}, headers=bearer, timeout=5)
        bad_client = requests.post(
            sim.url + "/dwsso/oauth2/access_token",
            data={"grant_type": "client_credentials"},
            auth=("sfcc-client", "wrong"),
            timeout=5,
        )
    assert token["token_type"] == "Bearer" and token["expires_in"] > 0
    assert page["total"] == 30 and len(page["data"]) == 30
    assert page["data"][0]["creationDate"] > page["data"][-1]["creationDate"], "newest first"
    assert deep.status_code == 400 and "10000" in deep.json()["detail"]
    assert half_open["total"] == 29, "creationDateFrom inclusive, creationDateTo exclusive"
    assert expired.status_code == 401 and bad_client.status_code == 401


def test_faults_are_parsed_or_refused_with_the_accepted_forms() -> None:
    faults = Faults.parse(["outage:5-10", "burst5xx:0.1", "late:0.2:30", "latency:0.01"])
    assert faults.outages[0].start == 5 and faults.burst_5xx_share == 0.1
    assert faults.late_share == 0.2 and faults.late_delay_seconds == 30
    with pytest.raises(ConfigurationError, match="outage:START-END"):
        Faults.parse(["outage:soon"])


def test_generated_orders_are_deterministic_and_carry_the_injected_flaws() -> None:
    faults = Faults(missing_address_share=0.5, unicode_share=0.5)
    one = OrderCatalog.generate(50, seed=9, start=T0, end=T0 + timedelta(hours=1), faults=faults)
    two = OrderCatalog.generate(50, seed=9, start=T0, end=T0 + timedelta(hours=1), faults=faults)
    now = datetime.now(UTC)
    a = one.created_between(None, None, high_inclusive=True, now=now)
    b = two.created_between(None, None, high_inclusive=True, now=now)
    assert [(o.created_at, o.email, o.address) for o in a] == [
        (o.created_at, o.email, o.address) for o in b
    ]
    assert any(o.address is None for o in a)
    assert any(any(ord(c) > 0x2000 for c in o.first_name + o.note) for o in a)


def test_graphql_cost_follows_shopifys_calculated_cost() -> None:
    from graphql import parse

    from pipeline.simulators.graphql_cost import CostBucket, answer_cost, query_cost

    document = parse("{ orders(first: 10) { nodes { id shippingAddress { city } } } }")
    assert query_cost(document, {}) == 2 + 10 * 1, "a connection: 2 + first x its node"
    variables = parse("query($n: Int) { orders(first: $n) { nodes { id } } }")
    assert query_cost(variables, {"n": 50}) == 2 + 50
    assert answer_cost({"orders": {"nodes": [{"id": "1"}, {"id": "2"}]}}) == 2 + 2
    bucket = CostBucket(maximum=100, restore_rate=0.0001)
    assert bucket.take(60)[0] and not bucket.take(60)[0], "more than what is left: THROTTLED"


@pytest.mark.parametrize("platform", list(Platform))
def test_the_merchant_changes_an_order_named_as_loginsights_names_it(platform: Platform) -> None:
    """`POST /_sim/orders/<ref>` takes the platform's order id (what `show` and `failures`
    print), Shopify's name too, or the catalog number; an unknown fact is a 400 naming it."""
    catalog = catalog_at(0, 1000)
    with simulator(platform, catalog) as sim:
        ref = quote(sorted(sim.order_refs(catalog.orders()[1]))[0], safe="")  # "#1002" too
        changed = requests.post(f"{sim.url}/_sim/orders/{ref}", json={"phone": None}, timeout=5)
        assert changed.status_code == 200 and changed.json()["number"] == 1
        assert catalog.orders()[1].phone is None and catalog.orders()[0].phone is not None
        wrong = requests.post(f"{sim.url}/_sim/orders/{ref}", json={"phnoe": "1"}, timeout=5)
        assert wrong.status_code == 400 and "'phnoe' is not a fact" in wrong.json()["errors"]
    if platform is Platform.SHOPIFY:
        assert {"#1002", "1002"} <= sim.order_refs(catalog.orders()[1])
