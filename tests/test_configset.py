"""The logInsights configset, read as the spec describes it (DESIGN.md, issue 2)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from conftest import CONFIGSET, admin_auth

from pipeline.models import LOG_DOCUMENT_FIELDS

SCHEMA = ET.parse(CONFIGSET / "schema.xml").getroot()
CONFIG = ET.parse(CONFIGSET / "solrconfig.xml").getroot()


def fields() -> dict[str, ET.Element]:
    return {f.get("name", ""): f for f in SCHEMA.iter("field")}


def test_the_eleven_documented_fields_exist_and_are_stored() -> None:
    schema_fields = fields()
    for name in LOG_DOCUMENT_FIELDS:
        assert name in schema_fields, name
        assert schema_fields[name].get("stored") == "true", name


def test_document_id_is_the_unique_key() -> None:
    assert SCHEMA.findtext("uniqueKey") == "document-id"


def test_types_serve_the_admin_ui() -> None:
    schema_fields = fields()
    assert schema_fields["errorMessage"].get("type") == "text_general"
    for exact in ("document-id", "shopifyOrderName", "docType", "orderId", "errorCode"):
        assert schema_fields[exact].get("type") == "string", exact
    for date in ("timestamp", "expire_at", "orderCreatedAt", "firstAttemptedAt"):
        assert schema_fields[date].get("type") == "pdate", date
    assert schema_fields["version"].get("type") == "plong"


def test_no_schemaless_guessing() -> None:
    assert CONFIG.find("schemaFactory").get("class") == "ClassicIndexSchemaFactory"  # type: ignore[union-attr]
    assert not list(SCHEMA.iter("dynamicField"))
    assert "AddSchemaFields" not in ET.tostring(CONFIG, encoding="unicode")


def test_default_chain_expires_documents_before_distributing_them() -> None:
    chains = [c for c in CONFIG.iter("updateRequestProcessorChain") if c.get("default") == "true"]
    assert len(chains) == 1
    order = [p.get("class", "").rsplit(".", 1)[-1] for p in chains[0].iter("processor")]
    assert order.index("DocExpirationUpdateProcessorFactory") < order.index(
        "DistributedUpdateProcessorFactory"
    )
    assert order.index("TimestampUpdateProcessorFactory") < order.index(
        "DistributedUpdateProcessorFactory"
    )
    expiration = next(
        p
        for p in chains[0].iter("processor")
        if p.get("class", "").endswith("DocExpirationUpdateProcessorFactory")
    )
    settings = {e.get("name"): e.text for e in expiration}
    assert settings["ttlFieldName"] == "ttl"
    assert settings["expirationFieldName"] == "expire_at"
    assert settings["autoDeletePeriodSeconds"] == "${loginsights.autoDeletePeriodSeconds:300}"


def test_search_handlers_return_the_documented_fields_by_default() -> None:
    for handler in CONFIG.iter("requestHandler"):
        if handler.get("class") == "solr.SearchHandler":
            fl = next(e.text for e in handler.iter("str") if e.get("name") == "fl")
            assert tuple((fl or "").split(",")) == LOG_DOCUMENT_FIELDS, handler.get("name")


def test_soft_commits_make_documents_visible_within_seconds() -> None:
    soft = CONFIG.find("updateHandler/autoSoftCommit/maxTime")
    assert soft is not None and soft.text is not None
    default_ms = int(soft.text.rsplit(":", 1)[-1].rstrip("}"))
    assert default_ms <= 2000


# -- the /search handler: Solr enforces the API's limits itself (defence in depth) -----------

import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402
import requests  # noqa: E402
from conftest import SOLR_READER, SolrUnderTest, record_seed_failure  # noqa: E402

from pipeline.indexing import LogInsightsIndex  # noqa: E402

MARK = "ONLY-IN-THE-OTHER-COLLECTION"


@pytest.fixture(scope="module")
def other(solr: SolrUnderTest) -> Iterator[str]:
    name = f"side{uuid.uuid4().hex[:6]}"
    requests.get(
        f"{solr.url}/admin/collections",
        params={"action": "CREATE", "name": name, "collection.configName": "logInsights",
                "numShards": 1},
        timeout=120, auth=admin_auth(),
    ).raise_for_status()  # fmt: skip
    requests.post(
        f"{solr.url}/{name}/update?commit=true",
        json=[{"document-id": "other-1", "docType": "SHOPIFY_ORDER", "errorMessage": MARK,
               "version": 1, "ttl": "+1DAYS"}],
        timeout=30, auth=admin_auth(),
    ).raise_for_status()  # fmt: skip
    yield name
    requests.get(
        f"{solr.url}/admin/collections",
        params={"action": "DELETE", "name": name},
        timeout=120,
        auth=admin_auth(),
    )


def search_directly(
    solr: SolrUnderTest, handler: str = "search", **params: str
) -> requests.Response:
    """A request straight to one of Solr's search handlers, as if it had got past the API
    (/search as the reader; /select, the admin UI's default, and /query as the admin)."""
    auth = SOLR_READER.auth if handler == "search" else admin_auth()
    return requests.post(f"{solr.url}/logInsights/{handler}", data=params, timeout=30, auth=auth)


HANDLERS = ["search", "select", "query"]


def bypasses(other: str) -> list[dict[str, str]]:
    return [
        {"q": "*:*", "fl": "document-id,s:${a}subquery]", "a": "[", "s.q": "*:*",
         "s.collection": other, "s.fl": "errorMessage", "expandMacros": "true"},
        {"q": "*:*", "fl": "document-id,s:[subquery]", "s.q": "*:*", "s.collection": other,
         "s.fl": "errorMessage"},
        {"q": "*:*", "fl": "s:[subquery]", "s.qt": "/stream",
         "s.expr": f'update({other},tuple(document-id="planted",ttl="+1DAYS"))'},
        {"q": f"{{!join fromIndex={other} from=document-id to=document-id}}*:*",
         "fl": "errorMessage"},
        {"q": f'_query_:"{{\\!join fromIndex={other} from=document-id to=document-id}}*:*"',
         "fl": "errorMessage"},
        {"q": f"{{!join method=crossCollection fromIndex={other} from=document-id "
              "to=document-id}*:*", "fl": "errorMessage"},
        {"q": "{!xmlparser}<MatchAllDocsQuery/>", "fl": "errorMessage"},
        {"q": "{!graph from=document-id to=document-id}*:*", "fl": "errorMessage"},
        {"q": "*:*", "collection": other, "fl": "errorMessage"},
        {"q": "*:*", "fl": "errorMessage,[child],[shard],[explain]"},
        {"q": "${x}", "x": f"{{!join fromIndex={other} from=document-id to=document-id}}*:*"},
    ]  # fmt: skip


@pytest.mark.parametrize("handler", HANDLERS)
def test_search_handler_never_leaves_the_collection_or_writes(
    solr: SolrUnderTest, other: str, index: LogInsightsIndex, shop: str, handler: str
) -> None:
    record_seed_failure(index, shop)
    for params in bypasses(other):
        response = search_directly(solr, handler, **params)
        assert MARK not in response.text, params
        assert response.status_code < 500, (params, response.text[:300])
        if response.status_code == 200:
            assert "debug" not in response.json(), params
    assert (
        requests.get(
            f"{solr.url}/{other}/select",
            params={"q": "*:*", "rows": 0},
            timeout=30,
            auth=admin_auth(),
        ).json()["response"]["numFound"]
        == 1
    ), "nothing was written to the other collection"


@pytest.mark.parametrize("handler", HANDLERS)
def test_search_handler_turns_macros_and_debugging_off(solr: SolrUnderTest, handler: str) -> None:
    macro = search_directly(solr, handler, q="${a}", a="*:*", expandMacros="true", rows="0")
    assert macro.json()["responseHeader"]["params"]["q"] == "${a}"
    assert macro.json().get("response", {}).get("numFound", 0) == 0 or macro.status_code == 400
    debug = search_directly(solr, handler, q="*:*", debug="all", debugQuery="true", rows="0")
    assert debug.status_code == 200 and "debug" not in debug.json()


def test_search_handler_answers_the_seed_request_as_documented(
    solr: SolrUnderTest, index: LogInsightsIndex, shop: str
) -> None:
    record_seed_failure(index, shop)
    body = search_directly(solr, json='{"params":{"q":"docType:SHOPIFY_ORDER"}}').json()
    assert body["responseHeader"]["params"] == {"json": '{"params":{"q":"docType:SHOPIFY_ORDER"}}'}
    assert set(body["response"]) == {"numFound", "start", "numFoundExact", "docs"}
    assert set(body["response"]["docs"][0]) <= set(LOG_DOCUMENT_FIELDS)


# -- issue 21: Solr refuses every parser the API does not allow, even where the guard is wrong --

# Solr 9.10's QParserPlugin.standardPlugins, read from solr-core's QParserPlugin.
STANDARD_PARSERS = frozenset(
    {
        "lucene",
        "func",
        "prefix",
        "boost",
        "dismax",
        "edismax",
        "field",
        "raw",
        "term",
        "terms",
        "query",
        "frange",
        "geofilt",
        "bbox",
        "join",
        "surround",
        "switch",
        "maxscore",
        "parent",
        "child",
        "filters",
        "collapse",
        "simple",
        "complexphrase",
        "rerank",
        "xport",
        "mlt",
        "mlt_content",
        "hash",
        "graph",
        "xmlparser",
        "graphTerms",
        "igain",
        "tlogit",
        "significantTerms",
        "payload_score",
        "payload_check",
        "bool",
        "min_hash",
        "hash_range",
        "rank",
        "knn",
        "vectorSimilarity",
        "fuzzy",
    }
)
KEPT = frozenset({"xport"})  # /export runs on it; the API refuses it by name


def remapped() -> set[str]:
    return {
        p.get("name", "")
        for p in CONFIG.iter("queryParser")
        if p.get("class") == "solr.LuceneQParserPlugin"
    }


def test_every_standard_parser_the_api_refuses_is_the_standard_one_here() -> None:
    from pipeline.search.params import SAFE_PARSERS

    assert remapped() >= STANDARD_PARSERS - SAFE_PARSERS - KEPT
    assert not (remapped() & SAFE_PARSERS)


def test_a_remapped_parser_answers_as_the_standard_one(
    solr: SolrUnderTest, index: LogInsightsIndex, shop: str
) -> None:
    record_seed_failure(index, shop)
    plain = search_directly(solr, q=f'shopifyOrderName:"#10101011010" AND site:*{shop}*', rows="0")
    expected = plain.json()["response"]["numFound"]
    assert expected >= 1
    for name in sorted(remapped()):
        query = f'{{!{name} which=docType:SHOPIFY_ORDER}}shopifyOrderName:"#10101011010" AND ' + (
            f"site:*{shop}*"
        )
        answer = search_directly(solr, q=query, rows="0")
        assert answer.status_code == 200, (name, answer.text[:200])
        assert answer.json()["response"]["numFound"] == expected, name
