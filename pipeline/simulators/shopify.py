"""Shopify Admin REST (orders), as the connector meets it at a real shop.

- ``GET /admin/api/{version}/orders.json``: ``status`` (default ``open``: fulfilled and
  cancelled orders are left out unless ``status=any``), ``created_at_min`` / ``created_at_max``
  (both inclusive, compared with the order's exact creation time), ``limit`` (default 50, at most
  250); cursor paging by ``Link: <…page_info=…>; rel="next"``, and once ``page_info`` is given
  only ``limit`` and ``fields`` may go with it.
- ``GET /admin/api/{version}/orders/{id}.json`` and ``orders/count.json``.
- ``X-Shopify-Access-Token`` or 401; a leaky bucket (``X-Shopify-Shop-Api-Call-Limit``, 429 with
  ``Retry-After`` when full). Timestamps in the shop's zone, to the second.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from pipeline.contracts import Contracts
from pipeline.simulators.catalog import OrderCatalog, SimOrder, total
from pipeline.simulators.faults import Faults
from pipeline.simulators.rate_limits import LeakyBucket
from pipeline.simulators.server import Call, Reply, SimulatorServer
from pipeline.simulators.shopify_graphql import GraphQLAdmin

ID_BASE = 5_500_000_000_000
UNAUTHORIZED = "[API] Invalid API key or access token (unrecognized login or wrong password)"
THROTTLED = (
    "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted "
    "service."
)
LIST_PARAMS = {"status", "created_at_min", "created_at_max", "limit", "fields", "page_info"}


class ShopifySimulator(SimulatorServer):
    platform = "shopify"

    def __init__(
        self,
        catalog: OrderCatalog,
        *,
        shop: str = "hc-demo",
        access_token: str = "shpat_simulated",
        time_zone: str = "America/New_York",
        bucket_size: int = 40,
        leak_rate: float = 2.0,
        graphql_maximum: float = 2000.0,
        graphql_restore_rate: float = 100.0,
        scopes: tuple[str, ...] = ("read_orders",),
        bulk_seconds: float = 0.3,
        count_cap: int | None = None,
        contracts: Contracts | None = None,
        faults: Faults | None = None,
        port: int = 0,
        seed: int = 1,
    ) -> None:
        super().__init__(catalog, faults=faults, port=port, seed=seed)
        self.shop = shop
        self.access_token = access_token
        self.zone = ZoneInfo(time_zone)
        self.bucket = LeakyBucket(bucket_size, leak_rate)
        self.graphql = GraphQLAdmin(
            self,
            maximum_available=graphql_maximum,
            restore_rate=graphql_restore_rate,
            scopes=scopes,
            bulk_seconds=bulk_seconds,
            count_cap=count_cap,
            contracts=contracts or Contracts(),
        )

    def route(self, call: Call) -> Reply:
        if call.headers.get("x-shopify-access-token") != self.access_token:
            return Reply(
                401,
                {"errors": UNAUTHORIZED},
            )
        if call.path.endswith("/graphql.json"):
            return self._graphql(call)
        allowed, level = self.bucket.take()
        limit_header = {"X-Shopify-Shop-Api-Call-Limit": f"{level}/{self.bucket.size}"}
        if not allowed:
            self.throttled += 1
            return Reply(
                429,
                {"errors": THROTTLED},
                {**limit_header, "Retry-After": "2.0"},
            )
        parts = call.path.strip("/").split("/")
        if len(parts) < 4 or parts[:2] != ["admin", "api"]:
            return Reply(404, {"errors": "Not Found"}, limit_header)
        resource = "/".join(parts[3:])
        if resource == "orders.json":
            reply = self._list(call)
        elif resource == "orders/count.json":
            reply = self._count(call)
        elif resource.startswith("orders/") and resource.endswith(".json"):
            reply = self._one(resource[len("orders/") : -len(".json")])
        else:
            reply = Reply(404, {"errors": "Not Found"})
        reply.headers.update(limit_header)
        return reply

    # -- endpoints -------------------------------------------------------------------------

    def _graphql(self, call: Call) -> Reply:
        parts = call.path.strip("/").split("/")
        if call.method != "POST" or len(parts) != 4 or parts[:2] != ["admin", "api"]:
            return Reply(404, {"errors": "Not Found"})
        served = self.graphql.served_version(parts[2])
        if served is None:
            return Reply(404, {"errors": "Not Found"})
        try:
            body = json.loads(call.body or b"{}")
        except ValueError:
            return Reply(400, {"errors": {"query": "Required parameter missing or invalid"}})
        status, answer = self.graphql.answer(body if isinstance(body, dict) else {}, served)
        self.throttled = self.graphql.throttled
        return Reply(status, answer, {"X-Shopify-API-Version": served})

    def bulk_file(self, number: str) -> str | None:
        return self.graphql.bulk_file(f"gid://shopify/BulkOperation/{number}")

    def _filters(self, call: Call) -> tuple[dict[str, Any] | None, Reply | None]:
        filters: dict[str, Any] = {"status": call.param("status") or "open"}
        for name in ("created_at_min", "created_at_max"):
            value = call.param(name)
            if value:
                try:
                    filters[name] = datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    return None, Reply(400, {"errors": {name: ["is not a valid date"]}})
                if filters[name].tzinfo is None:
                    filters[name] = filters[name].replace(tzinfo=self.zone)
        if filters["status"] not in ("open", "closed", "cancelled", "any"):
            return None, Reply(400, {"errors": {"status": ["is not included in the list"]}})
        return filters, None

    def _matching(self, filters: dict[str, Any]) -> list[SimOrder]:
        orders = self.catalog.created_between(
            filters.get("created_at_min"),
            filters.get("created_at_max"),
            high_inclusive=True,
            now=self.now(),
        )
        status = filters["status"]
        if status == "any":
            return orders
        if status == "cancelled":
            return [o for o in orders if o.cancelled]
        if status == "closed":
            return [o for o in orders if o.fulfilled and not o.cancelled]
        return [o for o in orders if not o.fulfilled and not o.cancelled]

    def _list(self, call: Call) -> Reply:
        try:
            limit = int(call.param("limit") or 50)
        except ValueError:
            return Reply(400, {"errors": {"limit": ["is not a number"]}})
        if not 1 <= limit <= 250:
            return Reply(400, {"errors": {"limit": ["must be between 1 and 250"]}})
        token = call.param("page_info")
        if token:
            extra = set(call.query) - {"limit", "fields", "page_info"}
            if extra:
                return Reply(
                    400,
                    {
                        "errors": {
                            "page_info": [
                                f"{sorted(extra)[0]} cannot be passed when page_info is present"
                            ]
                        }
                    },
                )
            try:
                cursor = json.loads(base64.urlsafe_b64decode(token.encode()))
            except ValueError:
                return Reply(400, {"errors": {"page_info": ["Invalid value."]}})
            filters = {
                "status": cursor["status"],
                "created_at_min": _parse(cursor.get("min")),
                "created_at_max": _parse(cursor.get("max")),
            }
            after = (cursor["after"][0], cursor["after"][1])
            resume_at = datetime.fromisoformat(after[0])
            if filters["created_at_min"] is None or filters["created_at_min"] < resume_at:
                filters["created_at_min"] = resume_at
        else:
            unknown = set(call.query) - LIST_PARAMS
            if unknown:
                return Reply(400, {"errors": {sorted(unknown)[0]: ["is not a known parameter"]}})
            parsed, error = self._filters(call)
            if error:
                return error
            assert parsed is not None
            filters, after = parsed, None
        orders = self._matching(filters)
        if after is not None:
            orders = [o for o in orders if (o.created_at.isoformat(), o.number) > after]
        page, rest = orders[:limit], orders[limit:]
        headers: dict[str, str] = {}
        if rest:
            last = page[-1]
            cursor = {
                "status": filters["status"],
                "min": _iso(filters.get("created_at_min")),
                "max": _iso(filters.get("created_at_max")),
                "after": [last.created_at.isoformat(), last.number],
            }
            next_token = base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode()
            base = f"{self.url}{call.path}"
            headers["Link"] = (
                f'<{base}?{urlencode({"limit": limit, "page_info": next_token})}>; rel="next"'
            )
        rendered = [self.render(o) for o in page]
        fields = [f.strip() for f in (call.param("fields") or "").split(",") if f.strip()]
        if fields:
            rendered = [{k: v for k, v in order.items() if k in fields} for order in rendered]
        return Reply(200, {"orders": rendered}, headers)

    def _count(self, call: Call) -> Reply:
        filters, error = self._filters(call)
        if error:
            return error
        assert filters is not None
        return Reply(200, {"count": len(self._matching(filters))})

    def _one(self, raw_id: str) -> Reply:
        try:
            number = int(raw_id) - ID_BASE
        except ValueError:
            return Reply(404, {"errors": "Not Found"})
        order = self.catalog.get(number, self.now())
        if order is None:
            return Reply(404, {"errors": "Not Found"})
        return Reply(200, {"order": self.render(order)})

    # -- rendering -------------------------------------------------------------------------

    def _time(self, moment: datetime | None) -> str | None:
        if moment is None:
            return None
        return moment.astimezone(self.zone).replace(microsecond=0).isoformat()

    def order_id(self, order: SimOrder) -> int:
        return ID_BASE + order.number

    def graphql_time(self, moment: datetime) -> str:
        """GraphQL's DateTime: UTC, to the second, with Z."""
        return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")

    def render_graphql(self, order: SimOrder) -> dict[str, Any]:
        """The order as the GraphQL Admin API returns it (the published schema picks fields)."""
        rest = self.render(order)
        address = rest["shipping_address"]

        def mailing(value: dict[str, Any] | None) -> dict[str, Any] | None:
            if value is None:
                return None
            return {
                "firstName": value["first_name"], "lastName": value["last_name"],
                "name": value["name"], "address1": value["address1"],
                "address2": value.get("address2"), "city": value["city"],
                "province": value.get("province"), "provinceCode": value["province_code"],
                "zip": value["zip"], "country": value["country"],
                "countryCodeV2": value["country_code"], "phone": value["phone"],
            }  # fmt: skip

        fulfilled, cancelled = order.fulfilled, order.cancelled
        return {
            "id": f"gid://shopify/Order/{rest['id']}",
            "legacyResourceId": str(rest["id"]),
            "name": rest["name"],
            "createdAt": self.graphql_time(order.created_at),
            "updatedAt": self.graphql_time(order.updated_at),
            "processedAt": self.graphql_time(order.created_at),
            "cancelledAt": self.graphql_time(order.updated_at) if cancelled else None,
            "closedAt": self.graphql_time(order.updated_at) if fulfilled else None,
            "email": order.email,
            "phone": order.phone,
            "displayFinancialStatus": "PAID",
            "displayFulfillmentStatus": "FULFILLED" if fulfilled else "UNFULFILLED",
            "statusPageUrl": rest["order_status_url"],
            "sourceName": order.source,
            "note": order.note,
            "tags": list(order.extra.get("tags", [])),
            "currencyCode": "USD",
            "totalPriceSet": {"shopMoney": {"amount": rest["total_price"], "currencyCode": "USD"}},
            "customer": {
                "id": f"gid://shopify/Customer/{rest['customer']['id']}",
                "email": order.email,
                "phone": order.phone,
                "defaultEmailAddress": {"emailAddress": order.email} if order.email else None,
                "defaultPhoneNumber": {"phoneNumber": order.phone} if order.phone else None,
                "firstName": order.first_name,
                "lastName": order.last_name,
            },  # fmt: skip
            "shippingAddress": mailing(address),
            "billingAddress": mailing(rest["billing_address"]),
            "lineItems": {
                "nodes": [
                    {
                        "id": f"gid://shopify/LineItem/{item['id']}",
                        "title": item["title"],
                        "sku": item["sku"],
                        "quantity": item["quantity"],
                        "requiresShipping": item["requires_shipping"],
                        "originalUnitPriceSet": {
                            "shopMoney": {"amount": item["price"], "currencyCode": "USD"}
                        },
                    }
                    for item in rest["line_items"]
                ]
            },  # fmt: skip
        }

    def render(self, order: SimOrder) -> dict[str, Any]:
        order_id = ID_BASE + order.number
        token = hashlib.md5(f"{self.shop}:{order_id}".encode()).hexdigest()
        key = hashlib.sha1(f"key:{self.shop}:{order_id}".encode()).hexdigest()[:32]
        address = None
        if order.address is not None:
            address = {
                **order.address,
                "name": f"{order.address['first_name']} {order.address['last_name']}",
                "phone": order.phone,
                "country": "United States",
            }
        customer = {
            "id": 7_100_000_000_000 + order.number,
            "email": order.email,
            "first_name": order.first_name,
            "last_name": order.last_name,
            "phone": order.phone,
        }
        return {
            "id": order_id,
            "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
            "name": f"#{1001 + order.number}",
            "order_number": 1001 + order.number,
            "email": order.email,
            "contact_email": order.email,
            "phone": order.phone,
            "created_at": self._time(order.created_at),
            "updated_at": self._time(order.updated_at),
            "processed_at": self._time(order.created_at),
            "cancelled_at": self._time(order.updated_at) if order.cancelled else None,
            "closed_at": self._time(order.updated_at) if order.fulfilled else None,
            "financial_status": "paid",
            "fulfillment_status": "fulfilled" if order.fulfilled else None,
            "currency": "USD",
            "total_price": total(order),
            "subtotal_price": total(order),
            "total_tax": "0.00",
            "note": order.note,
            "tags": ", ".join(order.extra.get("tags", [])),
            "source_name": order.source,
            "token": token,
            "order_status_url": (
                f"https://{self.shop}.myshopify.com/83950764316/orders/{token}/authenticate?key={key}"
            ),
            "customer": customer,
            "shipping_address": address,
            "billing_address": address,
            "line_items": [
                {
                    "id": 13_000_000_000_000 + order.number * 10 + index,
                    "title": item["title"],
                    "sku": item["sku"],
                    "quantity": item["quantity"],
                    "price": item["price"],
                    "requires_shipping": True,
                }
                for index, item in enumerate(order.items)
            ],
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
