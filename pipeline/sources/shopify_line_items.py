"""An order's line items over GraphQL, read to the end of their connection.

Each order of a listing comes with its first ``LINES_FIRST`` line items and the connection's
``pageInfo``; an order with more reads the rest by id, ``LINES_PAGE`` a page, until Shopify says
the end. A page that cannot be read leaves the connection saying ``hasNextPage``, so the mapping
refuses the order (``IncompleteOrder``): stored whole or not at all, and read again by id later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pipeline.errors import SourceRequestError, SourceUnavailableError

log = logging.getLogger(__name__)

LINE_FIELDS = "id title sku quantity requiresShipping originalUnitPriceSet { shopMoney { amount } }"
LINES_FIRST = 20  # line items read with each order; an order with more reads the rest by id
LINES_PAGE = 250  # line items a page when reading the rest (about 750 points)

# The rest of an order's line items, when the first page said there are more.
LINE_ITEMS = f"""
query LineItems($id: ID!, $after: String) {{
  order(id: $id) {{
    lineItems(first: {LINES_PAGE}, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ {LINE_FIELDS} }}
    }}
  }}
}}"""

Query = Callable[[str, str, dict[str, Any]], dict[str, Any]]


def whole_order(order: dict[str, Any], query: Query, shop: str) -> dict[str, Any]:
    """The order with every line item (or, if a page failed, still saying there are more)."""
    lines = order.get("lineItems")
    if not isinstance(lines, dict) or not (lines.get("pageInfo") or {}).get("hasNextPage"):
        return order
    nodes, info = list(lines.get("nodes") or []), dict(lines["pageInfo"])
    seen: set[str] = set()
    try:
        while info.get("hasNextPage"):
            after = info.get("endCursor")
            if not after or after in seen:
                raise SourceRequestError(
                    f"{shop}: Shopify returned the same line item cursor twice for order "
                    f"{order.get('id')}",
                    shop=shop,
                )
            seen.add(after)
            data = query("line-items", LINE_ITEMS, {"id": order["id"], "after": after})
            page = (data.get("order") or {}).get("lineItems")
            if not isinstance(page, dict) or not isinstance(page.get("nodes"), list):
                raise SourceUnavailableError(
                    f"{shop}: a line item page of order {order.get('id')} came without its nodes",
                    shop=shop,
                )
            nodes += page["nodes"]
            info = dict(page.get("pageInfo") or {})
    except (SourceUnavailableError, SourceRequestError) as err:
        log.warning(
            "%s: order %s has more line items than could be read (%s); it is not stored cut: "
            "it fails as incomplete and is read again whole later",
            shop, order.get("id"), err,
        )  # fmt: skip
    return {**order, "lineItems": {"nodes": nodes, "pageInfo": info}}


__all__ = ["LINES_FIRST", "LINES_PAGE", "LINE_FIELDS", "LINE_ITEMS", "whole_order"]
