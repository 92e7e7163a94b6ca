"""Shopify's GraphQL Admin API, served with graphql-core from Shopify's published schema.

The schema of each API version is Shopify's own introspection dump (``@shopify/dev-mcp``, see
``pipeline/contracts.py``), so every type, enum, custom scalar and deprecation is Shopify's; only
the fields the connector reads have resolvers (plain functions over the rendered orders), and a
query asking for anything else validates as it would at Shopify and answers ``null`` there.
graphql-core parses a query once so that its cost is known before it runs.

- ``POST /admin/api/{version}/graphql.json`` with ``{"query", "variables"}``, header
  ``X-Shopify-Access-Token``. A version past Shopify's twelve-month support window is answered
  by the oldest supported one, and every answer names its version in ``X-Shopify-API-Version``.
- ``orders(first ≤ 250, after, sortKey: CREATED_AT, reverse, query)`` with ``pageInfo`` and
  cursors; the search syntax ``created_at:>='…' created_at:<'…'`` (also ``>``, ``<=``);
  ``order(id: "gid://shopify/Order/…")``; ``ordersCount(query) { count precision }``.
- Cost: an object costs 1, a connection 2 plus ``first`` times its node's cost, scalars nothing
  (Shopify's calculated query cost); a query over 1,000 points is refused (``MAX_COST_EXCEEDED``).
  A bucket of ``maximum_available`` points (default 2,000) refills at ``restore_rate`` points a
  second (default 100, the Standard plan's); each answer carries ``extensions.cost``
  ``{requestedQueryCost, actualQueryCost, throttleStatus {maximumAvailable, currentlyAvailable,
  restoreRate}}``; a query costing more than what is available gets ``THROTTLED``.
- ``bulkOperationRunQuery(query)`` runs bulk queries: one at a time before 2026-01, up to five
  at once from 2026-01; ``bulkOperation(id)`` (2026-01+), ``bulkOperations(first, query)``,
  ``node(id)`` and the deprecated ``currentBulkOperation`` report them; when ``COMPLETED`` the
  ``url`` serves the JSONL (one node a line).
- ``ordersCount`` counts at most ``limit`` (10,000 unless the query says otherwise, ``null`` for
  no limit) and says ``AT_LEAST`` when it stopped there.
- Without the ``read_all_orders`` scope, orders created more than 60 days ago do not exist.
"""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from graphql import (
    GraphQLEnumType,
    GraphQLError,
    get_named_type,
    graphql_sync,
    parse,
    validate,
)

from pipeline.contracts import Contracts
from pipeline.simulators.catalog import OrderCatalog, SimOrder
from pipeline.simulators.graphql_cost import (
    MAX_QUERY_COST,
    CostBucket,
    answer_cost,
    query_cost,
)
from pipeline.simulators.graphql_pages import OLDER_WORDS, cursor, nested_page, position
from pipeline.simulators.search_syntax import bulk_span, search_span
from pipeline.simulators.shopify_schema import admin_schema
from pipeline.simulators.shopify_webhooks import WebhookSubscriptions
from pipeline.simulators.webhooks import WebhookSender
from pipeline.sources.shopify_versions import released_at, supported_on


class ShopData(Protocol):
    """What the GraphQL endpoint needs of its shop (the ShopifySimulator): no import of it."""

    catalog: OrderCatalog

    @property
    def url(self) -> str: ...

    def now(self) -> datetime: ...

    def render_graphql(self, order: SimOrder) -> dict[str, Any]: ...

    def graphql_time(self, moment: datetime) -> str: ...

    @property
    def webhooks(self) -> WebhookSender | None: ...


