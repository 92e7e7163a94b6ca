"""Shopify's GraphQL Admin API (the default: REST is legacy since 2024-10-01).

- Orders of a window: ``orders(first, after, sortKey: CREATED_AT, query: "created_at:>='…'
  created_at:<'…'")``, cursor paging by ``pageInfo { hasNextPage endCursor }``, the same
  half-open windows as everywhere else.
- One order: ``order(id: "gid://shopify/Order/…")``; a count: ``ordersCount(query)``.
- Cost: every answer carries ``extensions.cost`` (requested and actual cost, and the bucket's
  ``throttleStatus``: maximum, currently available, restore rate). The connector keeps a copy of
  the bucket and waits before a query that would not fit, so that steady work is never
  ``THROTTLED``; if it is anyway, it waits what the bucket needs and asks again. Plan limits come
  from the answers (100 points a second on Standard up to 2,000 on Enterprise), never from here.
- Without the ``read_all_orders`` scope Shopify returns only the last 60 days of orders: a window
  reaching further is an error naming the scope, never an empty window taken as complete.
- Reconciliation's id listing: a bulk operation (``bulkOperationRunQuery``, poll, download the
  JSONL) when the span holds many orders, a paged id-only query when it holds few.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from pydantic import SecretStr

from pipeline.errors import SourceRequestError, SourceUnavailableError
from pipeline.models import Platform
from pipeline.sources.pacing import CostBudget
from pipeline.sources.shopify import RECENT_DAYS, beyond_reach, shopify_auth
from pipeline.sources.shopify_line_items import LINE_FIELDS, LINES_FIRST, whole_order
from pipeline.sources.shopify_versions import DEFAULT_API_VERSION
from pipeline.sources.transport import ShopTransport
from pipeline.windows import ImportWindow

log = logging.getLogger(__name__)
VERSION_HEADER = "X-Shopify-API-Version"

ADDRESS = "firstName lastName name address1 address2 city province provinceCode zip country "
ADDRESS += "countryCodeV2 phone"
ORDER_FIELDS = f"""
  id legacyResourceId name createdAt updatedAt processedAt cancelledAt closedAt email phone
  displayFinancialStatus displayFulfillmentStatus statusPageUrl sourceName note tags currencyCode
  totalPriceSet {{ shopMoney {{ amount currencyCode }} }}
  customer {{ id firstName lastName defaultEmailAddress {{ emailAddress }}
             defaultPhoneNumber {{ phoneNumber }} }}
  shippingAddress {{ {ADDRESS} }}
  billingAddress {{ {ADDRESS} }}
  lineItems(first: {LINES_FIRST}) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {LINE_FIELDS} }}
  }}
