"""Shopify Admin REST (orders), as the connector meets it at a real shop.

- ``GET /admin/api/{version}/orders.json``: ``status`` (default ``open``: fulfilled and
  cancelled orders are left out unless ``status=any``), ``created_at_min`` / ``created_at_max``
  (both inclusive, compared with the order's exact creation time), ``limit`` (default 50, at most
  250); cursor paging by ``Link: <…page_info=…>; rel="next"``, and once ``page_info`` is given
  only ``limit`` and ``fields`` may go with it.
- ``GET /admin/api/{version}/orders/{id}.json`` and ``orders/count.json``.
- ``GET /admin/oauth/access_scopes.json``: the app's scopes. Without ``read_all_orders``, orders
  created more than 60 days ago do not exist (as over GraphQL).
- ``X-Shopify-Access-Token`` or 401; a leaky bucket (``X-Shopify-Shop-Api-Call-Limit``, 429 with
  ``Retry-After`` when full). Timestamps in the shop's zone, to the second.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from pipeline.contracts import Contracts
from pipeline.simulators.catalog import OrderCatalog, SimOrder
from pipeline.simulators.faults import Faults
from pipeline.simulators.rate_limits import LeakyBucket
from pipeline.simulators.server import Call, Reply, SimulatorServer
from pipeline.simulators.shopify_graphql import GraphQLAdmin
from pipeline.simulators.shopify_orders import ID_BASE, ShopifyOrderViews

UNAUTHORIZED = "[API] Invalid API key or access token (unrecognized login or wrong password)"
THROTTLED = (
    "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted "
    "service."
)
LIST_PARAMS = {"status", "created_at_min", "created_at_max", "limit", "fields", "page_info"}


class ShopifySimulator(ShopifyOrderViews, SimulatorServer):
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
        webhook_secret: str | None = None,
        faults: Faults | None = None,
        port: int = 0,
        seed: int = 1,
        listen: bool = True,
    ) -> None:
        super().__init__(catalog, faults=faults, port=port, seed=seed, listen=listen)
        self.shop = shop
        self.domain = f"{shop}.myshopify.com"
        self.send_webhooks(webhook_secret, domain=self.domain, api_version="2026-10", seed=seed)
        self.access_token = access_token
        self.zone = ZoneInfo(time_zone)
        self.bucket = LeakyBucket(bucket_size, leak_rate)
        self.contracts = contracts or Contracts()
        self.graphql = GraphQLAdmin(
            self,
            maximum_available=graphql_maximum,
            restore_rate=graphql_restore_rate,
            scopes=scopes,
            bulk_seconds=bulk_seconds,
            count_cap=count_cap,
            contracts=self.contracts,
        )

    def route(self, call: Call) -> Reply:
        if call.headers.get("x-shopify-access-token") != self.access_token:
            return Reply(
                401,
                {"errors": UNAUTHORIZED},
            )
        if call.path.endswith("/graphql.json"):
            return self._graphql(call)
        if call.path == "/admin/oauth/access_scopes.json":
            scopes = [{"handle": scope} for scope in self.graphql.scopes]
            return Reply(200, {"access_scopes": scopes})
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

    def webhook_payload(self, order: SimOrder) -> dict[str, Any]:
        """Shopify's orders/create webhook carries the order as its REST API renders it."""
        return self.render(order)

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

    def _matching(
        self,
        filters: dict[str, Any],
        *,
        after: tuple[str, int] | None = None,
        limit: int | None = None,
    ) -> list[SimOrder]:
        """The orders a listing matches, in order; with ``limit``, no more than ``limit + 1``
        (one more says there is a next page), so a page of a long window costs a page."""
        found: list[SimOrder] = []
        for order in self.catalog.iter_created_between(
            filters.get("created_at_min"), filters.get("created_at_max"),
            high_inclusive=True, now=self.now(),
        ):  # fmt: skip
            if not self.graphql._in_scope(order) or not _status_matches(order, filters["status"]):
                continue  # the 60-day rule, as GraphQL; the status filter
            if after is not None and (order.created_at.isoformat(), order.number) <= after:
                continue
            found.append(order)
            if limit is not None and len(found) > limit:
                break
        return found

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
        orders = self._matching(filters, after=after, limit=limit)
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
        if order is None or not self.graphql._in_scope(order):
            return Reply(404, {"errors": "Not Found"})
        return Reply(200, {"order": self.render(order)})


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _status_matches(order: SimOrder, status: str) -> bool:
    """REST's ``status`` filter: any, cancelled, closed (fulfilled), or open (the default)."""
    if status == "any":
        return True
    if status == "cancelled":
        return order.cancelled
    if status == "closed":
        return order.fulfilled and not order.cancelled
    return not order.fulfilled and not order.cancelled