class GraphQLAdmin(WebhookSubscriptions):
    """The GraphQL endpoint of one simulated shop."""

    def __init__(
        self,
        sim: ShopData,
        *,
        maximum_available: float = 2000.0,
        restore_rate: float = 100.0,
        scopes: tuple[str, ...] = ("read_orders",),
        bulk_seconds: float = 0.3,
        count_cap: int | None = None,
        contracts: Contracts,
    ) -> None:
        self.sim = sim
        self.contracts = contracts
        self.count_cap = count_cap  # counts stop here (AT_LEAST) even when asked for no limit
        self.bulk_truncate = 0  # a fault: the download loses its last lines
        self.bucket = CostBucket(maximum_available, restore_rate)
        self.scopes = scopes
        self.bulk_seconds = bulk_seconds
        self.throttled = 0
        self.spent = 0.0  # actual cost of every answered query
        self._bulks: dict[str, dict[str, Any]] = {}  # by id, oldest first
        self._bulk_results: dict[str, str] = {}
        self._version = ""  # of the query being answered
        self._lock = threading.Lock()

    # -- the endpoint ------------------------------------------------------------------------

    def served_version(self, asked: str) -> str | None:
        """The version that answers a request for ``asked`` (None: no such version)."""
        known = self.contracts.shopify_versions()
        now = datetime.now(UTC)
        supported = [version for version in known if supported_on(version, now)]
        if asked in supported:
            return asked
        try:
            past = released_at(asked) <= now
        except ValueError:
            return None
        return supported[0] if past and supported else None

    def answer(self, body: dict[str, Any], version: str) -> tuple[int, dict[str, Any]]:
        schema = admin_schema(self.contracts, version)
        query, variables = body.get("query"), body.get("variables") or {}
        if not isinstance(query, str) or not isinstance(variables, dict):
            return 400, {"errors": {"query": "Required parameter missing or invalid"}}
        try:
            document = parse(query)
        except GraphQLError as err:
            return 200, {"errors": [err.formatted]}
        problems = validate(schema, document)
        if problems:
            return 200, {"errors": [p.formatted for p in problems]}
        requested = query_cost(document, variables)
        if requested > MAX_QUERY_COST:
            return 200, {
                "errors": [
                    {
                        "message": f"Query cost is {requested}, which exceeds the single query "
                        f"max cost limit ({MAX_QUERY_COST}).",
                        "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested,
                                       "maxCost": MAX_QUERY_COST},
                    }
                ]
            }  # fmt: skip
        allowed, available = self.bucket.take(requested)
        if not allowed:
            self.throttled += 1
            return 200, {
                "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                "extensions": {
                    "cost": {
                        "requestedQueryCost": requested,
                        "actualQueryCost": None,
                        "throttleStatus": self.bucket.status(available),
                    }
                },
            }
        with self._lock:
            self._version = version
        result = graphql_sync(
            schema,
            query,
            root_value=self,
            variable_values=variables,
            field_resolver=_resolve,
        )
        actual = answer_cost(result.data) if result.data else requested
        available = self.bucket.refund(max(0, requested - actual))
        self.spent += actual
        payload: dict[str, Any] = {
            "extensions": {
                "cost": {
                    "requestedQueryCost": requested,
                    "actualQueryCost": actual,
                    "throttleStatus": self.bucket.status(available),
                }
            }
        }
        if result.data is not None:
            payload["data"] = result.data
        if result.errors:
            payload["errors"] = [error.formatted for error in result.errors]
        return 200, payload

    def webhook_sender(self) -> WebhookSender | None:
        return self.sim.webhooks

    def bulk_file(self, operation: str) -> str | None:
        text = self._bulk_results.get(operation)
        if text is None or not self.bulk_truncate:
            return text
        return "".join(text.splitlines(keepends=True)[: -self.bulk_truncate])

    # -- resolvers (graphql-core calls these with info and the field's arguments) -----------

    def orders(
        self,
        info: Any,
        first: int | None = None,
        after: str | None = None,
        sortKey: str = "CREATED_AT",  # noqa: N803  (GraphQL's argument name)
        reverse: bool = False,
        query: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        if first is None or not 1 <= first <= 250:
            raise GraphQLError("first must be between 1 and 250")
        low, high = self._search(query)
        orders = self._visible(low, high)
        if sortKey not in ("CREATED_AT", "ID", "PROCESSED_AT"):
            raise GraphQLError(f"sortKey {sortKey} is not supported by this simulator")
        if reverse:
            orders = orders[::-1]
        if after:
            offset = position(after)
            orders = orders[offset:]
        else:
            offset = 0
        page = orders[:first]
        edges = [
            {"cursor": cursor(offset + n + 1), "node": self.sim.render_graphql(order)}
            for n, order in enumerate(page)
        ]
        return {
            "edges": edges,
            "nodes": [edge["node"] for edge in edges],
            "pageInfo": {
                "hasNextPage": len(orders) > first,
                "hasPreviousPage": offset > 0,
                "endCursor": edges[-1]["cursor"] if edges else None,
                "startCursor": edges[0]["cursor"] if edges else None,
            },
        }

    def order(self, info: Any, id: str) -> dict[str, Any] | None:  # noqa: A002
        number = _number(id)
        found = self.sim.catalog.get(number, self.sim.now()) if number is not None else None
        if found is None or not self._in_scope(found):
            return None
        return self.sim.render_graphql(found)

    def ordersCount(  # noqa: N802  (GraphQL's field name)
        self, info: Any, query: str | None = None, limit: int | None = None, **_: Any
    ) -> dict[str, Any]:
        """``limit`` arrives as the schema's default (10,000) unless the query sets it."""
        low, high = self._search(query)
        count = len(self._visible(low, high))
        if self.count_cap is not None:
            limit = min(limit or self.count_cap, self.count_cap)
        if limit is not None and count > limit:
            return {"count": limit, "precision": "AT_LEAST"}
        return {"count": count, "precision": "EXACT"}

    def currentAppInstallation(self, info: Any) -> dict[str, Any]:  # noqa: N802
        return {"accessScopes": [{"handle": scope} for scope in self.scopes]}

    def currentBulkOperation(self, info: Any, **_: Any) -> dict[str, Any] | None:  # noqa: N802
        states = self._bulk_states()
        return states[-1] if states else None

    def bulkOperation(self, info: Any, id: str) -> dict[str, Any] | None:  # noqa: A002, N802
        return next((state for state in self._bulk_states() if state["id"] == id), None)

    def bulkOperations(  # noqa: N802
        self, info: Any, first: int | None = None, query: str | None = None, **_: Any
    ) -> dict[str, Any]:
        states = self._bulk_states()[::-1]  # newest first, as Shopify sorts them
        wanted = re.findall(r"status:(\w+)", query or "")
        nodes = [s for s in states if not wanted or s["status"].lower() == wanted[0].lower()]
        nodes = nodes[: first or 10]
        return {"nodes": nodes, "edges": [{"cursor": n["id"], "node": n} for n in nodes],
                "pageInfo": {"hasNextPage": False, "hasPreviousPage": False,
                             "startCursor": None, "endCursor": None}}  # fmt: skip

    def node(self, info: Any, id: str) -> dict[str, Any] | None:  # noqa: A002
        return self.bulkOperation(info, id)

    def bulkOperationRunQuery(self, info: Any, query: str, **_: Any) -> dict[str, Any]:  # noqa: N802
        with self._lock:
            running = [s for s in self._bulk_states() if s["status"] in ("CREATED", "RUNNING")]
            allowed = 5 if self._version >= "2026-01" else 1
            if len(running) >= allowed:
                return {"bulkOperation": None, "userErrors": [
                    {"field": ["query"],
                     "message": "A bulk query operation for this app and shop is already in "
                                "progress: " + running[0]["id"] + "."}]}  # fmt: skip
            try:
                low, high = bulk_span(query)
            except ValueError as err:
                return {"bulkOperation": None,
                        "userErrors": [{"field": ["query"], "message": str(err)}]}  # fmt: skip
            number = len(self._bulk_results) + 1
            operation = f"gid://shopify/BulkOperation/{number}"
            orders = self._visible(low, high)
            wanted = re.findall(r"node\s*\{([^}]*)\}", query)
            fields = wanted[0].split() if wanted else ["id"]
            lines = [
                json.dumps({k: v for k, v in self.sim.render_graphql(o).items() if k in fields})
                for o in orders
            ]
            self._bulks[operation] = {
                "id": operation,
                "query": query,
                "createdAt": self.sim.graphql_time(datetime.now(UTC)),
                "started": time.monotonic(),
                "count": len(lines),
            }
            self._bulk_results[operation] = "\n".join(lines) + ("\n" if lines else "")
            return {"bulkOperation": self._state(self._bulks[operation]), "userErrors": []}

    # -- helpers -------------------------------------------------------------------------------

    def _bulk_states(self) -> list[dict[str, Any]]:
        return [self._state(bulk) for bulk in list(self._bulks.values())]

    def _state(self, bulk: dict[str, Any]) -> dict[str, Any]:
        done = time.monotonic() - bulk["started"] >= self.bulk_seconds
        number = bulk["id"].rsplit("/", 1)[1]
        size = len(self._bulk_results.get(bulk["id"], ""))
        return {
            "id": bulk["id"],
            "type": "QUERY",
            "status": "COMPLETED" if done else "RUNNING",
            "errorCode": None,
            "objectCount": str(bulk["count"] if done else 0),
            "rootObjectCount": str(bulk["count"] if done else 0),
            "fileSize": str(size) if done and bulk["count"] else None,
            "url": f"{self.sim.url}/_sim/bulk/{number}.jsonl" if done and bulk["count"] else None,
            "partialDataUrl": None,
            "createdAt": bulk["createdAt"],
            "completedAt": bulk["createdAt"] if done else None,
            "query": bulk["query"],
            "__typename": "BulkOperation",
        }

    def _search(self, query: str | None) -> tuple[datetime | None, datetime | None]:
        return search_span(query or "")

    def _visible(self, low: datetime | None, high: datetime | None) -> list[SimOrder]:
        """Orders created in [low, high) (as the search said), within the app's scopes."""
        orders = self.sim.catalog.created_between(None, None, high_inclusive=True,
                                                  now=self.sim.now())  # fmt: skip
        return [
            o
            for o in orders
            if (low is None or o.created_at >= low)
            and (high is None or o.created_at < high)
            and self._in_scope(o)
        ]

    def _in_scope(self, order: SimOrder) -> bool:
        if "read_all_orders" in self.scopes:
            return True
        return order.created_at >= datetime.now(UTC) - timedelta(days=60)


def _resolve(source: Any, info: Any, **args: Any) -> Any:
    """Root fields are methods of GraphQLAdmin; below, rendered dicts."""
    name = info.field_name
    if isinstance(source, GraphQLAdmin):
        return getattr(source, name)(info, **args)
    if isinstance(source, dict):
        value = source.get(name)
        if name == "lineItems" and isinstance(value, dict):
            return nested_page(value["nodes"], args.get("first"), args.get("after"))
        kind = get_named_type(info.return_type)
        if (
            isinstance(kind, GraphQLEnumType)
            and isinstance(value, str)
            and value not in kind.values
        ):
            return OLDER_WORDS.get(value, value)  # a word this version does not have yet
        return value
    return getattr(source, name, None)


def _number(gid: str) -> int | None:
    match = re.fullmatch(r"gid://shopify/Order/(\d+)", gid)
    return int(match.group(1)) - 5_500_000_000_000 if match else None


__all__ = ["GraphQLAdmin"]
