"""Cursor paging as the GraphQL Admin API does it: top-level and nested connections alike."""

from __future__ import annotations

import base64
import json
from typing import Any

from graphql import GraphQLError

# What a version answers for a word added after it (2026-10's FULFILLMENT_NOT_REQUIRED).
OLDER_WORDS = {"FULFILLMENT_NOT_REQUIRED": "FULFILLED"}


def nested_page(nodes: list[Any], first: int | None, after: str | None) -> dict[str, Any]:
    """A page of a nested connection (an order's line items), with Shopify's cursors."""
    if first is None or not 1 <= first <= 250:
        raise GraphQLError("first must be between 1 and 250")
    offset = position(after) if after else 0
    page = nodes[offset : offset + first]
    edges = [{"cursor": cursor(offset + n + 1), "node": node} for n, node in enumerate(page)]
    return {
        "edges": edges,
        "nodes": page,
        "pageInfo": {
            "hasNextPage": offset + first < len(nodes),
            "hasPreviousPage": offset > 0,
            "endCursor": edges[-1]["cursor"] if edges else None,
            "startCursor": edges[0]["cursor"] if edges else None,
        },
    }


def cursor(at: int) -> str:
    return base64.b64encode(json.dumps({"position": at}).encode()).decode()


def position(after: str) -> int:
    """Where a cursor points; a cursor not ours is Shopify's own error."""
    try:
        return int(json.loads(base64.b64decode(after))["position"])
    except (ValueError, KeyError, TypeError) as err:
        raise GraphQLError("Invalid cursor for current pagination sort.") from err


__all__ = ["OLDER_WORDS", "cursor", "nested_page", "position"]
