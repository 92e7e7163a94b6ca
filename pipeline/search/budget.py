"""What one request may cost Solr, added up before Solr sees it.

Every count a caller sets is capped (rows, start, facet limits, the buckets of a range facet as
Solr's date math gives them), and the buckets of all the request's facets, pivots and ranges
together: sibling facets add up, nested ones multiply. Above a cap is a refusal naming the key,
never a silent truncation.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipeline.errors import RefusedQueryError
from pipeline.search.params import Kind
from pipeline.search.ranges import (
    EndlessRange,
    NotARangeValue,
    count_buckets,
    date_of,
    gap_size,
    seconds_or_number,
)


@dataclass(frozen=True)
class QueryLimits:
    """How much one request may ask of Solr."""

    max_rows: int = 1000
    max_facet_limit: int = 1000
    max_start: int = 100_000
    max_nested_buckets: int = 10_000
    max_documents: int = 5000  # rows x groups x group.limit, rows x mlt.count, rows x expand.rows
    max_queries: int = 50  # filters and facet queries a request runs besides its query

    def cap(self, kind: Kind) -> tuple[int, str]:
        """The cap of a counted kind and what to do instead of asking for more."""
        if kind is Kind.ROWS:
            return self.max_rows, "page with 'start' or cursorMark"
        if kind is Kind.START:
            return self.max_start, "narrow the query with a filter"
        return self.max_facet_limit, "ask for fewer buckets"


DEFAULT_LIMITS = QueryLimits()


class RequestBudget:
    """The running cost of one request, checked as the guard walks it."""

    def __init__(self, limits: QueryLimits) -> None:
        self.limits = limits
        self.now = time.time()
        self.spent = 0  # buckets of every facet, pivot and range of the request, added up
        self.queries = 0  # filters and facet queries, each a search of the whole core

    def spend(self, buckets: int, key: str) -> None:
        """Sibling facets add up: the whole request's buckets are capped, not each chain's."""
        self.spent += buckets
        if self.spent > self.limits.max_nested_buckets:
            raise RefusedQueryError(
                f"the request's facets, pivots and ranges ask for up to {self.spent} buckets in "
                f"all (at {key}), more than {self.limits.max_nested_buckets}; ask for fewer "
                "facets or lower their limits",
                key=key,
            )

    def run_queries(self, count: int, key: str) -> None:
        """Each filter and facet query searches the whole core (and facet queries do not stop at
        timeAllowed): the request's are added up and capped."""
        self.queries += count
        if self.queries > self.limits.max_queries:
            raise RefusedQueryError(
                f"the request runs {self.queries} filters and facet queries (at {key}), more "
                f"than {self.limits.max_queries}; combine them (OR) or ask in several requests",
                key=key,
            )

    def count(self, key: str, value: Any, kind: Kind) -> int:
        """The largest number given (a parameter may repeat), once each is within its cap."""
        cap, instead = self.limits.cap(kind)
        largest = 0
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, bool) or not isinstance(item, int | str | float):
                raise RefusedQueryError(f"{key} must be a whole number, not {item!r}", key=key)
            try:
                number = int(item)
            except (TypeError, ValueError, OverflowError) as err:
                raise RefusedQueryError(
                    f"{key} must be a whole number, not {item!r}", key=key
                ) from err
            if number < 0 or number > cap:
                raise RefusedQueryError(f"{key}={number} is outside 0..{cap}; {instead}", key=key)
            largest = max(largest, number)
        return largest

    def documents(self, params: dict[str, Any], *, limit: Any = None) -> int:
        """Documents one answer may carry, counted as Solr builds them: a page of ``rows``
        results; grouped, ``rows`` groups per group.field and one per group.query, each with
        group.limit documents; more-like-this, mlt.count for each result; expand, expand.rows
        for each. Refused above ``max_documents`` before Solr builds any of it."""

        def number(key: str, default: int, kind: Kind = Kind.ROWS) -> int:
            return self.count(key, params[key], kind) if key in params else default

        rows = self.count("limit", limit, Kind.ROWS) if limit is not None else number("rows", 10)
        on = {name: str(params.get(name, "")).lower() in ("true", "on", "1")
              for name in ("group", "mlt", "expand")}  # fmt: skip
        total, why = rows, f"rows={rows}"
        if on["group"]:
            groups = rows * len(list(strings(params.get("group.field", []))))
            groups += len(list(strings(params.get("group.query", []))))
            group_limit = number("group.limit", 1)
            total = groups * max(1, group_limit)
            why = f"{groups} groups x group.limit={group_limit}"
        if on["mlt"]:
            total += rows * number("mlt.count", 5)
            why += f" + rows x mlt.count={number('mlt.count', 5)}"
        if on["expand"]:
            total += rows * number("expand.rows", 5)
            why += f" + rows x expand.rows={number('expand.rows', 5)}"
        if total > self.limits.max_documents:
            key = "group.limit" if on["group"] else "mlt.count" if on["mlt"] else "expand.rows"
            raise RefusedQueryError(
                f"the answer would carry up to {total} documents ({why}), more than "
                f"{self.limits.max_documents}; ask for fewer rows, groups or similar documents",
                key=key,
            )
        return total

    def classic_ranges(self, params: dict[str, Any]) -> None:
        """facet.range=<field> with start/end/gap given globally or as f.<field>.facet.range.*."""
        for text in strings(params.get("facet.range", [])):
            field = re.sub(r"^\{![^}]*\}", "", text).strip()
            parts = {}
            for part in ("start", "end", "gap"):
                specific, general = f"f.{field}.facet.range.{part}", f"facet.range.{part}"
                key = specific if specific in params else general
                if key not in params:
                    break  # Solr itself says which one is missing
                parts[part] = (key, params[key])
            else:
                count = self.range_buckets(parts["start"], parts["end"], parts["gap"])
                self.spend(count, "facet.range")

    def classic_facets(self, params: dict[str, Any]) -> None:
        """facet.field and facet.pivot buckets (each field's facet.limit, 100 by default)."""

        def limit(field: str) -> int:
            for key in (f"f.{field}.facet.limit", "facet.limit"):
                if key in params:
                    return max(1, self.count(key, params[key], Kind.BUCKETS))
            return 100

        for text in strings(params.get("facet.field", [])):
            self.spend(limit(re.sub(r"^\{![^}]*\}", "", text).strip()), "facet.field")
        for text in strings(params.get("facet.pivot", [])):
            fields = re.sub(r"^\{![^}]*\}", "", text).split(",")
            self.spend(math.prod(limit(f.strip()) for f in fields), "facet.pivot")
        self.spend(len(list(strings(params.get("facet.query", [])))), "facet.query")

    def range_buckets(
        self, start: tuple[str, Any], end: tuple[str, Any], gap: tuple[str, Any]
    ) -> int:
        cap = self.limits.max_facet_limit
        try:
            count = count_buckets(
                start[1], end[1], gap[1], now=datetime.fromtimestamp(self.now, UTC), cap=cap
            )
        except EndlessRange as err:
            raise RefusedQueryError(
                f"{gap[0]}={gap[1]!r} does not move forward at every step ({err}); use a gap "
                "that does, such as +1DAY or +1MONTH",
                key=gap[0],
            ) from err
        except NotARangeValue as err:
            key, value = next(
                ((k, v) for k, v in (start, end, gap) if _unreadable(k, v, gap[0], self.now)),
                gap,
            )
            raise RefusedQueryError(
                f"{key}={value!r} is not a number, a positive gap or Solr date math such "
                "as NOW-7DAYS or +1DAY",
                key=key,
            ) from err
        if count > cap:
            raise RefusedQueryError(
                f"the range facet asks for more than {cap} buckets; use a larger {gap[0]} or a "
                "shorter range",
                key=gap[0],
            )
        return count


def _unreadable(key: str, value: Any, gap_key: str, now: float) -> bool:
    """Which of a range's three values is the one Solr could not read."""
    try:
        if key != gap_key:
            seconds_or_number(value, now=now)
        elif isinstance(value, str) and value.strip()[:1] in "+-" and not _number(value):
            date_of("NOW" + value.strip(), datetime.fromtimestamp(now, UTC))
        else:
            gap_size(value)
    except NotARangeValue:
        return True
    return False


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def strings(value: Any) -> Iterator[str]:
    """Every string in a value (a parameter may repeat, a facet nest)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)


__all__ = ["DEFAULT_LIMITS", "QueryLimits", "RequestBudget", "strings"]
