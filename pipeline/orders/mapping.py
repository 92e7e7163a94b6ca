"""From each platform's order JSON to the canonical ``Order``.

Mapping is lenient: whatever is missing stays empty and the rules decide whether the order can
be imported. Only an order without an id or a creation time cannot be mapped at all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from pipeline.models import Platform
from pipeline.orders.canonical import Address, LineItem, Order, OrderStatus, parse_time
from pipeline.orders.dispositions import Disposition, judge


class UnmappableOrder(ValueError):
    """The payload lacks what every order has (an id, a creation time)."""


class IncompleteOrder(UnmappableOrder):
    """A nested list of the order says it has more than was read (a page that could not be
    read): the order is stored whole or not at all, so it waits for a whole read."""


STATUS_OF = {
    Disposition.COMPLETED: OrderStatus.COMPLETED,
    Disposition.CANCELLED: OrderStatus.CANCELLED,
}


def _status(platform: Platform, raw: dict[str, Any], *, graphql: bool = False) -> OrderStatus:
    return STATUS_OF.get(judge(platform, raw, graphql=graphql).disposition, OrderStatus.CREATED)


def _connection_nodes(raw: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """A GraphQL connection's nodes, refused when its ``pageInfo`` says more pages exist."""
    connection = raw.get(key) or {}
    nodes = connection.get("nodes") or []
    if (connection.get("pageInfo") or {}).get("hasNextPage"):
        raise IncompleteOrder(
            f"Shopify listed {len(nodes)} of its {key} and said there were more, which could "
            "not be read; it is read again whole on a later pass"
        )
    return list(nodes)


def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal("0")
    except InvalidOperation:
        return Decimal("0")


def _tags(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(tag).strip() for tag in value if str(tag).strip()]
    return [tag.strip() for tag in str(value or "").split(",") if tag.strip()]


def _address(raw: dict[str, Any] | None, keys: dict[str, str]) -> Address | None:
    if not raw:
        return None
    values = {field: str(raw.get(source) or "") for field, source in keys.items()}
    name = values.pop("first", "") + " " + values.pop("last", "")
    return Address(name=name.strip(), phone=values.pop("phone") or None, **values)


SNAKE_ADDRESS = {
    "first": "first_name",
    "last": "last_name",
    "line1": "address1",
    "city": "city",
    "region": "province_code",
    "postal_code": "zip",
    "country_code": "country_code",
    "phone": "phone",
}
SFCC_ADDRESS = {
    "first": "firstName",
    "last": "lastName",
    "line1": "address1",
    "city": "city",
    "region": "stateCode",
    "postal_code": "postalCode",
    "country_code": "countryCode",
    "phone": "phone",
}


GRAPHQL_ADDRESS = {
    "first": "firstName",
    "last": "lastName",
    "line1": "address1",
    "city": "city",
    "region": "provinceCode",
    "postal_code": "zip",
    "country_code": "countryCodeV2",
    "phone": "phone",
}
GID_PREFIX = "gid://shopify/Order/"


def is_graphql_order(raw: dict[str, Any]) -> bool:
    """A Shopify order as the GraphQL Admin API shapes it (gid ids, camelCase)."""
    return str(raw.get("id", "")).startswith(GID_PREFIX) or "createdAt" in raw


def from_shopify_graphql(shop: str, raw: dict[str, Any]) -> Order:
    customer = raw.get("customer") or {}
    money = (raw.get("totalPriceSet") or {}).get("shopMoney") or {}
    items = _connection_nodes(raw, "lineItems")
    return Order(
        platform=Platform.SHOPIFY,
        shop=shop,
        order_id=_legacy_id(raw),
        name=str(raw.get("name") or _legacy_id(raw)),
        created_at=_required_time(raw.get("createdAt")),
        updated_at=parse_time(raw.get("updatedAt")),
        email=raw.get("email") or (customer.get("defaultEmailAddress") or {}).get("emailAddress"),
        phone=raw.get("phone") or (customer.get("defaultPhoneNumber") or {}).get("phoneNumber"),
        shipping_address=_address(raw.get("shippingAddress"), GRAPHQL_ADDRESS),
        billing_address=_address(raw.get("billingAddress"), GRAPHQL_ADDRESS),
        line_items=[
            LineItem(
                sku=str(item.get("sku") or ""),
                title=str(item.get("title") or ""),
                quantity=int(item.get("quantity") or 0),
                price=_money(
                    ((item.get("originalUnitPriceSet") or {}).get("shopMoney") or {}).get("amount")
                ),
                requires_shipping=bool(item.get("requiresShipping", True)),
            )
            for item in items
        ],
        total=_money(money.get("amount")),
        currency=str(money.get("currencyCode") or raw.get("currencyCode") or ""),
        status=_status(Platform.SHOPIFY, raw, graphql=True),
        platform_fulfilled=raw.get("displayFulfillmentStatus") == "FULFILLED",
        channel=raw_channel(Platform.SHOPIFY, raw),
        tags=_tags(raw.get("tags")),
        note=str(raw.get("note") or ""),
        site_url=str(raw.get("statusPageUrl") or ""),
    )


