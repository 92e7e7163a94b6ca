"""What a caller of ``/api/solr-query`` may ask Solr, decided before Solr sees it.

The endpoint only ever reaches the guarded search handler of an allowed core. The guard lets
through what searching that core needs and nothing else:

- parameters by name, from the allow-list in ``params.py``; every other name is refused;
- values read the way Solr will read them (``values.py``): escapes and percent encoding undone
  before looking for local params, macros, ``_query_`` and ``$name`` references;
- every count a caller sets is capped, and all the buckets of its facets added up
  (``budget.py``), above the cap is a refusal, never a silent truncation;
- the body itself is bounded (``values.py``): finite numbers, valid Unicode, shallow nesting,
  bounded bracket depth in queries.

The configset's ``/search`` handler enforces the same limits again (see solrconfig.xml).
Every refusal names the offending key and says what to do instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pipeline.errors import RefusedQueryError
from pipeline.search.budget import DEFAULT_LIMITS, QueryLimits, RequestBudget, strings
from pipeline.search.params import (
    FACET_DOMAIN_KEYS,
    FACET_KEYS,
    FACET_TYPES,
    JSON_REQUEST_KEYS,
    SAFE_PARSERS,
    SAFE_QUERY_ARGUMENTS,
    SOLR_CONTROL_PARAMS,
    WHY_REFUSED,
    Kind,
    param_kind,
    why_refused,
)
from pipeline.search.values import check_fields, check_text, check_well_formed, refuse_name

CORE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class GuardedQuery:
    """A request that passed the guard: the ``json`` value to send and the core to send it to."""

    json: dict[str, Any]
    core: str
    # Worth Solr's task tracking (a query the API abandons is cancelled in Solr): facets, facet
    # and function queries, grouping, more-like-this, stats, highlighting. A plain search skips
    # it: tracking makes Solr take the distributed path, ~5 ms a request on one shard.
    cancellable: bool = False


def guard_request(
    body: Any, *, allowed_cores: tuple[str, ...], limits: QueryLimits = DEFAULT_LIMITS
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
    return GuardedQuery(json=value, core=core, cancellable=costs_more_than_a_search(value))


COSTLY_PARAMS = ("facet", "group", "mlt", "expand", "stats", "hl")


def costs_more_than_a_search(value: Any) -> bool:
    """Whether a guarded ``json`` value asks Solr for more than matching and a page of results:
    facets of either API, local parameters (function queries, frange) or grouping and the like,
    the work that ``timeAllowed`` does not stop everywhere."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "facet" or key.split(".", 1)[0] in COSTLY_PARAMS:
                return True
            if costs_more_than_a_search(item):
                return True
        return False
    if isinstance(value, list):
        return any(costs_more_than_a_search(item) for item in value)
    return isinstance(value, str) and ("{!" in value or "_val_" in value)


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


LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def label(name: Any, where: str, *, parameter_names: bool = False) -> None:
    """A name the caller gives (a named query, a facet): a plain word, never a path, a dotted
    parameter or (for named queries, which Solr keeps among the request's parameters) the name
    of a parameter, so that no key becomes a parameter the guard did not read."""
    if not isinstance(name, str) or not LABEL.fullmatch(name):
        raise RefusedQueryError(
            f"the name {str(name)[:40]!r} in {where} is not allowed; name it with letters, digits "
            "and '_' (at most 64, starting with a letter)",
            key=f"{where}.{str(name)[:40]}",
        )
    if parameter_names and (
        param_kind(name) is not None or name in WHY_REFUSED or name in SOLR_CONTROL_PARAMS
    ):
        raise RefusedQueryError(
            f"the name {name!r} in {where} is a Solr request parameter's; choose another name",
            key=f"{where}.{name}",
        )


class _RequestCheck:
    """Walks one ``json`` value; each method checks one part of Solr's JSON Request API."""

    def __init__(self, limits: QueryLimits) -> None:
        self.limits = limits
        self.budget = RequestBudget(limits)

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
            self.budget.count("limit", value["limit"], Kind.ROWS)
        if "offset" in value:
            self.budget.count("offset", value["offset"], Kind.START)
        for key in ("query", "filter"):
            if key in value:
                self.query_dsl(value[key], key)
        if "filter" in value:
            filters = value["filter"]
            self.budget.run_queries(len(filters) if isinstance(filters, list) else 1, "filter")
        if "queries" in value:
            queries = value["queries"]
            if not isinstance(queries, dict):
                raise RefusedQueryError(
                    "'queries' must be an object of named queries", key="queries"
                )
            for name, query in queries.items():
                label(name, "queries", parameter_names=True)
                self.query_dsl(query, f"queries.{name}")
        if "fields" in value:
            for fields in strings(value["fields"]):
                check_fields(fields, "fields")
        if "sort" in value:
            for text in strings(value["sort"]):
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
            if key in ("fq", "facet.query"):
                self.budget.run_queries(len(list(strings(param))), key)
        self.budget.classic_ranges(params)
        self.budget.classic_facets(params)
        self.budget.documents(params, limit=value.get("limit"))

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
            self.budget.count(key, value, kind)
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
            label(name, where)
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
            own = self.budget.range_buckets(
                (f"{where}.start", facet.get("start")),
                (f"{where}.end", facet.get("end")),
                (f"{where}.gap", facet.get("gap")),
            )
        elif facet.get("type") == "query":
            own = 1
            self.budget.run_queries(outer, where)
        else:
            own = self.budget.count(f"{where}.limit", facet.get("limit", 10), Kind.BUCKETS)
        for key in ("limit", "offset", "overrequest"):
            if isinstance(facet.get(key), list | dict):
                raise RefusedQueryError(
                    f"{where}.{key} must be one whole number", key=f"{where}.{key}"
                )
        total = outer * max(1, own)
        self.budget.spend(total, where)
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
                self.budget.count(path, sub, Kind.BUCKETS)
            elif key == "offset":
                self.budget.count(path, sub, Kind.START)
            elif key == "facet":
                self.facet_map(sub, path, total)
            elif key in ("q", "query"):
                self.query_dsl(sub, path)
            elif key == "domain":
                self.domain(sub, path)
            else:
                for text in strings(sub):
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
                for text in strings(sub):
                    check_text(text, f"{where}.{key}")
            else:
                self.query_dsl(sub, f"{where}.{key}")

    # -- values ------------------------------------------------------------------------------


__all__ = ["GuardedQuery", "QueryLimits", "guard_request"]
