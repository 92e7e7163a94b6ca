"""What a caller of ``/api/solr-query`` may ask Solr, decided before Solr sees it.

The endpoint only ever reaches the guarded search handler of an allowed core. The guard lets
through what searching that core needs and nothing else:

- parameters by name, from the allow-list in ``params.py``; every other name is refused;
- values read the way Solr will read them (``values.py``): escapes and percent encoding undone
  before looking for local params, macros, ``_query_`` and ``$name`` references;
- every count a caller sets is capped (rows, start, group and expand sizes, facet limits, range
  facet buckets), above the cap is a refusal, never a silent truncation;
- the body itself is bounded (``values.py``): finite numbers, valid Unicode, shallow nesting,
  bounded bracket depth in queries.

The configset's ``/search`` handler enforces the same limits again (see solrconfig.xml).
Every refusal names the offending key and says what to do instead.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pipeline.errors import RefusedQueryError
from pipeline.search.params import (
    FACET_DOMAIN_KEYS,
    FACET_KEYS,
    FACET_TYPES,
    JSON_REQUEST_KEYS,
    SAFE_PARSERS,
    SAFE_QUERY_ARGUMENTS,
    Kind,
    param_kind,
    why_refused,
)
from pipeline.search.ranges import NotARangeValue, bucket_count, gap_size, seconds_or_number
from pipeline.search.values import check_fields, check_text, check_well_formed, refuse_name

CORE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class QueryLimits:
    """How much one request may ask of Solr."""

    max_rows: int = 1000
    max_facet_limit: int = 1000
    max_start: int = 100_000
    max_nested_buckets: int = 10_000

    def cap(self, kind: Kind) -> tuple[int, str]:
        """The cap of a counted kind and what to do instead of asking for more."""
        if kind is Kind.ROWS:
            return self.max_rows, "page with 'start' or cursorMark"
        if kind is Kind.START:
            return self.max_start, "narrow the query with a filter"
        return self.max_facet_limit, "ask for fewer buckets"


@dataclass(frozen=True)
class GuardedQuery:
    """A request that passed the guard: the ``json`` value to send and the core to send it to."""

    json: dict[str, Any]
    core: str


def guard_request(
    body: Any, *, allowed_cores: tuple[str, ...], limits: QueryLimits = QueryLimits()
) -> GuardedQuery:
    """Check a documented request body; return what may be sent, or raise ``RefusedQueryError``."""
    if not isinstance(body, dict):
        raise RefusedQueryError(
            "the request body must be a JSON object such as "
            '{"json": {"params": {"q": "docType:SHOPIFY_ORDER"}}, "coreName": "logInsights"}',
            key="(body)",
        )
    check_well_formed(body, "(body)", depth=0)
    unknown = sorted(set(body) - {"json", "coreName"})
    if unknown:
        raise RefusedQueryError(
            f"unknown key {unknown[0]!r} in the request body; send only 'json' and 'coreName'",
            key=unknown[0],
        )
    core = _core_name(body.get("coreName", allowed_cores[0]), allowed_cores)
    value = body.get("json")
    if not isinstance(value, dict):
        raise RefusedQueryError(
            '\'json\' must be an object, for example {"params": {"q": "docType:SHOPIFY_ORDER"}}',
            key="json",
        )
    _RequestCheck(limits).json_request(value)
    return GuardedQuery(json=value, core=core)


def _core_name(core: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(core, str) or not CORE_NAME.match(core):
        raise RefusedQueryError(
            f"coreName {core!r} is not a core name (letters, digits, '_', '-', '.' only); "
            f"use one of {list(allowed)}",
            key="coreName",
        )
    if core not in allowed:
        raise RefusedQueryError(
            f"coreName {core!r} is not served here; use one of {list(allowed)}", key="coreName"
        )
    return core


class _RequestCheck:
    """Walks one ``json`` value; each method checks one part of Solr's JSON Request API."""

    def __init__(self, limits: QueryLimits) -> None:
        self.limits = limits
        self.now = time.time()
        self.spent = 0  # buckets of every facet, pivot and range of the request, added up

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

    def json_request(self, value: dict[str, Any]) -> None:
        for key in value:
            if key not in JSON_REQUEST_KEYS:
                if param_kind(key) is None:
                    refuse_name(key)
                raise RefusedQueryError(
                    f"json key {key!r} is not part of Solr's JSON Request API; use one of "
                    f"{sorted(JSON_REQUEST_KEYS)}, or put request parameters under 'params'",
                    key=key,
                )
        if "limit" in value:
            self.count("limit", value["limit"], Kind.ROWS)
        if "offset" in value:
            self.count("offset", value["offset"], Kind.START)
        for key in ("query", "filter"):
            if key in value:
                self.query_dsl(value[key], key)
        if "queries" in value:
            queries = value["queries"]
            if not isinstance(queries, dict):
                raise RefusedQueryError(
                    "'queries' must be an object of named queries", key="queries"
                )
            for name, query in queries.items():
                self.query_dsl(query, f"queries.{name}")
        if "fields" in value:
            for fields in _strings(value["fields"]):
                check_fields(fields, "fields")
        if "sort" in value:
            for text in _strings(value["sort"]):
                check_text(text, "sort")
        if "facet" in value:
            self.facet_map(value["facet"], "facet")
        params = value.get("params", {})
        if not isinstance(params, dict):
            raise RefusedQueryError(
                '\'params\' must be an object of Solr request parameters, e.g. {"q": "*:*"}',
                key="params",
            )
        for key, param in params.items():
            self.param(key, param)
        self.classic_ranges(params)
        self.classic_facets(params)

    # -- request parameters, by name --------------------------------------------------------

    def param(self, key: str, value: Any) -> None:
        kind = param_kind(key)
        if kind is None:
            refuse_name(key)
        if kind is Kind.JSON_FACETS:
            for item in value if isinstance(value, list) else [value]:
                self.json_facet_param(key, item)
            return
        values = value if isinstance(value, list) else [value]
        for item in values:
            if not isinstance(item, str | int | float | bool):
                raise RefusedQueryError(
                    f"parameter {key!r} must be a string, number or boolean (or a list of them)",
                    key=key,
                )
        if kind in (Kind.ROWS, Kind.START, Kind.BUCKETS):
            self.count(key, value, kind)
        elif kind is Kind.WRITER:
            if values != ["json"]:
                raise RefusedQueryError(
                    f"wt={value!r} is not allowed; responses are JSON (remove wt or use 'json')",
                    key=key,
                )
        elif kind is Kind.PARSER and any(item not in SAFE_PARSERS for item in values):
            raise RefusedQueryError(
                f"defType={value!r} is not allowed; use one of {sorted(SAFE_PARSERS)}", key=key
            )
        for item in values:
            if isinstance(item, str):
                (check_fields if kind is Kind.FIELDS else check_text)(item, key)

    def json_facet_param(self, key: str, value: Any) -> None:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError) as err:
                raise RefusedQueryError(f"{key} is not valid JSON: {err}", key=key) from err
            check_well_formed(value, key, depth=2)
        self.facet_map(value, f"params.{key}")

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

    def classic_ranges(self, params: dict[str, Any]) -> None:
        """facet.range=<field> with start/end/gap given globally or as f.<field>.facet.range.*."""
        for text in _strings(params.get("facet.range", [])):
            field = re.sub(r"^\{![^}]*\}", "", text).strip()
            parts = {}
            for part in ("start", "end", "gap"):
                specific, general = f"f.{field}.facet.range.{part}", f"facet.range.{part}"
                key = specific if specific in params else general
                if key not in params:
                    break  # Solr itself says which one is missing
                parts[part] = (key, params[key])
            else:
                count = self.buckets(parts["start"], parts["end"], parts["gap"])
                self.spend(count, "facet.range")

    def classic_facets(self, params: dict[str, Any]) -> None:
        """facet.field and facet.pivot buckets (each field's facet.limit, 100 by default)."""

        def limit(field: str) -> int:
            for key in (f"f.{field}.facet.limit", "facet.limit"):
                if key in params:
                    return max(1, self.count(key, params[key], Kind.BUCKETS))
            return 100

        for text in _strings(params.get("facet.field", [])):
            self.spend(limit(re.sub(r"^\{![^}]*\}", "", text).strip()), "facet.field")
        for text in _strings(params.get("facet.pivot", [])):
            fields = re.sub(r"^\{![^}]*\}", "", text).split(",")
            self.spend(math.prod(limit(f.strip()) for f in fields), "facet.pivot")
        self.spend(len(list(_strings(params.get("facet.query", [])))), "facet.query")

    def buckets(self, start: tuple[str, Any], end: tuple[str, Any], gap: tuple[str, Any]) -> int:
        numbers = []
        for (key, value), read in (
            (start, lambda v: seconds_or_number(v, now=self.now)),
            (end, lambda v: seconds_or_number(v, now=self.now)),
            (gap, gap_size),
        ):
            try:
                numbers.append(read(value))
            except NotARangeValue as err:
                raise RefusedQueryError(
                    f"{key}={value!r} is not a number, a positive gap or Solr date math such "
                    "as NOW-7DAYS or +1DAY",
                    key=key,
                ) from err
        low, high, step = numbers
        count = bucket_count(low, high, step)
        if count > self.limits.max_facet_limit:
            about = f"about {int(count)}" if math.isfinite(count) else "more than any number of"
            raise RefusedQueryError(
                f"the range facet asks for {about} buckets, more than "
                f"{self.limits.max_facet_limit}; use a larger {gap[0]} or a shorter range",
                key=gap[0],
            )
        return int(count)

    # -- the JSON Query DSL and the JSON Facet API -------------------------------------------

    def query_dsl(self, value: Any, where: str) -> None:
        """A query in any of the JSON Query DSL's forms: string, list, or parser object."""
        if isinstance(value, str):
            check_text(value, where)
        elif isinstance(value, list):
            for item in value:
                self.query_dsl(item, where)
        elif isinstance(value, dict):
            for key, sub in value.items():
                if key.startswith("#"):
                    self.query_dsl(sub, where)
                    continue
                if key not in SAFE_PARSERS:
                    raise RefusedQueryError(
                        f"query parser {key!r} in {where} is not allowed; use one of "
                        f"{sorted(SAFE_PARSERS)}",
                        key=key,
                    )
                if isinstance(sub, dict):
                    for name, argument in sub.items():
                        if name not in SAFE_QUERY_ARGUMENTS:
                            raise RefusedQueryError(
                                f"{name!r} in {where}.{key} is not allowed "
                                f"({why_refused(name)}); remove it",
                                key=name,
                            )
                        self.query_dsl(argument, where)
                else:
                    self.query_dsl(sub, where)
        elif value is not None and not isinstance(value, int | float | bool):
            raise RefusedQueryError(f"{where} must be a string or a query object", key=where)

    def facet_map(self, value: Any, where: str, outer: int = 1) -> None:
        """Named facets: each a string (an aggregation such as unique(shop)) or a facet object.

        ``outer`` is how many buckets the enclosing facets make: nested facets multiply, and the
        product is capped too (``QueryLimits.max_nested_buckets``).
        """
        if not isinstance(value, dict):
            raise RefusedQueryError(
                f"{where} must be an object of named facets, e.g. "
                '{"shops": {"type": "terms", "field": "shop"}}',
                key=where,
            )
        for name, facet in value.items():
            path = f"{where}.{name}"
            if isinstance(facet, str):
                check_text(facet, path)
            elif isinstance(facet, dict):
                self.facet(facet, path, outer)
            else:
                raise RefusedQueryError(
                    f"facet {path} must be an aggregation string or a facet object", key=path
                )

    def facet(self, facet: dict[str, Any], where: str, outer: int = 1) -> None:
        if len(facet) == 1 and next(iter(facet)) in FACET_TYPES:
            kind, body = next(iter(facet.items()))
            facet = body if isinstance(body, dict) else {"field": body}
            facet = {"type": kind, **facet}
        if facet.get("type") == "range":
            own = self.buckets(
                (f"{where}.start", facet.get("start")),
                (f"{where}.end", facet.get("end")),
                (f"{where}.gap", facet.get("gap")),
            )
        elif facet.get("type") == "query":
            own = 1
        else:
            own = self.count(f"{where}.limit", facet.get("limit", 10), Kind.BUCKETS)
        for key in ("limit", "offset", "overrequest"):
            if isinstance(facet.get(key), list | dict):
                raise RefusedQueryError(
                    f"{where}.{key} must be one whole number", key=f"{where}.{key}"
                )
        total = outer * max(1, own)
        self.spend(total, where)
        if total > self.limits.max_nested_buckets:
            raise RefusedQueryError(
                f"facet {where} and the facets around it ask for up to {total} buckets (nested "
                f"facets multiply), more than {self.limits.max_nested_buckets}; lower a limit "
                "or nest less",
                key=where,
            )
        for key, sub in facet.items():
            path = f"{where}.{key}"
            if key not in FACET_KEYS:
                raise RefusedQueryError(
                    f"{key!r} in facet {where} is not allowed ({why_refused(key)}); use only "
                    f"{sorted(FACET_KEYS)}",
                    key=key if key in ("fromIndex", "zkHost", "solrUrl") else path,
                )
            if key == "type" and (not isinstance(sub, str) or sub not in FACET_TYPES):
                raise RefusedQueryError(
                    f"facet type {sub!r} in {where} is not allowed; use one of "
                    f"{sorted(FACET_TYPES)}",
                    key=path,
                )
            if key in ("limit", "overrequest"):
                self.count(path, sub, Kind.BUCKETS)
            elif key == "offset":
                self.count(path, sub, Kind.START)
            elif key == "facet":
                self.facet_map(sub, path, total)
            elif key in ("q", "query"):
                self.query_dsl(sub, path)
            elif key == "domain":
                self.domain(sub, path)
            else:
                for text in _strings(sub):
                    check_text(text, path)

    def domain(self, value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise RefusedQueryError(f"{where} must be an object", key=where)
        for key, sub in value.items():
            if key not in FACET_DOMAIN_KEYS:
                raise RefusedQueryError(
                    f"{key!r} in {where} is not allowed; a facet domain may only use "
                    f"{sorted(FACET_DOMAIN_KEYS)} (it stays within this core)",
                    key=key if key in ("fromIndex", "zkHost", "solrUrl") else f"{where}.{key}",
                )
            if key == "excludeTags":
                for text in _strings(sub):
                    check_text(text, f"{where}.{key}")
            else:
                self.query_dsl(sub, f"{where}.{key}")

    # -- values ------------------------------------------------------------------------------


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


__all__ = ["GuardedQuery", "QueryLimits", "guard_request"]
