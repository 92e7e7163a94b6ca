"""The guard of /api/solr-query on its own: what may reach Solr, decided without Solr."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.api.guard import QueryLimits, guard_request
from pipeline.errors import RefusedQueryError

CORES = ("logInsights",)


def refused_key(json_value: Any, **body: Any) -> str:
    with pytest.raises(RefusedQueryError) as caught:
        guard_request({"json": json_value, **body}, allowed_cores=CORES)
    return caught.value.key


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
        },  # noqa: E501
        {"query": {"#top": {"lucene": {"df": "errorMessage", "query": "address"}}}},
        {"params": {"q": "*:*", "f.shop.facet.limit": 50, "json.facet": '{"x":"unique(shop)"}'}},
        {"params": {"q": "{!edismax qf=errorMessage v=$qq}", "qq": "phone"}},
        {"params": {"q": "*:*", "fl": "site,[docid]", "sort": "timestamp desc"}},
        {"queries": {"recent": "timestamp:[NOW-1DAY TO *]"}, "query": "*:*"},
    ],
    ids=["tags and facets", "tagged DSL", "per-field facet limit", "edismax", "docid", "queries"],
)
def test_ordinary_searches_pass(value: dict[str, Any]) -> None:
    assert guard_request({"json": value}, allowed_cores=CORES).json == value


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ({"params": {"f.shop.facet.limit": 5000}}, "f.shop.facet.limit"),
        (
            {"params": {"json.facet": '{"x":{"type":"terms","field":"shop","limit":-1}}'}},
            "params.json.facet.x.limit",
        ),  # noqa: E501
        ({"params": {"json.facet": "{not json"}}, "json.facet"),
        ({"query": {"#t": {"xmlparser": {"query": "<a/>"}}}}, "xmlparser"),
        ({"query": {"bool": {"must": [{"join": {"from": "a", "to": "b"}}]}}}, "join"),
        ({"query": {"lucene": {"fromIndex": "other", "query": "x"}}}, "fromIndex"),
        ({"facet": {"x": {"type": "query", "q": "{!join from=a to=b}c"}}}, "{!join}"),
        (
            {
                "facet": {
                    "x": {"type": "terms", "field": "shop", "domain": {"join": {"fromIndex": "o"}}}
                }
            },
            "fromIndex",
        ),  # noqa: E501
        ({"params": {"sort": "query({!join from=a to=b}x) desc"}}, "{!join}"),
        ({"params": {"q": "{! type=xmlparser}<a/>"}}, "{!xmlparser}"),
        ({"params": {"rows": "many"}}, "rows"),
        ({"params": {"start": 10_000_000}}, "start"),
        ({"params": {"debug.explain.structured": "true"}}, "debug.explain.structured"),
        ({"params": "q=*:*"}, "params"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_what_reaches_beyond_the_core_is_refused(value: dict[str, Any], key: str) -> None:
    assert refused_key(value) == key


def test_every_refusal_says_what_to_do() -> None:
    with pytest.raises(RefusedQueryError) as caught:
        guard_request({"json": {"params": {"qt": "/update"}}}, allowed_cores=CORES)
    assert "choose another request handler" in str(caught.value)
    assert "remove it" in str(caught.value)


def test_limits_are_configurable() -> None:
    limits = QueryLimits(max_rows=10)
    guard_request({"json": {"limit": 10}}, allowed_cores=CORES, limits=limits)
    with pytest.raises(RefusedQueryError, match="outside 0..10"):
        guard_request({"json": {"limit": 11}}, allowed_cores=CORES, limits=limits)


@pytest.mark.parametrize("body", [[], "x", None, {"json": []}, {"json": {}, "coreName": 7}])
def test_bodies_of_the_wrong_shape_are_refused(body: Any) -> None:
    with pytest.raises(RefusedQueryError):
        guard_request(body, allowed_cores=CORES)
