"""The guard of /api/solr-query on its own: what may reach Solr, decided without Solr.

Parameters are allowed by name; values are read as Solr will read them (escapes and encodings
undone); every count is capped; malformed bodies are refused naming the key.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline.errors import RefusedQueryError
from pipeline.search.guard import QueryLimits, guard_request
from pipeline.search.params import ALLOWED_PARAMS
from pipeline.search.ranges import NotARangeValue, gap_size, seconds_or_number

CORES = ("logInsights",)


def refused_key(json_value: Any, **body: Any) -> str:
    with pytest.raises(RefusedQueryError) as caught:
        guard_request({"json": json_value, **body}, allowed_cores=CORES)
    return caught.value.key


def passes(json_value: dict[str, Any]) -> bool:
    return guard_request({"json": json_value}, allowed_cores=CORES).json == json_value


def test_the_seed_request_passes_unchanged() -> None:
    body = {"json": {"params": {"q": "docType:SHOPIFY_ORDER"}}, "coreName": "logInsights"}
    guarded = guard_request(body, allowed_cores=CORES)
    assert guarded.json == {"params": {"q": "docType:SHOPIFY_ORDER"}}
    assert guarded.core == "logInsights"


def test_core_name_defaults_to_the_first_allowed_core() -> None:
    guarded = guard_request({"json": {"query": "*:*"}}, allowed_cores=("logsB", "logsA"))
    assert guarded.core == "logsB"


@pytest.mark.parametrize(
    "value",
    [
        {
            "query": "*:*",
            "filter": "{!tag=t}shop:a",
            "facet": {"s": {"type": "terms", "field": "shop", "domain": {"excludeTags": "t"}}},
        },
        {"query": {"#top": {"lucene": {"df": "errorMessage", "query": "address"}}}},
        {"params": {"q": "*:*", "f.shop.facet.limit": 50, "json.facet": '{"x":"unique(shop)"}'}},
        {"params": {"q": "{!edismax qf=errorMessage}phone"}},
        {"params": {"q": "*:*", "fl": "site,[docid]", "sort": "timestamp desc"}},
        {"queries": {"recent": "timestamp:[NOW-1DAY TO *]"}, "query": "*:*"},
        {"params": {"q": "*:*", "facet": "true", "facet.field": "{!ex=t key=codes}errorCode"}},
        {
            "params": {
                "q": "*:*",
                "facet.range": "timestamp",
                "facet.range.start": "NOW/DAY-2DAYS",
                "facet.range.end": "NOW",
                "facet.range.gap": "+1HOUR",
            }
        },
        {
            "query": "*:*",
            "facet": {
                "perDay": {
                    "type": "range",
                    "field": "timestamp",
                    "start": "NOW/DAY-60DAYS",
                    "end": "NOW",
                    "gap": "+1DAY",
                    "facet": {"codes": {"type": "terms", "field": "errorCode", "limit": 10}},
                }
            },
        },
        {"params": {"q": "*:*", "group": "true", "group.field": "shop", "group.limit": 5}},
        {"params": {"q": "*:*", "hl": "true", "hl.fl": "errorMessage", "hl.snippets": 3}},
        {"params": {"q": 'errorMessage:"100% off" AND shop:a-b', "cursorMark": "*"}},
    ],
    ids=[
        "tags and facets",
        "tagged DSL",
        "per-field facet limit",
        "edismax",
        "docid",
        "queries",
        "facet exclusion",
        "hourly range facet",
        "daily JSON range facet",
        "grouping",
        "highlighting",
        "percent sign in a phrase",
    ],
)
def test_ordinary_searches_pass(value: dict[str, Any]) -> None:
    assert passes(value)


# -- parameters are allowed by name ---------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "qt",
        "shards",
        "shards.qt",
        "collection",
        "_route_",
        "stream.body",
        "tr",
        "v.template",
        "expandMacros",
        "debugQuery",
        "debug.explain.structured",
        "explainOther",
        "json",
        "json.wrf",
        "s.collection",
        "s.q",
        "x.qt",
        "child.fl",
        "qq",
        "a",
        "distrib",
        "timeAllowed.x",
        "f.shop.qt",
        "f.${x}.facet.limit",
        "terms",
        "spellcheck",
        "stats.field",
    ],
)
def test_every_name_off_the_list_is_refused_by_name(name: str) -> None:
    assert refused_key({"params": {"q": "*:*", name: "x"}}) == name


def test_sub_request_parameters_say_what_they_are() -> None:
    with pytest.raises(RefusedQueryError, match="sub-request"):
        guard_request({"json": {"params": {"s.collection": "other"}}}, allowed_cores=CORES)


def test_every_refusal_says_what_to_do() -> None:
    with pytest.raises(RefusedQueryError) as caught:
        guard_request({"json": {"params": {"qt": "/update"}}}, allowed_cores=CORES)
    assert "choose another request handler" in str(caught.value)
    assert "remove it" in str(caught.value)


def test_every_allowed_name_is_a_real_search_parameter() -> None:
    """The list is short enough to read; nothing on it hands a request elsewhere."""
    assert "qt" not in ALLOWED_PARAMS and "shards" not in ALLOWED_PARAMS
    assert not [name for name in ALLOWED_PARAMS if name.startswith(("stream", "shards", "v."))]


# -- values, whatever their encoding or escaping ---------------------------------------------


@pytest.mark.parametrize(
    ("value", "key"),
    [
        # the examples
        ({"params": {"q": "*:*", "fl": "document-id,s:${a}subquery]", "a": "["}}, "fl"),
        ({"params": {"q": '_query_:"{\\!join fromIndex=other from=a to=b}x"'}}, "_query_"),
        ({"params": {"q": "{!join from=a to=b}x"}}, "{!join}"),
        # escaped and encoded local params
        ({"params": {"q": "a:b OR {\\!join from=a to=b}x"}}, "{!join}"),
        ({"params": {"q": "a:b OR {\\u0021join from=a to=b}x"}}, "{!join}"),
        ({"params": {"q": "a:b OR %7B%21join from=a to=b%7Dx"}}, "{!join}"),
        ({"params": {"q": "a:b OR %7b!xmlparser%7d<a/>"}}, "{!xmlparser}"),
        ({"params": {"q": "a:b OR %257B%2521join from=a to=b%257Dx"}}, "{!join}"),
        ({"params": {"fq": "{! type=xmlparser}<a/>"}}, "{!xmlparser}"),
        ({"params": {"q": "{!lucene fromIndex=other}x"}}, "fromIndex"),
        ({"params": {"q": "{!lucene zkHost=evil:2181}x"}}, "zkHost"),
        ({"params": {"q": "{!edismax qf=errorMessage v=$qq}"}}, "$qq"),
        ({"params": {"sort": "query({!join from=a to=b}x) desc"}}, "{!join}"),
        ({"params": {"q": "_QUERY_:x"}}, "_query_"),
        ({"params": {"q": "$" + "{a}"}}, "q"),
        ({"params": {"q": "*:*", "fl": "x:[subquery]"}}, "subquery"),
        ({"params": {"q": "*:*", "fl": "x:[\\subquery]"}}, "subquery"),
        ({"params": {"q": "*:*", "fl": "[child parentFilter=a:b]"}}, "child"),
        ({"params": {"q": "*:*", "fl": "[explain]"}}, "explain"),
        ({"params": {"q": "*:*", "fl": "[shard]"}}, "shard"),
        ({"params": {"defType": "join"}}, "defType"),
        ({"params": {"wt": "xml"}}, "wt"),
        # the JSON Query DSL and JSON facets
        ({"query": {"#t": {"xmlparser": {"query": "<a/>"}}}}, "xmlparser"),
        ({"query": {"bool": {"must": [{"join": {"from": "a", "to": "b"}}]}}}, "join"),
        ({"query": {"lucene": {"fromIndex": "other", "query": "x"}}}, "fromIndex"),
        ({"query": {"graph": {"from": "a", "to": "b"}}}, "graph"),
        ({"facet": {"x": {"type": "query", "q": "{!join from=a to=b}c"}}}, "{!join}"),
        (
            {"facet": {"x": {"type": "terms", "field": "a", "domain": {"join": {}}}}},
            "facet.x.domain.join",
        ),
        ({"facet": {"x": {"type": "terms", "field": "a", "fromIndex": "o"}}}, "fromIndex"),
        ({"facet": {"x": {"type": "heatmap", "field": "a"}}}, "facet.x.type"),
        ({"params": {"json.facet": "{not json"}}, "json.facet"),
        (
            {"params": {"json.facet": '{"x":{"type":"terms","field":"a","limit":-1}}'}},
            "params.json.facet.x.limit",
        ),
        # shapes
        ({"params": "q=*:*"}, "params"),
        ({"params": {"q": {"nested": "object"}}}, "q"),
        ({"query": "*:*", "frobnicate": 1}, "frobnicate"),
        ({"query": "*:*", "qt": "/update"}, "qt"),
    ],  # fmt: skip
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_what_could_reach_beyond_the_core_is_refused(value: dict[str, Any], key: str) -> None:
    assert refused_key(value) == key


def test_brackets_nested_past_the_limit_are_refused_before_solr_overflows() -> None:
    deep = "(" * 200 + "a" + ")" * 200
    assert refused_key({"params": {"q": deep}}) == "q"
    assert passes({"params": {"q": "(" * 10 + "a" + ")" * 10}})


# -- every count a caller sets is capped -----------------------------------------------------


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"rows": 1001}, "rows"),
        ({"rows": "many"}, "rows"),
        ({"rows": -1}, "rows"),
        ({"rows": True}, "rows"),
        ({"start": 10_000_000}, "start"),
        ({"facet.limit": -1}, "facet.limit"),
        ({"f.shop.facet.limit": 5000}, "f.shop.facet.limit"),
        ({"facet.offset": 10_000_000}, "facet.offset"),
        ({"expand.rows": 100_000}, "expand.rows"),
        ({"mlt.count": 100_000}, "mlt.count"),
        ({"mlt.maxqt": 100_000}, "mlt.maxqt"),
        ({"group.limit": 100_000}, "group.limit"),
        ({"group.limit": -1}, "group.limit"),
        ({"group.offset": 10_000_000}, "group.offset"),
        ({"hl.snippets": 100_000}, "hl.snippets"),
        ({"rows": "1" * 400}, "rows"),
        (
            {
                "facet.range": "timestamp",
                "facet.range.start": "NOW-10YEARS",
                "facet.range.end": "NOW",
                "facet.range.gap": "+1SECOND",
            },
            "facet.range.gap",
        ),
        (
            {
                "facet.range": "{!ex=t}timestamp",
                "f.timestamp.facet.range.start": "NOW-1YEAR",
                "f.timestamp.facet.range.end": "NOW",
                "f.timestamp.facet.range.gap": "+1HOUR",
            },
            "f.timestamp.facet.range.gap",
        ),
        (
            {
                "facet.range": "attempts",
                "facet.range.start": 0,
                "facet.range.end": 1e12,
                "facet.range.gap": 1,
            },
            "facet.range.gap",
        ),
        (
            {
                "facet.range": "timestamp",
                "facet.range.start": "yesterday",
                "facet.range.end": "NOW",
                "facet.range.gap": "+1DAY",
            },
            "facet.range.start",
        ),
        (
            {
                "facet.range": "attempts",
                "facet.range.start": 0,
                "facet.range.end": 10,
                "facet.range.gap": 0,
            },
            "facet.range.gap",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_every_count_is_capped(params: dict[str, Any], key: str) -> None:
    assert refused_key({"params": {"q": "*:*", **params}}) == key


@pytest.mark.parametrize(
    ("facet", "key"),
    [
        ({"type": "terms", "field": "shop", "limit": -1}, "facet.t.limit"),
        ({"type": "terms", "field": "shop", "offset": 10**9}, "facet.t.offset"),
        ({"type": "terms", "field": "shop", "overrequest": 10**6}, "facet.t.overrequest"),
        (
            {
                "type": "range",
                "field": "timestamp",
                "start": "NOW-60DAYS",
                "end": "NOW",
                "gap": "+1MINUTE",
            },
            "facet.t.gap",
        ),
        ({"type": "range", "field": "timestamp", "start": "NOW", "end": "NOW"}, "facet.t.gap"),
        ({"range": {"field": "attempts", "start": 0, "end": 10**9, "gap": 1}}, "facet.t.gap"),
    ],  # fmt: skip
    ids=["limit -1", "offset", "overrequest", "minute buckets", "no gap", "long form"],
)
def test_json_facet_counts_are_capped(facet: dict[str, Any], key: str) -> None:
    assert refused_key({"query": "*:*", "facet": {"t": facet}}) == key


def test_nested_facets_multiply_and_their_product_is_capped() -> None:
    three_deep = {"query": "*:*", "facet": {"a": {"type": "terms", "field": "shop", "limit": 1000,
        "facet": {"b": {"type": "terms", "field": "docType", "limit": 1000}}}}}  # fmt: skip
    assert refused_key(three_deep) == "facet.a.facet.b"
    chart = {"query": "*:*", "facet": {"days": {"type": "range", "field": "timestamp",
        "start": "NOW/DAY-59DAYS", "end": "NOW/DAY+1DAY", "gap": "+1DAY",
        "facet": {"codes": {"type": "terms", "field": "errorCode", "limit": 10}}}}}  # fmt: skip
    assert passes(chart), "the console's chart: 61 days x 10 codes"


def test_limits_are_configurable() -> None:
    limits = QueryLimits(max_rows=10)
    guard_request({"json": {"limit": 10}}, allowed_cores=CORES, limits=limits)
    with pytest.raises(RefusedQueryError, match="outside 0..10"):
        guard_request({"json": {"limit": 11}}, allowed_cores=CORES, limits=limits)


def test_range_bounds_read_solr_date_math() -> None:
    now = 1_000_000_000.0
    assert seconds_or_number("NOW-2DAYS", now=now) == now - 2 * 86400
    assert seconds_or_number("NOW/DAY+1HOUR", now=now) == now + 3600
    day = datetime(2026, 11, 20, tzinfo=UTC).timestamp()
    assert seconds_or_number("2026-11-20T00:00:00Z", now=now) == day
    assert gap_size("+6HOURS") == 6 * 3600
    assert gap_size(2.5) == 2.5
    for bad in ("NOW-2FORTNIGHTS", "+0DAY", "-1DAY", "tomorrow", True, None):
        with pytest.raises(NotARangeValue):
            gap_size(bad) if bad != "NOW-2FORTNIGHTS" else seconds_or_number(bad, now=now)


# -- malformed bodies: a 400 naming the key, never a 500 -------------------------------------


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ('{"json": {"params": {"q": "*:*", "rows": NaN}}}', "rows"),
        ('{"json": {"params": {"q": "*:*", "rows": Infinity}}}', "rows"),
        ('{"json": {"params": {"q": "*:*", "mm": -Infinity}}}', "mm"),
        ('{"json": {"params": {"q": "*:*", "rows": 1e309}}}', "rows"),
        ('{"json": {"params": {"q": "\\ud800"}}}', "q"),
        ('{"json": {"params": {"q\\udfff": "x"}}}', "params"),
        ('{"json": {"params": {"q": "*:*"}}, "coreName": "\\udc00"}', "coreName"),
        ('{"json": {"facet": ' + '{"a": ' * 20 + "{}" + "}" * 20 + "}}", "a"),
    ],
    ids=["NaN", "Infinity", "-Infinity", "1e309", "lone surrogate", "surrogate key",
         "surrogate core", "deep nesting"],
)  # fmt: skip
def test_malformed_values_are_refused_naming_the_key(raw: str, key: str) -> None:
    with pytest.raises(RefusedQueryError) as caught:
        guard_request(json.loads(raw), allowed_cores=CORES)
    assert caught.value.key == key
    assert caught.value.key.encode("utf-8")  # the key itself is printable


@pytest.mark.parametrize("body", [[], "x", None, {"json": []}, {"json": {}, "coreName": 7}])
def test_bodies_of_the_wrong_shape_are_refused(body: Any) -> None:
    with pytest.raises(RefusedQueryError):
        guard_request(body, allowed_cores=CORES)


# -- issue 21, A1: local params are read with Solr's own grammar --------------------------------

QUOTED_BRACE = "{!tag='}' type=parent which=docType:SHOPIFY_ORDER}*:*"
WALKS = {
    "q": {"params": {"q": QUOTED_BRACE}},
    "fq list": {"params": {"q": "*:*", "fq": ["shop:a", QUOTED_BRACE]}},
    "dsl bool filter": {"query": {"bool": {"filter": [QUOTED_BRACE]}}},
    "facet domain filter": {"query": "*:*", "facet": {"x": {"type": "terms", "field": "shop",
                                                            "domain": {"filter": QUOTED_BRACE}}}},
    "json.facet string": {"params": {"q": "*:*", "json.facet": json.dumps(
        {"x": {"type": "query", "q": QUOTED_BRACE}})}},
    "facet.query": {"params": {"q": "*:*", "facet": "true", "facet.query": QUOTED_BRACE}},
    "bq": {"params": {"q": "a", "defType": "edismax", "bq": QUOTED_BRACE}},
    "hl.q": {"params": {"q": "a", "hl": "true", "hl.q": QUOTED_BRACE}},
    "expand.q": {"params": {"q": "a", "expand": "true", "expand.q": QUOTED_BRACE}},
    "group.query": {"params": {"q": "a", "group": "true", "group.query": QUOTED_BRACE}},
}  # fmt: skip


@pytest.mark.parametrize("where", sorted(WALKS))
def test_a_quoted_brace_does_not_end_local_params_anywhere(where: str) -> None:
    assert refused_key(WALKS[where]) == "{!parent}"


@pytest.mark.parametrize(
    "parser", ["rerank", "switch", "mlt", "hash", "surround", "knn", "parent", "child", "query"]
)
@pytest.mark.parametrize(
    "template",
    [
        "{{!{p}}}x",
        "{{!type={p}}}x",
        "{{!type='{p}'}}x",
        '{{!tag="a b}}" type={p}}}x',
        "{{!tag='it\\'s}}' type={p}}}x",
        "a OR {{!lucene v='{{!{p} f=x}}y'}}",
        "{{!tag=a,b type={p} v=$q}}",
    ],
)
def test_every_reading_of_a_refused_parser_is_refused(parser: str, template: str) -> None:
    assert refused_key({"params": {"q": template.format(p=parser)}}) == f"{{!{parser}}}"


@pytest.mark.parametrize(
    "text",
    [
        "{!lucene",  # never closed
        "{!tag='open}",  # quote never closed
        "{!type=$p}x",  # a parser named by reference
        "{!edismax lucene}x",  # two bare words
        "{!=x}y",  # no name
    ],
)
def test_local_params_it_cannot_read_are_refused(text: str) -> None:
    assert refused_key({"params": {"q": text, "p": "join"}}) in ("q", "$p")


@pytest.mark.parametrize(
    "text",
    [
        "{!edismax qf='errorMessage shop' mm=2}phone address",
        "{!tag=t}shop:a",
        '{!term f=shop v="a b"}',
        "{!lucene df=errorMessage}address AND {!edismax qf=errorMessage}phone",
    ],
)
def test_ordinary_local_params_still_pass(text: str) -> None:
    assert passes({"params": {"q": text}})


# -- issue 21, A2/A3: no 500 from the guard, and answers bounded before Solr builds them ----------


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ({"facet": {"x": {"type": ["terms"], "field": "a"}}}, "facet.x.type"),
        ({"facet": {"x": {"type": {"x": 1}, "field": "a"}}}, "facet.x.type"),
        ({"facet": {"x": {"type": "terms", "field": "a", "limit": [5]}}}, "facet.x.limit"),
        (
            {
                "facet": {
                    "x": {
                        "type": "range",
                        "field": "timestamp",
                        "start": "2026-13-45T00:00:00Z",
                        "end": "NOW",
                        "gap": "+1DAY",
                    }
                }
            },
            "facet.x.start",
        ),
        (
            {
                "params": {
                    "q": "*:*",
                    "facet.range": "timestamp",
                    "facet.range.start": "2026-02-30T00:00:00Z",
                    "facet.range.end": "NOW",
                    "facet.range.gap": "+1DAY",
                }
            },
            "facet.range.start",
        ),
        (
            {
                "facet": {
                    "x": {
                        "type": "range",
                        "field": "n",
                        "start": -1.7e308,
                        "end": 1.7e308,
                        "gap": 1,
                    }
                }
            },
            "facet.x.gap",
        ),
        (
            {"facet": {"x": {"type": "range", "field": "n", "start": 0, "end": 10, "gap": 5e-324}}},
            "facet.x.gap",
        ),
    ],  # fmt: skip
)
def test_odd_values_are_a_400_naming_the_key_never_a_crash(value: dict[str, Any], key: str) -> None:
    assert refused_key(value) == key


def test_sibling_facets_add_up_and_the_whole_request_is_capped() -> None:
    siblings = {f"f{n}": {"type": "terms", "field": "shop", "limit": 1000} for n in range(11)}
    assert refused_key({"query": "*:*", "facet": siblings}).startswith("facet.f")
    assert passes({"query": "*:*", "facet": dict(list(siblings.items())[:9])})


def test_pivots_fields_and_ranges_count_against_the_same_cap() -> None:
    pivot = {"q": "*:*", "facet": "true", "facet.pivot": "shop,errorCode", "facet.limit": 200}
    assert refused_key({"params": pivot}) == "facet.pivot"
    ranges = {"q": "*:*", "facet": "true", "facet.range": [f"f{n}" for n in range(15)],
              "facet.range.start": 0, "facet.range.end": 960, "facet.range.gap": 1}  # fmt: skip
    assert refused_key({"params": ranges}) == "facet.range"
    fields = {"q": "*:*", "facet": "true", "facet.field": [f"f{n}" for n in range(101)]}
    assert refused_key({"params": fields}) == "facet.field"


def test_references_point_only_at_query_parameters_and_transformers_do_not_repeat() -> None:
    fl = ",".join(f"a{n}:[value v=$hl.tag.pre]" for n in range(3))
    assert refused_key({"params": {"q": "*:*", "fl": fl, "hl.tag.pre": "x" * 20}}) == (
        "$hl.tag.pre"
    )
    many = ",".join(f"a{n}:[docid]" for n in range(11))
    assert refused_key({"params": {"q": "*:*", "fl": many}}) == "fl"
    assert passes({"params": {"q": "{!edismax v=$fq}", "fq": "shop:a"}})


# -- issue 28: every count as Solr will compute it ---------------------------------------------


@pytest.mark.parametrize(
    "gap",
    ["+1YEAR-12MONTHS+1SECOND", "+1MONTH-4WEEKS+1SECOND".replace("4WEEKS", "28DAYS"),
     "+1MONTH-1MONTH+1MINUTE", "+2MONTHS-59DAYS"],
)  # fmt: skip
def test_a_gap_mixing_signs_is_counted_with_the_calendar_not_an_average(gap: str) -> None:
    """Counted with months of 28 days whatever their sign, these looked like gaps of days or
    weeks; stepped with the calendar, they are seconds or minutes long somewhere in the year:
    far past the bucket cap, and refused."""
    facet = {"t": {"type": "range", "field": "timestamp", "start": "NOW-1YEAR", "end": "NOW",
                   "gap": gap}}  # fmt: skip
    assert refused_key({"facet": facet}) == "facet.t.gap"


@pytest.mark.parametrize("gap", ["+29DAYS-1MONTH", "+1MONTH-30DAYS", "+1DAY-24HOURS"])
def test_a_gap_that_stops_moving_forward_is_refused_not_counted_as_one(gap: str) -> None:
    facet = {"t": {"type": "range", "field": "timestamp", "start": "NOW-1YEAR", "end": "NOW",
                   "gap": gap}}  # fmt: skip
    with pytest.raises(RefusedQueryError, match="does not move forward"):
        guard_request({"json": {"facet": facet}}, allowed_cores=("logInsights",))


def test_calendar_gaps_count_as_many_buckets_as_solr_makes() -> None:
    from datetime import UTC, datetime

    from pipeline.search.ranges import count_buckets

    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    assert count_buckets("NOW-1YEAR", "NOW", "+1MONTH", now=now, cap=10_000) == 12
    assert count_buckets("NOW/YEAR", "NOW/YEAR+1YEAR", "+1DAY", now=now, cap=10_000) == 365
    assert count_buckets("2024-01-31T00:00:00Z", "2024-12-31T00:00:00Z", "+1MONTH",
                         now=now, cap=10_000) == 12  # Jan 31, Feb 29 ... Dec 29  # fmt: skip
    assert count_buckets(0, 100, 7, now=now, cap=10_000) == 15


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"rows": 1000, "group": "true", "group.field": "shop", "group.limit": 1000},
         "group.limit"),
        ({"rows": 10, "group": "true", "group.query": [f"shop:s{n}" for n in range(100)],
          "group.limit": 100}, "group.limit"),
        ({"rows": 1000, "mlt": "true", "mlt.fl": "errorMessage", "mlt.count": 1000}, "mlt.count"),
        ({"rows": 1000, "expand": "true", "expand.rows": 1000}, "expand.rows"),
    ],
    ids=["groups x group.limit", "group.query x group.limit", "rows x mlt.count",
         "rows x expand.rows"],
)  # fmt: skip
def test_products_of_counts_are_refused_before_solr_builds_them(
    params: dict[str, Any], key: str
) -> None:
    """Each count alone is within its cap; what Solr would build is their product."""
    assert refused_key({"params": params}) == key


def test_a_modest_grouped_search_passes() -> None:
    assert passes({"params": {"q": "*:*", "rows": 20, "group": "true", "group.field": "shop",
                              "group.limit": 5}})  # fmt: skip


# -- issue 28: every key at every level is read -------------------------------------------------


@pytest.mark.parametrize(
    "name", ["qt", "wt", "json.wrf", "shards", "shards.qt", "start", "rows", "fl", "facet.limit",
             "[core]", "a b", "x" * 65, "", "0abc", "f.shop.facet.limit",
             # parameters Solr reads though the API does not serve them
             "canCancel", "queryUUID", "shortCircuit", "distrib", "timeAllowed", "rid", "NOW"],
)  # fmt: skip
def test_a_named_query_may_not_be_named_as_a_parameter_or_a_path(name: str) -> None:
    key = refused_key({"queries": {name: "shop:a"}, "params": {"q": "*:*"}})
    assert key.startswith("queries.")


@pytest.mark.parametrize("name", ["json.wrf", "[core]", "a.b", "x y", "x" * 65])
def test_a_facet_name_is_a_plain_word_at_every_level(name: str) -> None:
    inner = {"type": "terms", "field": "shop", "facet": {name: "unique(shop)"}}
    key = refused_key({"facet": {"outer": inner}})
    assert key.startswith("facet.outer.facet")
    assert refused_key({"facet": {name: "unique(shop)"}}).startswith("facet")


def test_plain_names_pass() -> None:
    assert passes({"queries": {"open_ones": "resolved:false"},
                   "facet": {"by_shop": {"type": "terms", "field": "shop",
                                         "facet": {"shops2": "unique(shop)"}}}})  # fmt: skip


# -- issue 28: Solr's work is bounded: function queries run for every document -----------------

LONG = "x" * 20_000


@pytest.mark.parametrize(
    "params",
    [
        {"q": "*:*", "facet": "true",
         "facet.query": f'{{!frange l=0 u=1}}strdist("{LONG}",errorMessage,edit)'},
        {"q": f"{{!func}}strdist('{'y' * 300}',errorMessage,edit)"},
        {"q": "*:*", "sort": f'strdist("{"z" * 300}",errorMessage,edit) desc'},
        {"q": "*:*", "facet": "true",
         "facet.query": "{!frange l=0 u=1}strdist($q,errorMessage,edit)"},
        {"q": "*:*", "fl": 'id,d:strdist("' + "w" * 300 + '",errorMessage,edit)'},
    ],
    ids=["frange over a 20,000-character argument", "func with a long literal",
         "a function sort", "a function reading a $reference", "a function pseudo-field"],
)  # fmt: skip
def test_function_queries_are_bounded_before_solr_runs_them(params: dict[str, Any]) -> None:
    with pytest.raises(RefusedQueryError, match="function"):
        guard_request({"json": {"params": params}}, allowed_cores=CORES)


def test_a_short_function_query_passes() -> None:
    assert passes({"params": {"q": "{!frange l=1 u=3}attempts", "sort": "timestamp desc"}})


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ({"params": {"q": "*:*", "facet": "true",
                     "facet.query": [f"shop:s{n}" for n in range(51)]}}, "facet.query"),
        ({"params": {"q": "*:*", "fq": [f"shop:s{n}" for n in range(51)]}}, "fq"),
        ({"facet": {f"q{n}": {"type": "query", "q": "shop:x"} for n in range(51)}}, "facet.q50"),
        ({"filter": [f"shop:s{n}" for n in range(51)]}, "filter"),
    ],
    ids=["facet queries", "filters", "query facets", "JSON filters"],
)  # fmt: skip
def test_the_queries_a_request_runs_besides_its_own_are_capped(value: Any, key: str) -> None:
    """Each filter or facet query searches the whole core, and facet queries run on past
    timeAllowed: found by this round's own attack pass (500 facet queries passed)."""
    assert refused_key(value) == key
