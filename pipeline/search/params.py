"""The Solr request parameters that searching logInsights needs: the API's allow-list.

A parameter reaches Solr only when its name is here (or is a per-field ``f.<field>.<name>`` of a
name marked per-field). Everything else is refused by name, whatever it is: a handler switch
(``qt``), a fan-out (``shards``, ``collection``), a sub-request's parameters (``x.q`` for a
``[subquery]``), a Velocity template. ``WHY_REFUSED`` only explains the best-known refusals
better; it is not what refuses them.

Each allowed name has a kind, which says how its value is checked:

- ``QUERY``: query text; local params, macros, ``_query_`` and deep nesting are checked.
- ``FIELDS``: a field list; document transformers must be harmless ones.
- ``ROWS``/``START``/``BUCKETS``: whole numbers capped by ``QueryLimits``.
- ``PARSER``: the name of a query parser from ``SAFE_PARSERS``.
- ``WRITER``: the response writer; only ``json``.
- ``JSON_FACETS``: a JSON Facet API request (``json.facet``).
- ``PLAIN``: anything else harmless (flags, sort orders, highlighter markup), text-checked.
"""

from __future__ import annotations

from enum import Enum


class Kind(Enum):
    QUERY = "query"
    FIELDS = "fields"
    ROWS = "rows"
    START = "start"
    BUCKETS = "buckets"
    PARSER = "parser"
    WRITER = "writer"
    JSON_FACETS = "json facets"
    PLAIN = "plain"


ALLOWED_PARAMS: dict[str, Kind] = {
    # the search itself
    "q": Kind.QUERY,
    "fq": Kind.QUERY,
    "fl": Kind.FIELDS,
    "sort": Kind.QUERY,
    "rows": Kind.ROWS,
    "start": Kind.START,
    "cursorMark": Kind.PLAIN,
    "df": Kind.PLAIN,
    "q.op": Kind.PLAIN,
    "sow": Kind.PLAIN,
    "defType": Kind.PARSER,
    "wt": Kind.WRITER,
    "json.nl": Kind.PLAIN,
    "indent": Kind.PLAIN,
    "omitHeader": Kind.PLAIN,
    "echoParams": Kind.PLAIN,
    "minExactCount": Kind.PLAIN,
    # (e)dismax
    "qf": Kind.FIELDS,
    "pf": Kind.FIELDS,
    "mm": Kind.PLAIN,
    "ps": Kind.PLAIN,
    "qs": Kind.PLAIN,
    "tie": Kind.PLAIN,
    "bq": Kind.QUERY,
    "bf": Kind.QUERY,
    "boost": Kind.QUERY,
    # faceting
    "facet": Kind.PLAIN,
    "facet.field": Kind.FIELDS,
    "facet.query": Kind.QUERY,
    "facet.limit": Kind.BUCKETS,
    "facet.offset": Kind.START,
    "facet.mincount": Kind.PLAIN,
    "facet.sort": Kind.PLAIN,
    "facet.missing": Kind.PLAIN,
    "facet.prefix": Kind.PLAIN,
    "facet.contains": Kind.PLAIN,
    "facet.contains.ignoreCase": Kind.PLAIN,
    "facet.method": Kind.PLAIN,
    "facet.pivot": Kind.FIELDS,
    "facet.pivot.mincount": Kind.PLAIN,
    "facet.range": Kind.FIELDS,
    "facet.range.start": Kind.PLAIN,
    "facet.range.end": Kind.PLAIN,
    "facet.range.gap": Kind.PLAIN,
    "facet.range.hardend": Kind.PLAIN,
    "facet.range.other": Kind.PLAIN,
    "facet.range.include": Kind.PLAIN,
    "json.facet": Kind.JSON_FACETS,
    # highlighting
    "hl": Kind.PLAIN,
    "hl.fl": Kind.FIELDS,
    "hl.q": Kind.QUERY,
    "hl.method": Kind.PLAIN,
    "hl.snippets": Kind.BUCKETS,
    "hl.fragsize": Kind.PLAIN,
    "hl.tag.pre": Kind.PLAIN,
    "hl.tag.post": Kind.PLAIN,
    "hl.simple.pre": Kind.PLAIN,
    "hl.simple.post": Kind.PLAIN,
    "hl.encoder": Kind.PLAIN,
    "hl.requireFieldMatch": Kind.PLAIN,
    # grouping, collapsing, more-like-this: every count capped
    "group": Kind.PLAIN,
    "group.field": Kind.FIELDS,
    "group.query": Kind.QUERY,
    "group.limit": Kind.ROWS,
    "group.offset": Kind.START,
    "group.sort": Kind.QUERY,
    "group.ngroups": Kind.PLAIN,
    "group.main": Kind.PLAIN,
    "group.format": Kind.PLAIN,
    "expand": Kind.PLAIN,
    "expand.rows": Kind.ROWS,
    "expand.sort": Kind.QUERY,
    "expand.q": Kind.QUERY,
    "expand.fq": Kind.QUERY,
    "mlt": Kind.PLAIN,
    "mlt.fl": Kind.FIELDS,
    "mlt.count": Kind.ROWS,
    "mlt.mintf": Kind.PLAIN,
    "mlt.mindf": Kind.PLAIN,
    "mlt.maxqt": Kind.BUCKETS,
}

