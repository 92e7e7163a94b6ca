"""Shoplazza OpenAPI (orders) in two dated versions, as seed 003 and DESIGN.md describe them.

- ``GET /openapi/2026-01/orders`` (current): ``created_at_min`` / ``created_at_max``
  (inclusive), ``page_size`` (default 10, at most 250), ``cursor``; body ``{"orders", "cursor",
  "has_more"}``.
- ``GET /openapi/2022-01/orders`` (seed 003): the same filters, ``limit`` (at most 250), cursor
  paging with ``next_token`` (in the body, empty on the last page); the reference says a
  ``next_token`` request "requires submission of the previous query conditions", so the token
  holds only a position and every page is filtered by what that request sends; body
  ``{"count", "next_token", "orders"}``; a shipped order is ``finished`` (the reference's
  example).
- Line items carry ``product_title`` and ``variant_title`` in both versions (the published
  line item); a 2026-01 shipped order's fulfilment is ``shipped``.
- A leaky bucket of ``bucket_size`` calls leaking ``leak_rate`` a second (2/s); a call into a
  full bucket gets 429 with ``Retry-After``.
- ``GET /openapi/2022-01/orders/{id}``: ``{"order": …}``; 404 ``{"error": "Unable to find
  resource"}``. ``GET /openapi/2022-01/orders/count``.
- Header ``Access-Token`` or 401 ``{"errors": ["Unauthorized"]}``. Ids are 19-digit strings.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.simulators.catalog import OrderCatalog, SimOrder, total
from pipeline.simulators.faults import Faults
from pipeline.simulators.rate_limits import LeakyBucket
from pipeline.simulators.server import Call, Reply, SimulatorServer
from pipeline.simulators.variety import SHOPLAZZA_WORDS, chosen, value
from pipeline.simulators.webhooks import Subscription

ID_BASE = 1_580_000_000_000_000_000
ID_STEP = 1_000_003
VERSIONS = ("2022-01", "2026-01")


def order_id(number: int) -> str:
    return str(ID_BASE + number * ID_STEP)


class ShoplazzaSimulator(SimulatorServer):
    def order_refs(self, order: SimOrder) -> set[str]:
        return {order_id(order.number)}

    platform = "shoplazza"

    def __init__(
        self,
        catalog: OrderCatalog,
        *,
        shop: str = "lazza-demo",
        access_token: str = "shoplazza_simulated",
        time_zone: str = "Asia/Shanghai",
        bucket_size: int = 40,
        leak_rate: float = 2.0,
        webhook_secret: str | None = None,
        registration: str = "either",
        faults: Faults | None = None,
        port: int = 0,
        seed: int = 1,
        listen: bool = True,
    ) -> None:
        super().__init__(catalog, faults=faults, port=port, seed=seed, listen=listen)
        self.shop = shop
        self.domain = f"{shop}.myshoplaza.com"
        self.send_webhooks(webhook_secret, domain=self.domain, api_version="2026-01", seed=seed)
        self.access_token = access_token
        self.registration = registration  # "either", "bare" or "envelope": what Create accepts
        self.zone = ZoneInfo(time_zone)
        self.bucket = LeakyBucket(bucket_size, leak_rate)

    def server_error(self, status: int) -> Reply:
        return Reply(status, {"error": "service unavailable"})

    def route(self, call: Call) -> Reply:
        if call.headers.get("access-token") != self.access_token:
            return Reply(401, {"errors": ["Unauthorized"]})
        allowed, _ = self.bucket.take()
        if not allowed:
            self.throttled += 1
            return Reply(429, {"errors": ["Too Many Requests"]}, {"Retry-After": "1"})
        parts = call.path.strip("/").split("/", 2)
        if len(parts) < 3 or parts[0] != "openapi" or parts[1] not in VERSIONS:
            return Reply(404, {"error": "Unable to find resource"})
        version, resource = parts[1], parts[2].strip("/")
        if resource == "orders":
            return self._list_current(call) if version == "2026-01" else self._list(call)
        if resource == "orders/count":
            filters, error = self._filters(call)
            return error or Reply(200, {"count": len(self._matching(filters or {}))})
        if resource.startswith("orders/"):
            return self._one(resource[len("orders/") :], version)
        if resource == "webhooks":
            return self._webhooks(call)
        return Reply(404, {"error": "Unable to find resource"})

    def webhook_payload(self, order: SimOrder) -> dict[str, Any]:
        return self.render(order)

    def _webhooks(self, call: Call) -> Reply:
        """Create Webhook (POST, the body bare or in a ``webhook`` envelope: the reference's two
        readings; ``registration`` makes one of them the only one) and the list of them (GET)."""
        if self.webhooks is None:
            return Reply(403, {"errors": ["this app has no client secret to sign webhooks"]})
        if call.method == "POST":
            try:
                body = json.loads(call.body or b"{}")
                enveloped = isinstance(body.get("webhook"), dict)
                if self.registration != "either" and enveloped != (self.registration == "envelope"):
                    raise KeyError("webhook")
                fields = body["webhook"] if enveloped else body
                address, topic = str(fields["address"]), str(fields["topic"])
            except (ValueError, KeyError, TypeError):
                return Reply(400, {"errors": ["address and topic are required"]})
            made = self.webhooks.subscribe(topic, address)
            return Reply(200, {"webhook": _webhook(made)})
        return Reply(200, {"webhooks": [_webhook(s) for s in self.webhooks.subscriptions]})

    def _filters(self, call: Call) -> tuple[dict[str, Any] | None, Reply | None]:
        filters: dict[str, Any] = {}
        for name in ("created_at_min", "created_at_max"):
            value = call.param(name)
            if value:
                try:
                    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    return None, Reply(400, {"errors": [f"{name} is not a valid time"]})
                filters[name] = moment if moment.tzinfo else moment.replace(tzinfo=self.zone)
        return filters, None

    def _matching(self, filters: dict[str, Any]) -> list[SimOrder]:
        return self.catalog.created_between(
            filters.get("created_at_min"),
            filters.get("created_at_max"),
            high_inclusive=True,
            now=self.now(),
        )

    def _list(self, call: Call) -> Reply:
        try:
            limit = int(call.param("limit") or 10)
        except ValueError:
            return Reply(400, {"errors": ["limit must be a number"]})
        if not 1 <= limit <= 250:
            return Reply(400, {"errors": ["limit must be between 1 and 250"]})
        token = call.param("next_token")
        after: tuple[str, int] | None = None
        if token:
            try:
                cursor = json.loads(base64.urlsafe_b64decode(token.encode()))
                after = (str(cursor["after"][0]), int(cursor["after"][1]))
            except (ValueError, KeyError, TypeError, IndexError):
                return Reply(400, {"errors": ["next_token is invalid"]})
        parsed, error = self._filters(call)  # the docs: a next_token repeats the query's filters
        if error:
            return error
        filters = parsed or {}
        orders = self._matching(filters)
        if after is not None:
            orders = [o for o in orders if (o.created_at.isoformat(), o.number) > after]
        page, rest = orders[:limit], orders[limit:]
        next_token = ""
        if rest:
            last = page[-1]
            cursor = {"after": [last.created_at.isoformat(), last.number]}
            next_token = base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode()
        return Reply(
            200,
            {"count": len(page), "next_token": next_token,
             "orders": [self.render(o, "2022-01") for o in page]},
        )  # fmt: skip

    def _list_current(self, call: Call) -> Reply:
        """2026-01: page_size and cursor in, {orders, cursor, has_more} out."""
        try:
            size = int(call.param("page_size") or 10)
        except ValueError:
            return Reply(400, {"errors": ["page_size must be a number"]})
        if not 1 <= size <= 250:
            return Reply(400, {"errors": ["page_size must be between 1 and 250"]})
        token = call.param("cursor")
        if token:
            try:
                saved = json.loads(base64.urlsafe_b64decode(token.encode()))
            except ValueError:
                return Reply(400, {"errors": ["cursor is invalid"]})
            filters = {"created_at_min": _parse(saved.get("min")),
                       "created_at_max": _parse(saved.get("max"))}  # fmt: skip
            after = (saved["after"][0], saved["after"][1])
        else:
            parsed, error = self._filters(call)
            if error:
                return error
            filters, after = parsed or {}, None
        orders = self._matching(filters)
        if after is not None:
            orders = [o for o in orders if (o.created_at.isoformat(), o.number) > after]
        page, rest = orders[:size], orders[size:]
        cursor = ""
        if rest:
            low, high = filters.get("created_at_min"), filters.get("created_at_max")
            state = {"min": low.isoformat() if low else None,
                     "max": high.isoformat() if high else None,
                     "after": [page[-1].created_at.isoformat(), page[-1].number]}  # fmt: skip
            cursor = base64.urlsafe_b64encode(json.dumps(state).encode()).decode()
        return Reply(200, {"orders": [self.render(o, "2026-01") for o in page], "cursor": cursor,
                           "has_more": bool(rest)})  # fmt: skip

    def _one(self, raw_id: str, version: str) -> Reply:
        try:
            number, remainder = divmod(int(raw_id) - ID_BASE, ID_STEP)
        except ValueError:
            return Reply(404, {"error": "Unable to find resource"})
        order = self.catalog.get(number, self.now()) if remainder == 0 else None
        if order is None:
            return Reply(404, {"error": "Unable to find resource"})
        return Reply(200, {"order": self.render(order, version)})

    def _time(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        return moment.astimezone(self.zone).replace(microsecond=0).isoformat()

    def render(self, order: SimOrder, version: str = "2026-01") -> dict[str, Any]:
        address = None
        if order.address is not None:
            address = {
                "first_name": order.address["first_name"],
                "last_name": order.address["last_name"],
                "address1": order.address["address1"],
                "city": order.address["city"],
                "province_code": order.address["province_code"],
                "zip": order.address["zip"],
                "country_code": order.address["country_code"],
                "phone": order.phone or "",
            }
        amount = total(order)
        shipped = "finished" if version == "2022-01" else "shipped"
        # the reference's order statuses: opened (a checkout, not placed), placed, finished,
        # cancelled
        status = "cancelled" if order.cancelled else ("finished" if order.fulfilled else "placed")
        states: dict[str, str | None] = {
            "status": status,
            "financial_status": "paid",
            "fulfillment_status": shipped if order.fulfilled else "waiting",
        }
        for name, words in SHOPLAZZA_WORDS.items():
            if chosen(order, f"shoplazza.{name}"):
                states[name] = value(order, f"shoplazza.{name}", words)
        return {
            "id": order_id(order.number),
            "number": str(1001 + order.number),
            "note": order.note,
            **states,
            "email_status": "send",
            "cancel_reason": "",
            "recovery_status": "",
            "payment_method": "credit_card",
            "discount_applications": "",
            "customer_note": order.note,
            "buyer_accepts_marketing": False,
            "currency": "USD",
            "total_price": amount,
            "sub_total": amount,
            "total_discount": "0.00",
            "total_tax": "0.00",
            "total_shipping": "0.00",
            "code_discount_total": "0.00",
            "gift_card_total": "0.00",
            "total_refund_price": "0.00",
            "additional_total": "0.00",
            "addtional_prices": [],
            "shipping_tax_total": "0.00",
            "customer_deleted_at": "",
            "created_at": self._time(order.created_at),
            "updated_at": self._time(order.updated_at),
            "deleted_at": "",
            "canceled_at": self._time(order.updated_at) if order.cancelled else "",
            "placed_at": self._time(order.created_at),
            "total_tip_received": "0.00",
            "tags": ",".join(order.extra.get("tags", [])),
            "total_paid": amount,
            "shipping_line": {"name": "Standard"},
            "customer": {
                "id": f"c{order.number:012d}",
                "email": order.email or "",
                "phone": order.phone or "",
                "first_name": order.first_name,
                "last_name": order.last_name,
            },
            "shipping_address": address,
            "billing_address": address,
            "payment_line": {"payment_channel": "stripe", "payment_method": "credit_card"},
            "line_items": [
                _line_item(order, index, item, version) for index, item in enumerate(order.items)
            ],  # fmt: skip
            "fulfillments": [],
            "logistics_code": "",
            "refer_info": {},
            "config": {"product_tax_included": False},
            "checkout_url": f"https://{self.shop}.myshoplaza.com/checkout/{order_id(order.number)}",
            "location_line": {"id": f"loc{order.number % 3}"} if order.source == "pos" else {},
            "source_name": {"source": order.source},
            "invoice_url": f"/checkout/{order_id(order.number)}",
        }


def _line_item(order: SimOrder, index: int, item: dict[str, Any], version: str) -> dict[str, Any]:
    """The reference's line item, both versions: ``product_title`` and ``variant_title`` (no
    ``title``, no ``requires_shipping``: the published line item declares neither)."""
    return {
        "id": f"li{order.number:010d}{index}",
        "product_id": item["sku"],
        "variant_id": f"{item['sku']}-1",
        "sku": item["sku"],
        "quantity": item["quantity"],
        "price": item["price"],
        "product_title": item["title"],
        "variant_title": "",  # one-variant products
    }


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _webhook(subscription: Subscription) -> dict[str, Any]:
    moment = subscription.created_at.isoformat().replace("+00:00", "Z")
    return {"id": subscription.id, "address": subscription.uri, "topic": subscription.topic,
            "created_at": moment, "updated_at": moment, "format": "json"}  # fmt: skip