def _legacy_id(raw: dict[str, Any]) -> str:
    """The numeric id REST uses, so that a shop can move between the two APIs."""
    if raw.get("legacyResourceId"):
        return str(raw["legacyResourceId"])
    return str(raw["id"]).removeprefix(GID_PREFIX)


def from_shopify(shop: str, raw: dict[str, Any]) -> Order:
    if is_graphql_order(raw):
        return from_shopify_graphql(shop, raw)
    customer = raw.get("customer") or {}
    return Order(
        platform=Platform.SHOPIFY,
        shop=shop,
        order_id=str(raw["id"]),
        name=str(raw.get("name") or raw["id"]),
        created_at=_required_time(raw.get("created_at")),
        updated_at=parse_time(raw.get("updated_at")),
        email=raw.get("email") or customer.get("email"),
        phone=raw.get("phone") or customer.get("phone"),
        shipping_address=_address(raw.get("shipping_address"), SNAKE_ADDRESS),
        billing_address=_address(raw.get("billing_address"), SNAKE_ADDRESS),
        line_items=[
            LineItem(
                sku=str(item.get("sku") or ""),
                title=str(item.get("title") or ""),
                quantity=int(item.get("quantity") or 0),
                price=_money(item.get("price")),
                requires_shipping=bool(item.get("requires_shipping", True)),
            )
            for item in raw.get("line_items") or []
        ],
        total=_money(raw.get("total_price")),
        currency=str(raw.get("currency") or ""),
        status=_status(Platform.SHOPIFY, raw),
        platform_fulfilled=raw.get("fulfillment_status") == "fulfilled",
        channel=raw_channel(Platform.SHOPIFY, raw),
        tags=_tags(raw.get("tags")),
        note=str(raw.get("note") or ""),
        site_url=str(raw.get("order_status_url") or ""),
    )


SHOPLAZZA_SHIPPED = ("finished", "shipped")  # 2022-01's word, 2026-01's


def _shoplazza_title(item: dict[str, Any]) -> str:
    """2026-01 says ``product_title`` (+ ``variant_title``), 2022-01 ``title``."""
    title = str(item.get("product_title") or item.get("title") or "")
    variant = str(item.get("variant_title") or "")
    return f"{title} - {variant}" if variant and title else title


def from_shoplazza(shop: str, raw: dict[str, Any]) -> Order:
    customer = raw.get("customer") or {}
    status = _status(Platform.SHOPLAZZA, raw)
    return Order(
        platform=Platform.SHOPLAZZA,
        shop=shop,
        order_id=str(raw["id"]),
        name=str(raw.get("number") or raw["id"]),
        created_at=_required_time(raw.get("created_at")),
        updated_at=parse_time(raw.get("updated_at")),
        email=customer.get("email") or None,
        phone=customer.get("phone") or None,
        shipping_address=_address(raw.get("shipping_address"), SNAKE_ADDRESS),
        billing_address=_address(raw.get("billing_address"), SNAKE_ADDRESS),
        line_items=[
            LineItem(
                sku=str(item.get("sku") or ""),
                title=_shoplazza_title(item),
                quantity=int(item.get("quantity") or 0),
                price=_money(item.get("price")),
                requires_shipping=bool(item.get("requires_shipping", True)),
            )
            for item in raw.get("line_items") or []
        ],
        total=_money(raw.get("total_price")),
        currency=str(raw.get("currency") or ""),
        status=status,
        platform_fulfilled=raw.get("fulfillment_status") in SHOPLAZZA_SHIPPED,
        channel=raw_channel(Platform.SHOPLAZZA, raw),
        tags=_tags(raw.get("tags")),
        note=str(raw.get("note") or ""),
        site_url=str(raw.get("checkout_url") or ""),
    )


