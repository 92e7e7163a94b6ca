"""What a caller of ``/api/solr-query`` may ask Solr, decided before Solr sees it.

The endpoint only ever reaches the search handler of an allowed core, so the guard's job is to
refuse everything that would let a request act beyond searching that core: choose another handler
or core, fan out to other shards or hosts, stream content in, switch on debugging, parse XML, or
ask for unbounded work. It is an allow-list where Solr's surface is open-ended (top-level JSON
keys, query parsers, document transformers) and a deny-list where Solr's parameters are many and
mostly harmless. The same rules apply to a key at the top of ``json`` and inside its ``params``.
Every refusal names the offending key and what to do instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pipeline.errors import RefusedQueryError

KNOWN_TOP_LEVEL_KEYS = frozenset(
    {"query", "filter", "offset", "limit", "fields", "sort", "facet", "params", "queries"}
)
# Query parsers that only search the core they run in and parse no XML.
SAFE_PARSERS = frozenset(
    {
        "lucene",
        "edismax",
        "dismax",
        "field",
        "term",
        "terms",
        "prefix",
        "raw",
        "func",
        "frange",
        "bool",
        "boost",
        "complexphrase",
        "collapse",
    }
)
# Keys that point a parser, a facet domain or a transformer at another core, cluster or host.
ELSEWHERE_KEYS = frozenset({"fromIndex", "zkHost", "solrUrl", "collection", "shards", "qt"})
SAFE_TRANSFORMERS = frozenset({"docid", "value", "json", "elevated", "excluded"})
REFUSED_PARAMS = {
    "qt": "it would choose another request handler",
    "shards": "it would send the search to other hosts",
    "collection": "it would search other collections",
    "_route_": "it would route the search to chosen shards",
    "tr": "it would transform the response with an XSLT file",
    "expandMacros": "it changes how parameters are expanded",
    "explainOther": "it is a debugging option",
    "json.wrf": "JSONP callbacks are not served",
}
REFUSED_PREFIXES = {
    "shards.": "it would send the search to other hosts or handlers",
    "stream.": "it would stream content into Solr",
    "v.": "it would render a Velocity template",
    "debug": "it is a debugging option",
}
ALLOWED_JSON_PARAMS = frozenset({"json.facet", "json.nl"})
LIMIT_PARAMS = ("facet.limit", "group.limit", "terms.limit", "facet.pivot.limit")
CORE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
LOCAL_PARAMS = re.compile(r"\{!([^}]*)\}?")
TRANSFORMER = re.compile(r"\[\s*([A-Za-z_][\w.-]*)")


@dataclass(frozen=True)
class QueryLimits:
    """How much one request may ask of Solr."""

    max_rows: int = 1000
    max_facet_limit: int = 1000
    max_start: int = 100_000


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
    _check_json(value, limits)
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


def _check_json(value: dict[str, Any], limits: QueryLimits) -> None:
    for key in value:
        if key not in KNOWN_TOP_LEVEL_KEYS:
            _check_param(key, value[key], limits, where="json")
            raise RefusedQueryError(
                f"json key {key!r} is not part of Solr's JSON Request API; use one of "
                f"{sorted(KNOWN_TOP_LEVEL_KEYS)}, or put request parameters under 'params'",
                key=key,
            )
    if "limit" in value:
        _check_cap("limit", value["limit"], limits.max_rows, "page with 'offset'")
    if "offset" in value:
        _check_cap("offset", value["offset"], limits.max_start, "narrow the query with a filter")
    for key in ("query", "filter", "queries"):
        if key in value:
            _check_query(value[key], key)
    if "fields" in value:
        for fields in _strings(value["fields"]):
            _check_fields(fields, "fields")
    if "sort" in value:
        for text in _strings(value["sort"]):
            _check_text(text, "sort")
    if "facet" in value:
        _check_facets(value["facet"], "facet", limits)
    params = value.get("params", {})
    if not isinstance(params, dict):
        raise RefusedQueryError(
            '\'params\' must be an object of Solr request parameters, e.g. {"q": "*:*"}',
            key="params",
        )
    for key, param in params.items():
        _check_param(key, param, limits, where="params")


def _check_param(key: str, value: Any, limits: QueryLimits, *, where: str) -> None:
    name = f"{where}.{key}" if where == "params" else key
    reason = REFUSED_PARAMS.get(key) or next(
        (why for prefix, why in REFUSED_PREFIXES.items() if key.startswith(prefix)), None
    )
    if reason:
        raise RefusedQueryError(
            f"parameter {key!r} is not allowed: {reason}; remove it (only searching "
            "this core is served)",
            key=key,
        )
    if key == "json" or (key.startswith("json.") and key not in ALLOWED_JSON_PARAMS):
        raise RefusedQueryError(
            f"parameter {key!r} is not allowed; put the query in 'json' itself", key=key
        )
    if key == "wt":
        if value != "json":
            raise RefusedQueryError(
                f"wt={value!r} is not allowed; responses are JSON (remove wt or use 'json')",
                key=key,
            )
        return
    if key == "defType":
        if value not in SAFE_PARSERS:
            raise RefusedQueryError(
                f"defType={value!r} is not allowed; use one of {sorted(SAFE_PARSERS)}", key=key
            )
        return
    if key == "rows":
        _check_cap(key, value, limits.max_rows, "page with 'start' or cursorMark")
    elif key == "start":
        _check_cap(key, value, limits.max_start, "narrow the query with a filter")
    elif key in LIMIT_PARAMS or (key.startswith("f.") and key.endswith(LIMIT_PARAMS)):
        _check_cap(key, value, limits.max_facet_limit, "ask for fewer buckets")
    if key == "json.facet":
        for text in _strings(value):
            try:
                facets = json.loads(text)
            except ValueError as err:
                raise RefusedQueryError(f"{name} is not valid JSON: {err}", key=key) from err
            _check_facets(facets, name, limits)
        return
    if key == "fl":
        for text in _strings(value):
            _check_fields(text, name)
        return
    for text in _strings(value):
        _check_text(text, name)


def _check_cap(key: str, value: Any, cap: int, instead: str) -> None:
    for item in value if isinstance(value, list) else [value]:
        try:
            number = int(item)
        except (TypeError, ValueError) as err:
            raise RefusedQueryError(f"{key} must be a whole number, not {item!r}", key=key) from err
        if number < 0 or number > cap:
            raise RefusedQueryError(f"{key}={number} is outside 0..{cap}; {instead}", key=key)


def _check_query(value: Any, where: str) -> None:
    """A query in any of the JSON Query DSL's three forms: string, local params, or object."""
    if isinstance(value, str):
        _check_text(value, where)
    elif isinstance(value, list):
        for item in value:
            _check_query(item, where)
    elif isinstance(value, dict):
        for key, sub in value.items():
            if key.startswith("#"):
                _check_query(sub, where)
                continue
            if where == "queries":
                _check_query(sub, f"queries.{key}")
                continue
            if key not in SAFE_PARSERS:
                raise RefusedQueryError(
                    f"query parser {key!r} in {where} is not allowed; use one of "
                    f"{sorted(SAFE_PARSERS)}",
                    key=key,
                )
            if isinstance(sub, dict):
                for name, argument in sub.items():
                    if name in ELSEWHERE_KEYS:
                        raise RefusedQueryError(
                            f"{name!r} in {where} would search beyond this core; remove it",
                            key=name,
                        )
                    _check_query(argument, where)
            else:
                _check_query(sub, where)
    elif value is not None and not isinstance(value, int | float | bool):
        raise RefusedQueryError(f"{where} must be a string or a query object", key=where)