"""
ORDERS = f"""
query Orders($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, sortKey: CREATED_AT, query: $query) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {ORDER_FIELDS} }}
  }}
}}"""
ORDER_IDS = """
query OrderIds($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, sortKey: CREATED_AT, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes { id createdAt updatedAt cancelledAt sourceName }
  }
}"""
ORDER = f"query Order($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}"
# ``limit: null``: Shopify counts at most 10,000 unless asked not to (precision AT_LEAST).
COUNT = """
query Count($query: String) { ordersCount(query: $query, limit: null) { count precision } }"""
SCOPES = "{ currentAppInstallation { accessScopes { handle } } }"
BULK_RUN = """
mutation Bulk($query: String!) {
  bulkOperationRunQuery(query: $query) { bulkOperation { id status } userErrors { field message } }
}"""
BULK_FIELDS = "id status errorCode objectCount url"
# 2026-01 and later: bulkOperation(id) (currentBulkOperation is deprecated, and up to five
# bulk operations may run at once); before, the operation is read as a node.
BULK_STATUS = f"query BulkStatus($id: ID!) {{ bulkOperation(id: $id) {{ {BULK_FIELDS} }} }}"
BULK_NODE = f"""
query BulkNode($id: ID!) {{ node(id: $id) {{ ... on BulkOperation {{ {BULK_FIELDS} }} }} }}"""
BULK_OPERATION_SINCE = "2026-01"
# Orders a page: each order with its 20 line items costs about 48 points, and Shopify refuses a
# query whose requested cost passes 1,000 (MAX_COST_EXCEEDED: the page is halved and asked again).
PAGE_SIZE = 20
BULK_ABOVE = 10_000  # orders in a span above which reconciliation lists ids in bulk


class ShopifyGraphQLSource:
    platform = Platform.SHOPIFY

    def __init__(
        self,
        shop: str,
        base_url: str,
        access_token: SecretStr,
        *,
        api_version: str = DEFAULT_API_VERSION,
        page_size: int = PAGE_SIZE,
        transport: ShopTransport | None = None,
        cost: CostBudget | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_throttled: int = 30,
        bulk_above: int = BULK_ABOVE,
        bulk_poll_seconds: float = 1.0,
    ) -> None:
        self.shop = shop
        self.api_version = api_version
        self.served_version: str | None = None  # what Shopify's answers say they are
        self.endpoint = f"{base_url.rstrip('/')}/admin/api/{api_version}/graphql.json"
        self.page_size = page_size  # halved while Shopify answers MAX_COST_EXCEEDED
        self.auth = shopify_auth(access_token)
        self.transport = transport or ShopTransport(shop)
        self.cost = cost or CostBudget()  # the pace of GraphQL: query cost, not calls
        self.clock = clock
        self.max_throttled = max_throttled
        self.bulk_above = bulk_above
        self.bulk_poll_seconds = bulk_poll_seconds
        self.throttled = 0
        self.bulk_operations = 0
        self._scopes: set[str] | None = None

    # -- the three things a connector does -----------------------------------------------------

    def list_orders(self, window: ImportWindow) -> Iterator[dict[str, Any]]:
        """Every order created in the window (any status), oldest first, each read whole."""
        for order in self._pages(ORDERS, window):
            yield whole_order(order, self.query, self.shop)

    def fetch_order(self, order_id: str) -> dict[str, Any]:
        gid = order_id if order_id.startswith("gid://") else f"gid://shopify/Order/{order_id}"
        data = self.query("order", ORDER, {"id": gid})
        order = data.get("order")
        if order is None:
            raise SourceRequestError(
                f"{self.shop}: Shopify has no order {order_id} (or it is older than 60 days and "
                "the app lacks the read_all_orders scope)",
                shop=self.shop,
                status=404,
            )
        found: dict[str, Any] = whole_order(order, self.query, self.shop)
        return found

    def count_orders(self, window: ImportWindow) -> tuple[int, bool]:
        """The count, and whether it is exact (``AT_LEAST`` means "this many or more")."""
        self._check_reach(window)
        counted = self.query("count", COUNT, {"query": search(window)})["ordersCount"]
        return int(counted["count"]), counted.get("precision") == "EXACT"

    def list_ids(self, span: ImportWindow) -> Iterator[dict[str, Any]]:
        """Ids and creation times of the span's orders: in bulk when many (or when the count
        is only a lower bound), paged when few."""
        count, exact = self.count_orders(span)
        if count > self.bulk_above or not exact:
            yield from self._bulk_ids(span)
        else:
            yield from self._pages(ORDER_IDS, span, first=250)

    # -- GraphQL over the shared transport, paced by the cost bucket ------------------------

    def query(self, operation: str, text: str, variables: dict[str, Any]) -> dict[str, Any]:
        """The ``data`` of a query; waits for the budget, and again whenever THROTTLED."""
        for _ in range(self.max_throttled):
            self.cost.before(operation)
            body, response = self.transport.post_json(
                self.endpoint, {"query": text, "variables": variables}, auth=self.auth
            )
            self._note_version(response.headers.get(VERSION_HEADER))
            if not isinstance(body, dict):
                raise SourceUnavailableError(
                    f"{self.shop}: GraphQL answered with something that is not an object",
                    shop=self.shop,
                )
            self.cost.observe(operation, (body.get("extensions") or {}).get("cost"))
            errors = body.get("errors") or []
            if isinstance(errors, list) and any(_code(e) == "THROTTLED" for e in errors):
                self.throttled += 1
                self.transport.rate_limited += 1
                continue
            if isinstance(errors, list) and any(_code(e) == "MAX_COST_EXCEEDED" for e in errors):
                raise _TooCostly(
                    f"{self.shop}: Shopify refused the {operation} query as too costly even "
                    f"at one order a page ({_message(errors)}); report it",
                    shop=self.shop,
                )
            if errors:
                raise SourceRequestError(
                    f"{self.shop}: Shopify refused the {operation} query: {_message(errors)}; "
                    "check the "
                    "API version and the app's scopes",
                    shop=self.shop,
                )
            data: dict[str, Any] = body.get("data") or {}
            return data
        raise SourceUnavailableError(
            f"{self.shop}: still THROTTLED after {self.max_throttled} waits; the window stays "
            "open and is read again by the next import or pass",
            shop=self.shop,
            status=429,
        )

    def _pages(
        self, text: str, window: ImportWindow, *, first: int | None = None
    ) -> Iterator[dict[str, Any]]:
        self._check_reach(window)
        operation = "ids" if text is ORDER_IDS else "orders"
        after: str | None = None
        seen: set[str] = set()
        while True:
            size = first or self.page_size
            variables = {"first": size, "after": after, "query": search(window)}
            try:
                connection = self.query(operation, text, variables).get("orders")
            except _TooCostly:
                if size <= 1:
                    raise
                halved = max(1, size // 2)
                if first is None:
                    self.page_size = halved
                else:
                    first = halved
                continue
            if not isinstance(connection, dict) or not isinstance(connection.get("nodes"), list):
                raise SourceUnavailableError(
                    f"{self.shop}: an orders answer without its nodes for {window}; the window "
                    "stays open and is read again by the next import or pass",
                    shop=self.shop,
                )
            yield from connection["nodes"]
            info = connection.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return
            after = info.get("endCursor")
            if not after or after in seen:
                raise SourceRequestError(
                    f"{self.shop}: Shopify returned the same cursor twice for {window}; stopping "
                    "to avoid a loop",
                    shop=self.shop,
                )
            seen.add(after)

    def _bulk_ids(self, span: ImportWindow) -> Iterator[dict[str, Any]]:
        fields = "id createdAt updatedAt cancelledAt sourceName"
        inner = f'{{ orders(query: "{search(span)}") {{ edges {{ node {{ {fields} }} }} }} }}'
        started = self.query("bulk", BULK_RUN, {"query": inner})["bulkOperationRunQuery"]
        if started.get("userErrors"):
            raise SourceUnavailableError(
                f"{self.shop}: Shopify did not start the bulk query: "
                f"{started['userErrors'][0].get('message')}; reconciliation is tried again later",
                shop=self.shop,
            )
        self.bulk_operations += 1
        operation = (started.get("bulkOperation") or {}).get("id")
        if not operation:
            raise SourceUnavailableError(
                f"{self.shop}: Shopify started a bulk query without naming it; reconciliation "
                "is tried again later",
                shop=self.shop,
            )
        current = self.api_version >= BULK_OPERATION_SINCE
        text, root = (BULK_STATUS, "bulkOperation") if current else (BULK_NODE, "node")
        while True:
            status = self.query("bulk-status", text, {"id": operation})[root]
            if status and status.get("status") == "COMPLETED":
                break
            if status and status.get("status") in ("FAILED", "CANCELED", "EXPIRED"):
                raise SourceUnavailableError(
                    f"{self.shop}: the bulk query ended {status['status']} "
                    f"({status.get('errorCode')}); reconciliation is tried again later",
                    shop=self.shop,
                )
            time.sleep(self.bulk_poll_seconds)
        expected = int(status.get("objectCount") or 0)
        if not status.get("url"):
            if expected:
                raise SourceUnavailableError(
                    f"{self.shop}: the bulk query counted {expected} orders but gave no file; "
                    "reconciliation is tried again later",
                    shop=self.shop,
                )
            return  # no orders: Shopify gives no file
        read = 0
        try:
            response = requests.get(status["url"], timeout=120, stream=True)
            response.raise_for_status()
            for line in response.iter_lines():
                if line:
                    read += 1
                    yield json.loads(line)
        except (requests.RequestException, ValueError) as err:
            raise SourceUnavailableError(
                f"{self.shop}: the bulk query's file could not be downloaded whole "
                f"({type(err).__name__}); reconciliation is tried again later",
                shop=self.shop,
            ) from err
        if read < expected:
            raise SourceUnavailableError(
                f"{self.shop}: the bulk query's file held {read} of the {expected} orders it "
                "counted; reconciliation is tried again later",
                shop=self.shop,
            )

    def _note_version(self, served: str | None) -> None:
        """Shopify answers an unsupported version with another one, saying so in a header."""
        if not served or served == self.served_version:
            return
        first_time = self.served_version is None
        self.served_version = served
        if served != self.api_version and first_time:
            log.warning(
                "%s: asked Shopify for API version %s and was answered in %s (Shopify falls "
                "forward past its support window); set api_version = %r in the shops file",
                self.shop,
                self.api_version,
                served,
                served,
            )

    def _check_reach(self, window: ImportWindow) -> None:
        cutoff = self.clock() - timedelta(days=RECENT_DAYS)
        if window.start >= cutoff:
            return
        if self._scopes is None:
            data = self.query("scopes", SCOPES, {})
            installation = data.get("currentAppInstallation") or {}
            self._scopes = {s["handle"] for s in installation.get("accessScopes") or []}
        if "read_all_orders" not in self._scopes:
            raise beyond_reach(self.shop, window, cutoff)


class _TooCostly(SourceRequestError):
    """MAX_COST_EXCEEDED: the query asks for more than Shopify's single-query limit."""


def _code(error: Any) -> str | None:
    return (error.get("extensions") or {}).get("code") if isinstance(error, dict) else None


def _message(errors: Any) -> str:
    first = errors[0] if isinstance(errors, list) and errors else errors
    return str(first.get("message") if isinstance(first, dict) else first)[:200]


def search(window: ImportWindow) -> str:
    """Shopify's search syntax for the half-open window."""
    return (
        f"created_at:>='{window.start.astimezone(UTC).isoformat()}' "
        f"created_at:<'{window.end.astimezone(UTC).isoformat()}'"
    )


__all__ = ["ShopifyGraphQLSource", "search"]
