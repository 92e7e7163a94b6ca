"""The connectors, the mapping and the simulators held to what the platforms publish.

The oracle is never our own reading: Shopify's Admin GraphQL introspection dumps and
Salesforce's commerce-sdk types, pinned in ``pipeline/contracts.py``. When a pin is bumped,
these tests say what the new contract breaks.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from conftest import fast_transport, past_day, simulator, source_for
from graphql import (
    GraphQLSchema,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    parse,
    validate,
    visit,
)
from graphql.execution.values import get_variable_values
from pydantic import SecretStr

from pipeline.contracts import Contracts
from pipeline.errors import SourceRequestError
from pipeline.models import Platform
from pipeline.orders import raw_cancelled, raw_channel, raw_created_at, raw_order_id, to_order
from pipeline.simulators import OrderCatalog, SfccSimulator, ShopifySimulator, ShoplazzaSimulator
from pipeline.simulators.shopify_schema import admin_schema
from pipeline.sources.sfcc import SfccSource
from pipeline.sources.shopify_graphql import ShopifyGraphQLSource
from pipeline.sources.shopify_versions import (
    DEFAULT_API_VERSION,
    newest_stable,
    support_warning,
    supported_on,
)
from pipeline.sources.subscriptions import ShopifySubscriptions, ensure_subscribed
from pipeline.windows import ImportWindow

CONTRACTS = Contracts()
TODAY = datetime.now(UTC).date()
SUPPORTED = [v for v in CONTRACTS.shopify_versions() if supported_on(v, TODAY)]


# -- Shopify ----------------------------------------------------------------------------------


def sent_documents(scopes: tuple[str, ...] = ("read_orders",)) -> list[dict[str, Any]]:
    """Every GraphQL request the connector makes in its life, as it really makes them."""
    start, end = past_day(hours=2)
    catalog = OrderCatalog.generate(45, seed=2, start=start, end=end)
    window = ImportWindow(start=start, end=end)
    with simulator(
        Platform.SHOPIFY, catalog, scopes=scopes, bulk_seconds=0.05, webhook_secret="app-secret"
    ) as sim:
        assert isinstance(sim, ShopifySimulator)
        source = ShopifyGraphQLSource(
            "shop-a", sim.url, SecretStr(sim.access_token), transport=fast_transport("shop-a")
        )
        orders = list(source.list_orders(window))
        source.fetch_order(str(raw_order_id(Platform.SHOPIFY, orders[0])))
        list(source.list_ids(window))  # paged ids
        source.bulk_above = 10
        list(source.list_ids(window))  # bulk ids
        old = ImportWindow(start=start - timedelta(days=90), end=start - timedelta(days=89))
        with contextlib.suppress(SourceRequestError):  # the refusal is another test's
            list(source.list_orders(old))  # asks for the app's scopes first
        ensure_subscribed(ShopifySubscriptions(source), "https://li.example.com/webhooks/shopify")
        bodies = [json.loads(c.body) for c in sim.recent if c.path.endswith("/graphql.json")]
    inner = [b["variables"]["query"] for b in bodies if "bulkOperationRunQuery" in b["query"]]
    return bodies + [{"query": text, "variables": {}} for text in inner]


@pytest.fixture(scope="module")
def documents() -> list[dict[str, Any]]:
    return sent_documents()


def deprecated_fields(schema: GraphQLSchema, document: Any) -> list[str]:
    info, found = TypeInfo(schema), []

    class Deprecations(Visitor):
        def enter_field(self, node: Any, *_: Any) -> None:
            field = info.get_field_def()
            parent = info.get_parent_type()
            if field is not None and field.deprecation_reason:
                found.append(f"{parent}.{node.name.value}: {field.deprecation_reason}")

        def enter_argument(self, node: Any, *_: Any) -> None:
            argument = info.get_argument()
            if argument is not None and argument.deprecation_reason:
                found.append(f"argument {node.name.value}: {argument.deprecation_reason}")

    visit(document, TypeInfoVisitor(info, Deprecations()))
    return found


def test_the_default_is_the_newest_version_stable_today_and_is_pinned() -> None:
    """The calendar decides, the artifact's flags are a hint: a pinned schema of a version not
    yet released (a candidate) is validated but never the default, so a newer pin breaks
    nothing."""
    assert SUPPORTED, f"no pinned Shopify version is supported on {TODAY}: bump the pin"
    assert newest_stable(datetime.now(UTC)) == DEFAULT_API_VERSION
    assert DEFAULT_API_VERSION in CONTRACTS.shopify_versions(), "bump the pin to carry it"
    assert supported_on(DEFAULT_API_VERSION, TODAY)
    for version in CONTRACTS.shopify_versions():
        if version > DEFAULT_API_VERSION:
            assert not supported_on(version, datetime.now(UTC)), f"{version} is a candidate"


def test_a_version_is_released_at_17_utc_on_its_quarters_first_day() -> None:
    release = datetime(2027, 1, 1, 17, 0, tzinfo=UTC)
    assert newest_stable(release - timedelta(seconds=1)) == "2026-10"
    assert newest_stable(release) == "2027-01"
    assert not supported_on("2027-01", release - timedelta(minutes=1))
    assert supported_on("2026-01", release - timedelta(minutes=1))
    assert not supported_on("2026-01", release), "twelve months after its own release"
    warning = support_warning("s", "2027-01", release - timedelta(hours=1))
    assert warning is not None and "2027-01-01 17:00 UTC" in warning


def test_the_artifacts_flags_are_shown_beside_the_calendar_as_a_hint() -> None:
    from pipeline.contracts import version_calendar

    rows = {row["version"]: row for row in version_calendar(CONTRACTS, datetime.now(UTC))}
    assert rows[DEFAULT_API_VERSION]["default"] is True
    flagged = [v for v, row in rows.items() if row["flags"]]
    assert flagged, "dev-mcp's supported-versions-schema.json is kept in the cache"
    assert sum(row["default"] for row in rows.values()) == 1


def test_the_connector_sends_every_kind_of_document(documents: list[dict[str, Any]]) -> None:
    roots = {parse(d["query"]).definitions[0].selection_set.selections[0].name.value  # type: ignore[attr-defined]
             for d in documents}  # fmt: skip
    assert {"orders", "order", "ordersCount", "bulkOperationRunQuery", "bulkOperation",
            "currentAppInstallation", "webhookSubscriptions",
            "webhookSubscriptionCreate"} <= roots  # fmt: skip


@pytest.mark.parametrize("version", SUPPORTED)
def test_every_document_validates_against_the_published_schema(
    version: str, documents: list[dict[str, Any]]
) -> None:
    schema = admin_schema(CONTRACTS, version)
    for body in documents:
        document = parse(body["query"])
        problems = validate(schema, document)
        assert not problems, f"{version}: {problems[0].message} in {body['query'][:80]}"
        for operation in document.definitions:
            assert isinstance(operation, OperationDefinitionNode)
            coerced = get_variable_values(
                schema, operation.variable_definitions or (), body["variables"]
            )
            assert not isinstance(coerced, list), f"{version}: variables {coerced[0].message}"


@pytest.mark.parametrize("version", SUPPORTED)
def test_no_document_uses_a_deprecated_field(version: str, documents: list[dict[str, Any]]) -> None:
    schema = admin_schema(CONTRACTS, version)
    used = [f for body in documents for f in deprecated_fields(schema, parse(body["query"]))]
    assert used == []


def test_the_count_asks_for_no_cap_and_a_capped_count_means_more(
    documents: list[dict[str, Any]],
) -> None:
    counts = [d["query"] for d in documents if "ordersCount" in d["query"]]
    assert counts and all("limit: null" in text for text in counts)


class Recorder(dict):  # type: ignore[type-arg]
    """A payload that notes every key the mapping reads, with its path."""

    def __init__(self, value: dict[str, Any], path: str, seen: set[str]) -> None:
        super().__init__(value)
        self.path, self.seen = path, seen

    def _wrap(self, key: str, value: Any) -> Any:
        here = f"{self.path}.{key}" if self.path else key
        self.seen.add(here)
        if isinstance(value, dict):
            return Recorder(value, here, self.seen)
        if isinstance(value, list):
            return [Recorder(v, here, self.seen) if isinstance(v, dict) else v for v in value]
        return value

    def get(self, key: str, default: Any = None) -> Any:
        return self._wrap(key, super().get(key, default))

    def __getitem__(self, key: str) -> Any:
        return self._wrap(key, super().__getitem__(key))


def keys_read(platform: Platform, raw: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    for read in (raw_order_id, raw_created_at, raw_cancelled, raw_channel):
        read(platform, Recorder(raw, "", seen))  # type: ignore[operator]
    to_order(platform, "shop-a", Recorder(raw, "", seen))
    return seen


def paths(value: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            here = f"{prefix}.{key}" if prefix else key
            yield here
            yield from paths(inner, here)
    elif isinstance(value, list):
        for item in value:
            yield from paths(item, prefix)


def test_the_graphql_mapping_reads_only_what_the_connector_asks_for() -> None:
    start, end = past_day(hours=1)
    catalog = OrderCatalog.generate(30, seed=3, start=start, end=end)
    with simulator(Platform.SHOPIFY, catalog) as sim:
        assert isinstance(sim, ShopifySimulator)
        source = ShopifyGraphQLSource(
            "shop-a", sim.url, SecretStr(sim.access_token), transport=fast_transport("shop-a")
        )
        orders = list(source.list_orders(ImportWindow(start=start, end=end)))
    asked = {p for order in orders for p in paths(order)}
    read = {p for order in orders for p in keys_read(Platform.SHOPIFY, order)}
    never_asked = sorted(
        path for path in read - asked if "." not in path or path.rsplit(".", 1)[0] in asked
    )
    assert never_asked == [], "the mapping reads fields the query never selects"


def test_versions_outside_the_window_fall_forward_and_the_header_says_so() -> None:
    start, end = past_day(hours=1)
    old = "2024-01"  # long past its window, whatever the pins
    catalog = OrderCatalog.generate(3, seed=4, start=start, end=end)
    with simulator(Platform.SHOPIFY, catalog) as sim:
        assert isinstance(sim, ShopifySimulator)
        token = SecretStr(sim.access_token)
        source = ShopifyGraphQLSource(
            "shop-a", sim.url, token, api_version=old, transport=fast_transport("shop-a")
        )
        assert len(list(source.list_orders(ImportWindow(start=start, end=end)))) == 3
    assert source.served_version == SUPPORTED[0] != old


# -- SFCC -------------------------------------------------------------------------------------

SFCC_TYPES = {  # path in an order -> the commerce-sdk model it is
    "": "Order",
    "billingAddress": "Address",
    "customerInfo": "CustomerInfo",
    "productItems": "ProductItem",
    "shipments": "Shipment",
    "shipments.shippingAddress": "Address",
    "shipments.shippingMethod": "ShippingMethodReference",
    "paymentInstruments": "OrderPaymentInstrument",
}


def declared(path: str) -> bool:
    """Whether ``a.b.c`` is a property the official types declare."""
    parent, _, leaf = path.rpartition(".")
    model = SFCC_TYPES.get(parent)
    return model is not None and (leaf in CONTRACTS.sfcc_type(model) or leaf.startswith("c_"))


@pytest.fixture(scope="module")
def sfcc_orders() -> Iterator[tuple[list[dict[str, Any]], list[Any]]]:
    start = datetime(2026, 11, 20, tzinfo=UTC)
    catalog = OrderCatalog.generate(120, seed=5, start=start, end=start + timedelta(hours=1))
    with simulator(Platform.SFCC, catalog) as sim:
        assert isinstance(sim, SfccSimulator)
        source = source_for(sim, "shop-a")
        assert isinstance(source, SfccSource)
        source.page_size = 50
        orders = list(source.list_orders(ImportWindow(start=start, end=start + timedelta(hours=1))))
        source.fetch_order(orders[0]["orderNo"])
        yield orders, list(sim.recent)


def test_every_sfcc_object_carries_the_properties_its_type_requires(sfcc_orders: Any) -> None:
    """ProductItem.taxRate, Shipment.shipmentNo, ...: what the types declare without ``?``."""
    orders, _ = sfcc_orders
    missing: set[str] = set()
    for order in orders:
        for path, model in SFCC_TYPES.items():
            objects: list[Any] = [order]
            for key in filter(None, path.split(".")):
                found = [o.get(key) for o in objects if isinstance(o, dict)]
                objects = [x for f in found for x in (f if isinstance(f, list) else [f]) if x]
            for value in objects:
                missing |= {f"{model}.{k}" for k in CONTRACTS.sfcc_required(model) - set(value)}
    assert sorted(missing) == []


def test_every_sfcc_request_parameter_is_declared(sfcc_orders: Any) -> None:
    _, calls = sfcc_orders
    listing = CONTRACTS.sfcc_operation_parameters("getOrders")
    one = CONTRACTS.sfcc_operation_parameters("getOrder")
    for call in calls:
        if "/checkout/orders/v1/" not in call.path:
            continue
        declared_here = listing if call.path.endswith("/orders") else one
        assert set(call.query) <= set(declared_here), call.path
    assert int(max(c.param("limit") or 0 for c in calls if c.param("limit"))) <= 200


def test_every_key_the_sfcc_mapping_reads_is_declared(sfcc_orders: Any) -> None:
    orders, _ = sfcc_orders
    read = {path for order in orders for path in keys_read(Platform.SFCC, order)}
    assert sorted(p for p in read if not declared(p)) == []


def test_the_sfcc_simulator_sends_only_declared_properties_and_values(sfcc_orders: Any) -> None:
    orders, _ = sfcc_orders
    sent = {path for order in orders for path in paths(order)}
    assert sorted(p for p in sent if not declared(p) and p not in SFCC_TYPES) == []
    enums = {"status": "OrderStatus", "channelType": "OrderChannelTypeEnum",
             "exportStatus": "OrderExportStatus", "paymentStatus": "OrderPaymentStatus",
             "shippingStatus": "OrderShippingStatus",
             "confirmationStatus": "OrderConfirmationStatus"}  # fmt: skip
    for key, enum in enums.items():
        allowed = CONTRACTS.sfcc_enum(enum)
        assert {order[key] for order in orders} <= allowed, key


def test_the_official_listing_envelope_is_data_alone() -> None:
    """Why the connector never trusts ``total``: the OAS does not declare it."""
    assert set(CONTRACTS.sfcc_type("OrdersResponse")) == {"data"}


# -- Shoplazza ----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2026-01", "2022-01"])
def test_the_shoplazza_mapping_reads_only_keys_its_version_sends(version: str) -> None:
    """Shoplazza publishes reference pages, not a machine-readable schema: the simulator
    follows them by hand, and the mapping is held to what the simulator sends per version."""
    from pipeline.sources.shoplazza import ShoplazzaSource

    start = datetime(2026, 11, 20, tzinfo=UTC)
    catalog = OrderCatalog.generate(20, seed=6, start=start, end=start + timedelta(hours=1))
    with simulator(Platform.SHOPLAZZA, catalog) as sim:
        assert isinstance(sim, ShoplazzaSimulator)
        token = SecretStr(sim.access_token)
        source = ShoplazzaSource(
            "shop-a", sim.url, token, api_version=version, transport=fast_transport("shop-a")
        )
        orders = list(source.list_orders(ImportWindow(start=start, end=start + timedelta(hours=1))))
    sent = {p for order in orders for p in paths(order)}
    read = {p for order in orders for p in keys_read(Platform.SHOPLAZZA, order)}
    optional = {"line_items.variant_title", "line_items.title", "line_items.product_title",
                "line_items.requires_shipping",  # read from older answers, not published
                "source_name", "channelType", "sourceName"}  # fmt: skip
    assert sorted(read - sent - optional) == []


def test_support_window_dates() -> None:
    assert supported_on("2026-01", date(2026, 12, 31))
    assert not supported_on("2026-01", date(2027, 1, 1))
    assert not supported_on("2025-10", date(2026, 12, 1))
    assert not supported_on("2027-01", date(2026, 12, 1)), "not released yet"
