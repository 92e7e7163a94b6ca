"""The Shopify GraphQL connector against the simulator's GraphQL Admin API, over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import fast_transport, past_day, simulator
from pydantic import SecretStr

from pipeline.documents import failure_document
from pipeline.errors import SourceRequestError
from pipeline.intake import ShopContext
from pipeline.ledger import Ledger
from pipeline.models import LOG_DOCUMENT_FIELDS, FailedAttempt, Platform
from pipeline.orders import problems, raw_order_id, to_order
from pipeline.reconcile import reconcile
from pipeline.shops import ShopConfig
from pipeline.simulators import Faults, OrderCatalog, ShopifySimulator
from pipeline.sources.shopify import ShopifySource
from pipeline.sources.shopify_graphql import ShopifyGraphQLSource
from pipeline.windows import ImportWindow
from pipeline.worker import ImportWorker


def graphql_source(sim: ShopifySimulator, shop: str, **options: object) -> ShopifyGraphQLSource:
    return ShopifyGraphQLSource(
        shop, sim.url, SecretStr(sim.access_token), transport=fast_transport(shop), **options
    )  # type: ignore[arg-type]


def rest_source(sim: ShopifySimulator, shop: str) -> ShopifySource:
    return ShopifySource(shop, sim.url, SecretStr(sim.access_token), transport=fast_transport(shop))


@pytest.mark.parametrize("count", [0, 1, 19, 20, 21, 40, 41])
def test_paging_at_exact_boundaries_lists_every_order_once(count: int, shop: str) -> None:
    start, end = past_day(hours=2)
    catalog = OrderCatalog.generate(count, seed=count + 1, start=start, end=end)
    with simulator(Platform.SHOPIFY, catalog) as sim:
        source = graphql_source(sim, shop, page_size=20)
        listed = list(source.list_orders(ImportWindow(start=start, end=end)))
        assert source.count_orders(ImportWindow(start=start, end=end)) == (count, True)
    ids = [raw_order_id(Platform.SHOPIFY, raw) for raw in listed]
    assert len(ids) == len(set(ids)) == count
    times = [raw["createdAt"] for raw in listed]
    assert times == sorted(times), "sortKey: CREATED_AT"


def test_a_window_is_half_open(shop: str) -> None:
    start, end = past_day(hours=1)
    catalog = OrderCatalog.generate(0, seed=1, start=start, end=end)
    on_edge = catalog.add(end)
    inside = catalog.add(end - timedelta(seconds=1))
    with simulator(Platform.SHOPIFY, catalog) as sim:
        source = graphql_source(sim, shop)
        first = list(source.list_orders(ImportWindow(start=start, end=end)))
        second = list(source.list_orders(ImportWindow(start=end, end=end + timedelta(hours=1))))
    assert [o["name"] for o in first] == [f"#{1001 + inside.number}"]
    assert [o["name"] for o in second] == [f"#{1001 + on_edge.number}"]


def test_one_order_by_id_maps_like_its_rest_twin(shop: str) -> None:
    start, end = past_day(hours=1)
    catalog = OrderCatalog.generate(5, seed=3, start=start, end=end)
    with simulator(Platform.SHOPIFY, catalog) as sim:
        rest = ShopifySource(
            shop, sim.url, SecretStr(sim.access_token), transport=fast_transport(shop)
        )
        order_id = str(next(iter(rest.list_orders(ImportWindow(start=start, end=end))))["id"])
        via_graphql = to_order(
            Platform.SHOPIFY, shop, graphql_source(sim, shop).fetch_order(order_id)
        )
        via_rest = to_order(Platform.SHOPIFY, shop, rest.fetch_order(order_id))
    assert via_graphql.order_id == via_rest.order_id == order_id, "same id through both APIs"
    for field in ("name", "created_at", "email", "phone", "shipping_address", "status", "site_url",
                  "line_items", "total", "currency"):  # fmt: skip
        assert getattr(via_graphql, field) == getattr(via_rest, field), field


def test_a_graphql_failure_document_keeps_seed_000s_shape(shop: str) -> None:
    start, end = past_day(hours=1)
    catalog = OrderCatalog.generate(60, seed=4, start=start, end=end,
                                    faults=Faults(missing_address_share=0.2))  # fmt: skip
    with simulator(Platform.SHOPIFY, catalog) as sim:
        raws = list(graphql_source(sim, shop).list_orders(ImportWindow(start=start, end=end)))
    bad = next(raw for raw in raws if problems(to_order(Platform.SHOPIFY, shop, raw)))
    order = to_order(Platform.SHOPIFY, shop, bad)
    attempt = FailedAttempt(
        platform=Platform.SHOPIFY, shop=shop, order_id=order.order_id, order_name=order.name,
        order_created_at=order.created_at, error_message="no address", site=order.site_url,
    )  # fmt: skip
    doc = failure_document(attempt, ttl="+60DAYS", zone=ZoneInfo("America/New_York"), version=1)
    assert set(LOG_DOCUMENT_FIELDS) - {"timestamp", "expire_at"} <= set(doc)
    assert doc["site"].endswith("/authenticate?key="), "the key is emptied as in seed 000"
    assert doc["shopifyOrderName"].startswith("#") and doc["orderCreatedDate"].isdigit()


@pytest.mark.slow
def test_steady_work_is_never_throttled_and_uses_the_bucket(shop: str) -> None:
    start, end = past_day(hours=3)
    catalog = OrderCatalog.generate(150, seed=5, start=start, end=end)
    with simulator(Platform.SHOPIFY, catalog, graphql_maximum=1000.0,
                   graphql_restore_rate=250.0) as sim:  # fmt: skip
        source = graphql_source(sim, shop)
        listed = list(source.list_orders(ImportWindow(start=start, end=end)))
        throttled_at_shopify = sim.graphql.throttled
    assert len(listed) == 150
    assert source.throttled == 0 and throttled_at_shopify == 0
    assert source.cost.maximum == 1000.0 and source.cost.restore_rate == 250.0, "from the answers"
    assert source.cost.waited_seconds > 0, "the bucket was spent and waited for, not hit"


@pytest.mark.slow
def test_a_forced_throttled_waits_for_the_bucket_and_recovers(shop: str) -> None:
    start, end = past_day(hours=1)
    catalog = OrderCatalog.generate(40, seed=6, start=start, end=end)
    with simulator(Platform.SHOPIFY, catalog, graphql_maximum=1000.0,
                   graphql_restore_rate=500.0) as sim:  # fmt: skip
        assert sim.graphql.bucket.take(990)[0], "someone else spent the bucket"
        source = graphql_source(sim, shop)
        listed = list(source.list_orders(ImportWindow(start=start, end=end)))
    assert len(listed) == 40
    assert source.throttled >= 1 and source.transport.rate_limited >= 1


def test_a_window_older_than_60_days_without_read_all_orders_says_which_scope(shop: str) -> None:
    now = datetime.now(UTC)
    old = ImportWindow(start=now - timedelta(days=70), end=now - timedelta(days=69))
    catalog = OrderCatalog.generate(10, seed=7, start=old.start, end=old.end)
    with simulator(Platform.SHOPIFY, catalog) as sim:
        with pytest.raises(SourceRequestError, match="read_all_orders") as caught:
            list(graphql_source(sim, shop).list_orders(old))
        assert "empty" in str(caught.value)
    with simulator(Platform.SHOPIFY, catalog, scopes=("read_orders", "read_all_orders")) as sim:
        assert len(list(graphql_source(sim, shop).list_orders(old))) == 10


@pytest.mark.slow
def test_reconciliation_of_a_20k_order_day_lists_ids_in_bulk(tmp_path, shop: str) -> None:  # type: ignore[no-untyped-def]
    start, end = past_day(hours=24)
    catalog = OrderCatalog.generate(20_000, seed=8, start=start, end=end)
    with (
        simulator(Platform.SHOPIFY, catalog, bulk_seconds=0.2) as sim,
        Ledger(tmp_path / "ledger.sqlite3") as ledger,
    ):
        config = ShopConfig.model_validate(
            {"name": shop, "platform": "shopify", "base_url": sim.url, "start": start,
             "window_minutes": 24 * 60, "settle_lag_seconds": 0}
        )  # fmt: skip
        rest = ShopifySource(
            shop, sim.url, SecretStr(sim.access_token), transport=fast_transport(shop)
        )
        ImportWorker(ShopContext(config, rest, ledger)).import_range(start, end)
        source = graphql_source(sim, shop, bulk_poll_seconds=0.1)
        report = reconcile(ShopContext(config, source, ledger), end=end, hours=24)
    assert source.bulk_operations == 1, "a large day is listed with one bulk operation"
    assert report.at_source == 20_000 and report.already_imported == 20_000
    assert report.imported_now == 0


@pytest.mark.slow
def test_a_small_day_is_listed_by_paged_id_queries(tmp_path, shop: str) -> None:  # type: ignore[no-untyped-def]
    start, end = past_day(hours=24)
    catalog = OrderCatalog.generate(300, seed=9, start=start, end=end)
    with simulator(Platform.SHOPIFY, catalog) as sim, Ledger(tmp_path / "l.sqlite3") as ledger:
        config = ShopConfig.model_validate(
            {"name": shop, "platform": "shopify", "base_url": sim.url, "start": start,
             "window_minutes": 24 * 60, "settle_lag_seconds": 0}
        )  # fmt: skip
        source = graphql_source(sim, shop)
        report = reconcile(ShopContext(config, source, ledger), end=end, hours=24)
    assert source.bulk_operations == 0
    assert report.at_source == 300 and report.imported_now + report.failed_now == 300


# -- issue 17: the platform's own contract ---------------------------------------------------


def test_a_page_refused_as_too_costly_is_halved_until_it_fits(shop: str) -> None:
    start, end = past_day(hours=1)
    catalog = OrderCatalog.generate(90, seed=31, start=start, end=end)
    with simulator(Platform.SHOPIFY, catalog) as sim:
        source = graphql_source(sim, shop, page_size=250)
        listed = list(source.list_orders(ImportWindow(start=start, end=end)))
    assert len({raw["id"] for raw in listed}) == len(listed) == 90
    assert source.page_size < 250 and source.page_size * 48 <= 1000, "remembered for next time"


def test_a_count_that_is_only_a_lower_bound_takes_the_bulk_listing(shop: str) -> None:
    start, end = past_day(hours=1)
    catalog = OrderCatalog.generate(30, seed=32, start=start, end=end)
    with simulator(Platform.SHOPIFY, catalog, count_cap=10, bulk_seconds=0.05) as sim:
        source = graphql_source(sim, shop, bulk_poll_seconds=0.05)
        span = ImportWindow(start=start, end=end)
        assert source.count_orders(span) == (10, False)
        ids = [raw["id"] for raw in source.list_ids(span)]
    assert source.bulk_operations == 1, "AT_LEAST 10 of a 10,000 threshold is not 'few'"
    assert len(set(ids)) == 30


@pytest.mark.parametrize("version", ["2026-01", "2026-10"])
def test_up_to_five_bulk_operations_run_side_by_side_from_2026_01(version: str) -> None:
    import requests

    start, end = past_day(hours=1)
    catalog = OrderCatalog.generate(5, seed=33, start=start, end=end)
    mutation = "mutation($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id } userErrors { message } } }"  # noqa: E501
    inner = "{ orders { edges { node { id } } } }"
    with simulator(Platform.SHOPIFY, catalog, bulk_seconds=30) as sim:
        assert isinstance(sim, ShopifySimulator)
        started = []
        for _ in range(6):
            answer = requests.post(
                f"{sim.url}/admin/api/{version}/graphql.json",
                json={"query": mutation, "variables": {"q": inner}},
                headers={"X-Shopify-Access-Token": sim.access_token},
                timeout=10,
            ).json()
            started.append(answer["data"]["bulkOperationRunQuery"]["bulkOperation"])
    assert [op is not None for op in started] == [True] * 5 + [False]


def test_an_unsupported_version_is_answered_by_another_and_logged_once(
    shop: str, caplog: pytest.LogCaptureFixture
) -> None:
    start, end = past_day(hours=1)
    catalog = OrderCatalog.generate(45, seed=34, start=start, end=end)
    with simulator(Platform.SHOPIFY, catalog) as sim:
        source = graphql_source(sim, shop, api_version="2024-07")
        with caplog.at_level("WARNING"):
            assert len(list(source.list_orders(ImportWindow(start=start, end=end)))) == 45
    assert source.served_version not in (None, "2024-07")
    warnings = [r for r in caplog.records if "falls forward" in r.getMessage()]
    assert len(warnings) == 1 and shop in warnings[0].getMessage()


def test_a_bulk_file_shorter_than_its_count_is_an_error_not_a_complete_listing(shop: str) -> None:
    from pipeline.errors import SourceUnavailableError

    start, end = past_day(hours=1)
    catalog = OrderCatalog.generate(30, seed=35, start=start, end=end)
    with simulator(Platform.SHOPIFY, catalog, bulk_seconds=0.05) as sim:
        assert isinstance(sim, ShopifySimulator)
        sim.graphql.bulk_truncate = 3
        source = graphql_source(sim, shop, bulk_above=5, bulk_poll_seconds=0.05)
        with pytest.raises(SourceUnavailableError, match="held 27 of the 30 orders"):
            list(source.list_ids(ImportWindow(start=start, end=end)))


# -- issue 27: an order is stored whole or not at all ----------------------------------------


def stored_lines(ledger: Ledger, shop: str, order_id: str) -> list[tuple[str, int, str]]:
    """The line items of the stored order (sku, quantity, price), read back from the ledger."""
    import json

    payload = json.loads(ledger.order_versions(shop, order_id)[-1]["payload"])
    order = to_order(Platform.SHOPIFY, shop, payload)
    return [(item.sku, item.quantity, str(item.price)) for item in order.line_items]


def catalog_lines(order) -> list[tuple[str, int, str]]:  # type: ignore[no-untyped-def]
    return [(item["sku"], item["quantity"], item["price"]) for item in order.items]


def graphql_worker(sim: ShopifySimulator, shop: str, ledger: Ledger, start: datetime):  # type: ignore[no-untyped-def]
    """A GraphQL worker on the ledger's clock."""
    config = ShopConfig.model_validate(
        {"name": shop, "platform": "shopify", "base_url": sim.url, "start": start,
         "window_minutes": 60, "settle_lag_seconds": 0}
    )  # fmt: skip
    return ImportWorker(ShopContext(config, graphql_source(sim, shop), ledger, clock=ledger.clock))


