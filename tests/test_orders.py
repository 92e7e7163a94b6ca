"""Platform JSON to canonical orders, and the rules an order must pass to be imported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.models import ErrorCode, Platform
from pipeline.orders import OrderStatus, UnmappableOrder, explain, problems, to_order
from pipeline.simulators import OrderCatalog, SfccSimulator, ShopifySimulator, ShoplazzaSimulator

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
RENDERERS = {
    Platform.SHOPIFY: ShopifySimulator,
    Platform.SHOPLAZZA: ShoplazzaSimulator,
    Platform.SFCC: SfccSimulator,
}


def rendered(platform: Platform, **facts: object) -> dict:  # type: ignore[type-arg]
    catalog = OrderCatalog()
    order = catalog.add(T0 + timedelta(milliseconds=250), **facts)
    server = RENDERERS[platform](catalog)
    try:
        return server.render(order)  # type: ignore[attr-defined,no-any-return]
    finally:
        server.stop()


@pytest.mark.parametrize("platform", list(Platform), ids=lambda p: p.value)
def test_a_complete_order_maps_and_passes(platform: Platform) -> None:
    order = to_order(platform, "shop-a", rendered(platform))
    assert order.platform is platform and order.shop == "shop-a"
    assert order.created_at.replace(microsecond=0) == T0
    assert order.shipping_address is not None and order.shipping_address.city
    assert order.line_items and order.total > 0
    assert order.status is OrderStatus.CREATED
    assert problems(order) == []


@pytest.mark.parametrize("platform", list(Platform), ids=lambda p: p.value)
@pytest.mark.parametrize(
    ("facts", "code"),
    [
        ({"address": None}, ErrorCode.MISSING_ADDRESS),
        ({"phone": None, "address": None}, ErrorCode.MISSING_ADDRESS),
        ({"email": "max@@example"}, ErrorCode.BAD_EMAIL),
        ({"email": None}, ErrorCode.BAD_EMAIL),
    ],
)
def test_flawed_orders_name_the_problem_and_how_to_reimport(
    platform: Platform,
    facts: dict,
    code: ErrorCode,  # type: ignore[type-arg]
) -> None:
    order = to_order(platform, "shop-a", rendered(platform, **facts))
    found = problems(order)
    assert found and found[0].code is code
    message = explain(order, found)
    assert message.startswith(f"Order {order.name} ({order.order_id}) of shop shop-a")
    assert f"loginsights reimport --shop shop-a --order-id {order.order_id}" in message


def test_a_missing_phone_is_its_own_problem() -> None:
    order = to_order(Platform.SHOPIFY, "shop-a", rendered(Platform.SHOPIFY, phone=None))
    assert [p.code for p in problems(order)] == [ErrorCode.MISSING_PHONE]


def test_pos_sales_need_no_shipping_address() -> None:
    order = to_order(
        Platform.SHOPIFY, "shop-a", rendered(Platform.SHOPIFY, address=None, source="pos")
    )
    assert order.channel == "pos"
    assert ErrorCode.MISSING_ADDRESS not in [p.code for p in problems(order)]


def test_emoji_and_any_unicode_are_accepted() -> None:
    address = {
        "first_name": "Zoë 🎉",
        "last_name": "Søren",
        "address1": "1 Rue de l'Église",
        "city": "Montréal",
        "province_code": "QC",
        "zip": "H2X 1Y4",
        "country_code": "CA",
    }
    raw = rendered(Platform.SHOPLAZZA, address=address, note="请放在门口 🚪")
    order = to_order(Platform.SHOPLAZZA, "shop-a", raw)
    assert order.note == "请放在门口 🚪"
    assert order.shipping_address is not None and order.shipping_address.name == "Zoë 🎉 Søren"
    assert problems(order) == []


def test_cancelled_and_fulfilled_states_are_read() -> None:
    cancelled = to_order(Platform.SFCC, "s", rendered(Platform.SFCC, cancelled=True))
    fulfilled = to_order(Platform.SHOPIFY, "s", rendered(Platform.SHOPIFY, fulfilled=True))
    assert cancelled.status is OrderStatus.CANCELLED
    # fulfilled at the platform before it was imported: stored as completed, nothing more ships
    assert fulfilled.platform_fulfilled and fulfilled.status is OrderStatus.COMPLETED


def test_an_order_without_id_or_creation_time_cannot_be_mapped() -> None:
    raw = rendered(Platform.SHOPIFY)
    with pytest.raises(UnmappableOrder, match="no id"):
        to_order(Platform.SHOPIFY, "s", {**raw, "id": None})
    with pytest.raises(UnmappableOrder, match="no creation time"):
        to_order(Platform.SHOPIFY, "s", {**raw, "created_at": None})


# -- the email fast path gives email-validator's verdict ------------------------------------

from email_validator import EmailNotValidError, validate_email  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from pipeline.orders.rules import _plainly_valid, email_error  # noqa: E402


def validator_accepts(address: str) -> bool:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


@pytest.mark.parametrize(
    "address",
    ["ada@example.com", "a.b+tag@mail.example.co.uk", "x@localhost", "x@foo.test", "a..b@x.com",
     ".a@x.com", "a@-x.com", "a@x-.com", "a@x.c", "a@x.123", "a@xn--nxasmq6b.com",
     "a@ab--cd.com", "é@x.com", "a@exämple.com", "a" * 65 + "@x.com", "a@" + "x" * 64 + ".com",
     "a@x..com", "a@x.com.", "a b@x.com", "a@[127.0.0.1]", '"a b"@x.com', "a@x_y.com"],
)  # fmt: skip
def test_the_fast_path_accepts_only_what_email_validator_accepts(address: str) -> None:
    if _plainly_valid(address):
        assert validator_accepts(address), address
    assert (email_error(address) is None) == validator_accepts(address), address


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(
    st.from_regex(
        r"[a-zA-Z0-9._%+!#-]{1,20}@[a-zA-Z0-9.-]{1,20}\.[a-zA-Z0-9-]{1,8}", fullmatch=True
    )
)
def test_generated_addresses_get_identical_verdicts(address: str) -> None:
    assert (email_error(address) is None) == validator_accepts(address), address


@pytest.mark.parametrize("platform", list(Platform), ids=lambda p: p.value)
def test_a_point_of_sale_order_is_recognised_from_published_fields_and_needs_no_address(
    platform: Platform,
) -> None:
    """Shopify sourceName pos, SFCC channelType store, Shoplazza a source_name object or an
    outlet's location_line: an order handed over at the counter ships nothing."""
    order = to_order(platform, "shop-a", rendered(platform, source="pos", address=None))
    assert order.channel == "pos" and not order.needs_shipping
    assert ErrorCode.MISSING_ADDRESS not in [p.code for p in problems(order)]
    web = to_order(platform, "shop-a", rendered(platform, source="web"))
    assert web.channel == "web" and web.needs_shipping
