"""Shopify's search syntax as the GraphQL simulator reads it: the created_at span of an orders
query (`created_at:>='…' created_at:<'…'`), in a search argument or inside a bulk query."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from graphql import GraphQLError

SEARCH_TERM = re.compile(r"created_at:(>=|<=|>|<)'?([0-9T:\-.+Z]+)'?")


def search_span(query: str) -> tuple[datetime | None, datetime | None]:
    """The span a search string's created_at terms give (open ends are None)."""
    low: datetime | None = None
    high: datetime | None = None
    for operator, value in SEARCH_TERM.findall(query):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as err:
            raise GraphQLError(f"Invalid search date {value!r}") from err
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if operator == ">=":
            low = moment
        elif operator == ">":
            low = moment + timedelta(microseconds=1)
        elif operator == "<":
            high = moment
        else:
            high = moment + timedelta(microseconds=1)
    return low, high


def bulk_span(query: str) -> tuple[datetime | None, datetime | None]:
    """The created_at span of a bulk query over orders (the only kind this simulator runs)."""
    if "orders" not in query:
        raise ValueError("this simulator runs bulk queries over orders only")
    inner = re.search(r'query:\s*"((?:[^"\\]|\\.)*)"', query)
    text = inner.group(1).replace('\\"', '"') if inner else ""
    return search_span(text)


__all__ = ["bulk_span", "search_span"]