def from_sfcc(shop: str, raw: dict[str, Any]) -> Order:
    customer = raw.get("customerInfo") or {}
    shipments = raw.get("shipments") or [{}]
    shipping = _address(shipments[0].get("shippingAddress"), SFCC_ADDRESS)
    billing = _address(raw.get("billingAddress"), SFCC_ADDRESS)
    return Order(
        platform=Platform.SFCC,
        shop=shop,
        order_id=str(raw["orderNo"]),
        name=str(raw["orderNo"]),
        created_at=_required_time(raw.get("creationDate")),
        updated_at=parse_time(raw.get("lastModified")),
        email=customer.get("email"),
        phone=None,
        shipping_address=shipping,
        billing_address=billing,
        line_items=[
            LineItem(
                sku=str(item.get("productId") or ""),
                title=str(item.get("productName") or ""),
                quantity=int(item.get("quantity") or 0),
                price=_money(item.get("basePrice")),
            )
            for item in raw.get("productItems") or []
        ],
        total=_money(raw.get("orderTotal")),
        currency=str(raw.get("currency") or ""),
        status=_status(Platform.SFCC, raw),
        platform_fulfilled=raw.get("shippingStatus") == "shipped"
        or raw.get("status") == "completed",
        channel=raw_channel(Platform.SFCC, raw),
    )  # the Order type declares no note (a shop's c_ attributes are its own)


MAPPERS: dict[Platform, Callable[[str, dict[str, Any]], Order]] = {
    Platform.SHOPIFY: from_shopify,
    Platform.SHOPLAZZA: from_shoplazza,
    Platform.SFCC: from_sfcc,
}


def raw_order_id(platform: Platform, raw: dict[str, Any]) -> str | None:
    value = raw.get("orderNo" if platform is Platform.SFCC else "id")
    if value in (None, ""):
        return None
    if platform is Platform.SHOPIFY and is_graphql_order(raw):
        return _legacy_id(raw)
    return str(value)


def _time_key(platform: Platform, raw: dict[str, Any], sfcc: str, graphql: str, rest: str) -> str:
    """The name of a time in the platform's shape of an order."""
    if platform is Platform.SFCC:
        return sfcc
    return graphql if platform is Platform.SHOPIFY and is_graphql_order(raw) else rest


def raw_created_at(platform: Platform, raw: dict[str, Any]) -> datetime | None:
    """The creation time as the platform sent it, or None if it is missing or unreadable."""
    key = _time_key(platform, raw, "creationDate", "createdAt", "created_at")
    try:
        return parse_time(raw.get(key))
    except (TypeError, ValueError):
        return None


def raw_updated_at(platform: Platform, raw: dict[str, Any]) -> str | None:
    """When the platform last changed the order, as it wrote it (compared as text with a kept
    payload's: equal means the order has not changed since)."""
    value = raw.get(_time_key(platform, raw, "lastModified", "updatedAt", "updated_at"))
    return str(value) if value else None


def raw_cancelled(platform: Platform, raw: dict[str, Any]) -> bool:
    """Whether the platform says the order is cancelled (from a full or an id-only listing)."""
    if platform is Platform.SHOPIFY:
        return bool(raw.get("cancelledAt") if is_graphql_order(raw) else raw.get("cancelled_at"))
    return str(raw.get("status") or "").lower() in ("cancelled", "canceled")


POS_WORDS = frozenset({"pos", "store", "offline"})


def raw_channel(platform: Platform, raw: dict[str, Any]) -> str:
    """The sales channel: "pos" for point-of-sale orders, else "web".

    Shopify: ``sourceName``/``source_name`` ``pos``. SFCC: ``channelType`` ``store`` (commerce-
    sdk's ``OrderChannelTypeEnum``). Shoplazza: ``source_name`` is an object in its reference
    (a string in older answers) whose keys the reference does not list, so any of its words
    saying ``pos``/``offline``, or an order taken at a physical outlet (``location_line`` with
    an ``id``: the reference's "offline orders" of a location) is a point-of-sale order.
    """
    if platform is Platform.SFCC:
        words = [raw.get("channelType")]
    elif platform is Platform.SHOPIFY and is_graphql_order(raw):
        words = [raw.get("sourceName")]
    elif platform is Platform.SHOPIFY:
        words = [raw.get("source_name")]
    else:
        source = raw.get("source_name")
        words = list(source.values()) if isinstance(source, dict) else [source]
        location = raw.get("location_line")
        if isinstance(location, dict) and location.get("id") not in (None, "", "0", 0):
            return "pos"
    return "pos" if any(str(word or "").lower() in POS_WORDS for word in words) else "web"


def to_order(platform: Platform, shop: str, raw: dict[str, Any]) -> Order:
    """The canonical order, or ``UnmappableOrder`` naming what is missing."""
    if raw_order_id(platform, raw) is None:
        raise UnmappableOrder("the order has no id")
    try:
        return MAPPERS[platform](shop, raw)
    except UnmappableOrder:
        raise
    except (KeyError, TypeError, ValueError, ValidationError) as err:
        raise UnmappableOrder(f"the order cannot be read: {err}") from err


def _required_time(value: str | None) -> datetime:
    moment = parse_time(value)
    if moment is None:
        raise UnmappableOrder("the order has no creation time")
    return moment