@pytest.mark.parametrize("lines", [20, 21, 25, 250, 251, 300])
def test_an_order_of_many_line_items_is_stored_with_every_one(
    lines: int, shop: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    start, end = past_day(hours=1)
    catalog = OrderCatalog.generate(0, seed=1, start=start, end=end)
    items = [{"sku": f"SKU-{n}", "title": f"Part {n}", "price": f"{n}.25", "quantity": 1 + n % 3}
             for n in range(lines)]  # fmt: skip
    order = catalog.add(start + timedelta(minutes=5), items=items)
    with simulator(Platform.SHOPIFY, catalog) as sim, Ledger(tmp_path / "l.sqlite3") as ledger:
        graphql_worker(sim, shop, ledger, start).import_range(start, end)
        order_id = str(5_500_000_000_000 + order.number)
        assert stored_lines(ledger, shop, order_id) == catalog_lines(order)


def test_a_line_item_page_that_cannot_be_read_fails_the_order_and_it_is_read_again_whole(
    shop: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    start, end = past_day(hours=1)
    catalog = OrderCatalog.generate(0, seed=1, start=start, end=end)
    items = [
        {"sku": f"SKU-{n}", "title": "Part", "price": "1.00", "quantity": 1} for n in range(25)
    ]
    order = catalog.add(start + timedelta(minutes=5), items=items)
    order_id = str(5_500_000_000_000 + order.number)
    # call 1 lists the order with its first 20 lines; calls 2-40 (the rest of them) answer 503
    faults = Faults.parse(["outage-requests:2-40"])
    now = [datetime.now(UTC)]
    with (
        simulator(Platform.SHOPIFY, catalog, faults) as sim,
        Ledger(tmp_path / "l.db", clock=lambda: now[0]) as ledger,
    ):
        worker = graphql_worker(sim, shop, ledger, start)
        reports = worker.import_range(start, end)
        assert sum(r.failed for r in reports) == 1 and not ledger.has_order(shop, order_id)
        failure = ledger.failure(shop, order_id)
        assert failure is not None and failure.error_code == "incomplete_order"
        assert "20 of its lineItems" in failure.last_error
        assert ledger.checkpoint(shop) == end, "a failed order never holds the checkpoint back"
        waiting = ledger.waiting_order(shop, order_id)
        assert waiting is not None and waiting["reason"] == "incomplete"
        sim.faults = Faults()
        assert worker.look_again().orders == 0, "its first look is a minute later"
        now[0] += timedelta(minutes=11)
        looked = worker.look_again()
        assert looked.imported == 1
        assert stored_lines(ledger, shop, order_id) == catalog_lines(order)
        resolved = ledger.failure(shop, order_id)
        assert resolved is not None and resolved.resolved_at is not None
        assert ledger.waiting_order(shop, order_id)["outcome"] == "imported"  # type: ignore[index]


def test_every_connection_the_connector_reads_is_paged_to_its_end() -> None:
    """Not only lineItems: any connection in the order's selection must ask for pageInfo,
    or the mapping would read a first page as the whole list."""
    from graphql import get_named_type, parse

    from pipeline.contracts import Contracts
    from pipeline.simulators.shopify_schema import admin_schema
    from pipeline.sources.shopify_graphql import ORDER

    schema = admin_schema(Contracts(), "2026-10")
    unpaged: list[str] = []

    def walk(selection_set, parent, path: str) -> None:  # type: ignore[no-untyped-def]
        for node in selection_set.selections:
            field = parent.fields[node.name.value]
            kind = get_named_type(field.type)
            where = f"{path}.{node.name.value}"
            if kind.name.endswith("Connection"):
                asked = {s.name.value for s in node.selection_set.selections}
                if "pageInfo" not in asked:
                    unpaged.append(where)
            if node.selection_set is not None:
                walk(node.selection_set, kind, where)

    operation = parse(ORDER).definitions[0]
    walk(operation.selection_set, schema.query_type, "")  # type: ignore[attr-defined]
    assert unpaged == []


# -- issue 27: REST keeps the same rules ------------------------------------------------------


def test_rest_refuses_a_window_older_than_60_days_without_read_all_orders_checkpoint_unmoved(
    shop: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    old = ImportWindow(start=now - timedelta(days=70), end=now - timedelta(days=69))
    catalog = OrderCatalog.generate(10, seed=7, start=old.start, end=old.end)
    with simulator(Platform.SHOPIFY, catalog) as sim, Ledger(tmp_path / "l.db") as ledger:
        with pytest.raises(SourceRequestError, match="read_all_orders") as caught:
            list(rest_source(sim, shop).list_orders(old))
        assert "empty" in str(caught.value)
        config = ShopConfig.model_validate(
            {"name": shop, "platform": "shopify", "base_url": sim.url, "api": "rest",
             "start": old.start, "window_minutes": 60, "settle_lag_seconds": 0}
        )  # fmt: skip
        worker = ImportWorker(ShopContext(config, rest_source(sim, shop), ledger))
        with pytest.raises(SourceRequestError):
            worker.import_range(old.start, old.end)
        assert ledger.checkpoint(shop) is None
    with simulator(Platform.SHOPIFY, catalog, scopes=("read_orders", "read_all_orders")) as sim:
        assert len(list(rest_source(sim, shop).list_orders(old))) == 10


@pytest.mark.parametrize("platform", [Platform.SHOPIFY, Platform.SHOPLAZZA])
def test_an_inclusive_upper_bound_still_makes_half_open_windows(
    platform: Platform, shop: str
) -> None:
    """Shopify REST's created_at_max and Shoplazza's are inclusive: an order created exactly at
    a window's end is listed by the next window only."""
    from conftest import source_for

    start, end = past_day(hours=1)
    catalog = OrderCatalog.generate(0, seed=1, start=start, end=end)
    on_edge = catalog.add(end)
    inside = catalog.add(end - timedelta(seconds=1))
    with simulator(platform, catalog) as sim:
        source = source_for(sim, shop)
        first = list(source.list_orders(ImportWindow(start=start, end=end)))
        second = list(source.list_orders(ImportWindow(start=end, end=end + timedelta(hours=1))))
    from pipeline.simulators.shopify_orders import ID_BASE
    from pipeline.simulators.shoplazza import order_id as shoplazza_id

    def expected(order) -> str:  # type: ignore[no-untyped-def]
        if platform is Platform.SHOPIFY:
            return str(ID_BASE + order.number)
        return shoplazza_id(order.number)

    assert [raw_order_id(platform, o) for o in first] == [expected(inside)]
    assert [raw_order_id(platform, o) for o in second] == [expected(on_edge)]