def _check_facets(value: Any, where: str, limits: QueryLimits) -> None:
    if isinstance(value, str):
        _check_text(value, where)
        return
    if not isinstance(value, dict):
        if isinstance(value, list):
            for item in value:
                _check_facets(item, where, limits)
        return
    for key, sub in value.items():
        if key in ELSEWHERE_KEYS:
            raise RefusedQueryError(
                f"{key!r} in {where} would reach beyond this core; remove it", key=key
            )
        if key == "limit":
            _check_cap(f"{where}.limit", sub, limits.max_facet_limit, "ask for fewer buckets")
        elif key in ("q", "query", "filter"):
            _check_query(sub, f"{where}.{key}")
        else:
            _check_facets(sub, f"{where}.{key}", limits)


def _check_fields(text: str, where: str) -> None:
    for name in TRANSFORMER.findall(text):
        if name not in SAFE_TRANSFORMERS:
            raise RefusedQueryError(
                f"document transformer [{name}] in {where} is not allowed; use one of "
                f"{sorted(SAFE_TRANSFORMERS)} or plain field names",
                key=name,
            )
    _check_text(text, where)


def _check_text(text: str, where: str) -> None:
    """Local params ``{!parser key=value}`` may appear anywhere Solr parses a query."""
    for inside in LOCAL_PARAMS.findall(text):
        words = inside.split()
        parser = "lucene"
        for position, word in enumerate(words):
            name, _, argument = word.partition("=")
            if position == 0 and not _:
                parser = name
            elif name == "type":
                parser = argument.strip("'\"")
            if name in ELSEWHERE_KEYS:
                raise RefusedQueryError(
                    f"local param {name!r} in {where} would search beyond this core; remove it",
                    key=name,
                )
        if parser not in SAFE_PARSERS:
            raise RefusedQueryError(
                f"local params {{!{parser} …}} in {where} are not allowed; use one of "
                f"{sorted(SAFE_PARSERS)}",
                key=f"{{!{parser}}}",
            )


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