# Names that may also be given per field, as f.<field>.<name>.
PER_FIELD = frozenset(
    name for name in ALLOWED_PARAMS if name.startswith(("facet.", "hl.")) and name != "hl.q"
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
# Local-params keys ({!parser key=value}) that tag, name or shape a query on this core.
SAFE_LOCAL_PARAMS = frozenset(
    {
        "type",
        "v",
        "tag",
        "ex",
        "key",
        "df",
        "q.op",
        "qf",
        "pf",
        "mm",
        "tie",
        "f",
        "l",
        "u",
        "incl",
        "incu",
        "b",
        "method",
        "separator",
        "field",
        "min",
        "max",
        "sort",
        "nullPolicy",
        "inOrder",
        "cache",
        "cost",
    }
)
# Arguments of a JSON Query DSL parser object ({"lucene": {"df": …, "query": …}}).
SAFE_QUERY_ARGUMENTS = SAFE_LOCAL_PARAMS | {"query", "must", "must_not", "should", "filter"}
SAFE_TRANSFORMERS = frozenset({"docid", "value", "json", "elevated", "excluded"})
JSON_REQUEST_KEYS = frozenset(
    {"query", "filter", "offset", "limit", "fields", "sort", "facet", "params", "queries"}
)
FACET_TYPES = frozenset({"terms", "range", "query"})
FACET_KEYS = frozenset(
    {
        "type",
        "field",
        "limit",
        "offset",
        "mincount",
        "sort",
        "prelim_sort",
        "prefix",
        "missing",
        "numBuckets",
        "allBuckets",
        "method",
        "facet",
        "start",
        "end",
        "gap",
        "hardend",
        "other",
        "include",
        "q",
        "query",
        "domain",
        "overrequest",
        "refine",
    }
)
FACET_DOMAIN_KEYS = frozenset({"excludeTags", "filter", "query"})

WHY_REFUSED = {
    "qt": "it would choose another request handler",
    "shards": "it would send the search to other hosts",
    "collection": "it would search other collections",
    "_route_": "it would route the search to chosen shards",
    "tr": "it would transform the response with an XSLT file",
    "expandMacros": "it changes how parameters are expanded",
    "explainOther": "it is a debugging option",
    "json": "put the query in 'json' itself",
    "json.wrf": "JSONP callbacks are not served",
    "fromIndex": "it would search another core",
    "zkHost": "it would reach another cluster",
    "solrUrl": "it would reach another host",
}
# Parameters Solr reads that this API does not serve: a name the caller gives (a named query,
# which Solr keeps among the request's parameters) must not be one of them either.
SOLR_CONTROL_PARAMS = frozenset({
    "canCancel", "queryUUID", "queryID", "shortCircuit", "distrib", "isShard", "rid",
    "disableRequestId", "timeAllowed", "cpuAllowed", "memAllowed", "partialResults",
    "segmentTerminateEarly", "multiThreaded", "NOW", "TZ", "echoParams", "omitHeader", "indent",
    "version", "cache", "preferLocalShards", "distrib.singlePass", "requestPurpose",
    "minExactCount", "_stateVer_", "_forwardedCount", "ping", "commit", "optimize",
})  # fmt: skip
WHY_REFUSED_PREFIX = {
    "shards.": "it would send the search to other hosts or handlers",
    "stream.": "it would stream content into Solr",
    "v.": "it would render a Velocity template",
    "debug": "it is a debugging option",
}


def param_kind(name: str) -> Kind | None:
    """The kind of an allowed parameter, or ``None`` when the name is not allowed."""
    kind = ALLOWED_PARAMS.get(name)
    if kind is not None:
        return kind
    if name.startswith("f."):
        field, _, rest = name[2:].partition(".")
        if field and rest in PER_FIELD and _plain_name(field):
            return ALLOWED_PARAMS[rest]
    return None


def why_refused(name: str) -> str:
    """A sentence on why a name is refused, for the error message."""
    reason = WHY_REFUSED.get(name) or next(
        (why for prefix, why in WHY_REFUSED_PREFIX.items() if name.startswith(prefix)), None
    )
    if reason:
        return reason
    if "." in name and name.split(".", 1)[0] not in {"facet", "hl", "group", "expand", "mlt"}:
        return "it would pass parameters to a sub-request"
    return "it is not a parameter this API serves for searching logInsights"


def _plain_name(field: str) -> bool:
    return all(char.isalnum() or char in "_-" for char in field)


__all__ = [
    "ALLOWED_PARAMS",
    "FACET_DOMAIN_KEYS",
    "FACET_KEYS",
    "FACET_TYPES",
    "JSON_REQUEST_KEYS",
    "SAFE_LOCAL_PARAMS",
    "SAFE_PARSERS",
    "SAFE_QUERY_ARGUMENTS",
    "SAFE_TRANSFORMERS",
    "Kind",
    "param_kind",
    "why_refused",
]
