"""`/api/solr-query` served by uvicorn over real HTTP, in front of a real Solr.

The endpoint answers seed 000's request with Solr's own response, requires a bearer token, and
refuses, before Solr sees it, anything that would act beyond searching an allowed core.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import schemathesis
import uvicorn
from conftest import SolrUnderTest, admin_auth, free_port, record_seed_failure, served, wait_for
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

from pipeline.api import create_app, exposure_warning
from pipeline.errors import ConfigurationError
from pipeline.indexing import LogInsightsIndex
from pipeline.models import LOG_DOCUMENT_FIELDS
from pipeline.settings import Settings
from pipeline.windows import ImportWindow

TOKEN = "test-token-not-a-secret"
SEED_REQUEST = {"json": {"params": {"q": "docType:SHOPIFY_ORDER"}}, "coreName": "logInsights"}
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def api_settings(solr_url: str, **overrides: Any) -> Settings:
    return Settings(
        solr_url=solr_url, api_tokens=[TOKEN, "second-token"], solr_retry_attempts=1, **overrides
    )


@pytest.fixture(scope="module")
def api(solr: SolrUnderTest) -> Iterator[str]:
    with served(create_app(api_settings(solr.url))) as url:
        yield url


@pytest.fixture
def failure(index: LogInsightsIndex, shop: str) -> str:
    """Seed 000's failure document in Solr, for a shop of this test; returns the shop."""
    record_seed_failure(index, shop)
    return shop


def ask(api: str, body: Any, method: str = "GET", headers: dict[str, str] | None = None) -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return requests.request(
        method,
        f"{api}/api/solr-query",
        data=data,
        headers={"Content-Type": "application/json", **(AUTH if headers is None else headers)},
        timeout=30,
    )


# -- the documented request ------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_seed_request_returns_solrs_response(api: str, failure: str, method: str) -> None:
    response = ask(api, SEED_REQUEST, method)
    assert response.status_code == 200
    body = response.json()
    header = body["responseHeader"]
    assert header["zkConnected"] is True and header["status"] == 0
    assert isinstance(header["QTime"], int)
    assert header["params"]["json"] == '{"params":{"q":"docType:SHOPIFY_ORDER"}}'
    assert set(body["response"]) == {"numFound", "start", "numFoundExact", "docs"}
    assert body["response"]["numFound"] >= 1
    for doc in body["response"]["docs"]:
        assert set(doc) == set(LOG_DOCUMENT_FIELDS)
        assert doc["docType"] == "SHOPIFY_ORDER"


def test_curl_with_the_seeds_exact_request_works(api: str, failure: str) -> None:
    completed = subprocess.run(
        [
            "curl", "--silent", "--show-error", "-X", "GET", f"{api}/api/solr-query",
            "-H", "Content-Type: application/json", "-H", f"Authorization: Bearer {TOKEN}",
            "-d", json.dumps(SEED_REQUEST, indent=2), "-w", "\n%{http_code}",
        ],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    body, status = completed.stdout.rsplit("\n", 1)
    assert status == "200"
    assert json.loads(body)["responseHeader"]["params"]["json"] == (
        '{"params":{"q":"docType:SHOPIFY_ORDER"}}'
    )


def test_a_search_for_one_shop_finds_its_failure(api: str, failure: str) -> None:
    request = {"json": {"params": {"q": "*:*", "fq": f"shop:{failure}"}}}
    docs = ask(api, request).json()["response"]["docs"]
    assert [doc["shopifyOrderName"] for doc in docs] == ["#10101011010"]
    assert docs[0]["site"].endswith("key="), "the secret key never reaches Solr"


def test_solrs_own_400_is_passed_through(api: str) -> None:
    response = ask(api, {"json": {"params": {"q": "docType:(", "sort": "nosuchfield asc"}}})
    assert response.status_code == 400
    body = response.json()
    assert body["responseHeader"]["status"] == 400, "Solr's body, not ours"
    assert body["error"]["code"] == 400 and body["error"]["msg"]


# -- authentication --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["none", "wrong token", "not bearer"],
)
def test_without_a_valid_token_the_answer_is_401(api: str, headers: dict[str, str]) -> None:
    response = ask(api, SEED_REQUEST, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "Bearer" in response.json()["error"]["msg"]
    assert TOKEN not in response.text


def test_every_configured_token_is_accepted(api: str) -> None:
    response = ask(api, SEED_REQUEST, headers={"Authorization": "Bearer second-token"})
    assert response.status_code == 200


def test_an_open_api_is_served_on_loopback_only() -> None:
    open_settings = Settings(api_tokens=[])
    with pytest.raises(ConfigurationError, match="LOGINSIGHTS_API_TOKENS"):
        exposure_warning(open_settings, "0.0.0.0")
    warning = exposure_warning(open_settings, "127.0.0.1")
    assert warning and "no API token" in warning
    assert exposure_warning(Settings(api_tokens=[TOKEN]), "0.0.0.0") is None


def test_without_tokens_configured_no_token_is_needed_on_loopback(solr: SolrUnderTest) -> None:
    with served(create_app(Settings(solr_url=solr.url, api_tokens=[]))) as url:
        assert ask(url, SEED_REQUEST, headers={}).status_code == 200


# -- refusals: only the search handler of an allowed core -----------------------------------

REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("unknown core", {**SEED_REQUEST, "coreName": "otherCore"}, "coreName"),
    ("core with a path", {**SEED_REQUEST, "coreName": "logInsights/update"}, "coreName"),
    ("core climbing up", {**SEED_REQUEST, "coreName": "../admin/cores"}, "coreName"),
    ("unknown body key", {**SEED_REQUEST, "handler": "/update"}, "handler"),
    ("qt", {"json": {"params": {"q": "*:*", "qt": "/update"}}}, "qt"),
    ("qt at the top", {"json": {"query": "*:*", "qt": "/update"}}, "qt"),
    ("shards", {"json": {"params": {"q": "*:*", "shards": "evil:8983/solr/x"}}}, "shards"),
    ("shards.qt", {"json": {"params": {"q": "*:*", "shards.qt": "/update"}}}, "shards.qt"),
    ("collection", {"json": {"params": {"q": "*:*", "collection": "other"}}}, "collection"),
    ("_route_", {"json": {"params": {"q": "*:*", "_route_": "a!"}}}, "_route_"),
    ("stream.body", {"json": {"params": {"stream.body": "<delete/>"}}}, "stream.body"),
    ("stream.url at the top", {"json": {"stream.url": "file:///etc/passwd"}}, "stream.url"),
    ("wt xml", {"json": {"params": {"q": "*:*", "wt": "xml"}}}, "wt"),
    ("tr", {"json": {"params": {"q": "*:*", "tr": "example.xsl"}}}, "tr"),
    ("velocity", {"json": {"params": {"q": "*:*", "v.template": "x"}}}, "v.template"),
    ("expandMacros", {"json": {"params": {"q": "*:*", "expandMacros": "false"}}}, "expandMacros"),
    ("debugQuery", {"json": {"params": {"q": "*:*", "debugQuery": "true"}}}, "debugQuery"),
    ("debug at the top", {"json": {"query": "*:*", "debug": "all"}}, "debug"),
    ("explainOther", {"json": {"params": {"q": "*:*", "explainOther": "id:1"}}}, "explainOther"),
    ("defType xml", {"json": {"params": {"q": "<x/>", "defType": "xmlparser"}}}, "defType"),
    ("join local params", {"json": {"params": {"q": "{!join from=a to=b}x:y"}}}, "{!join}"),
    ("fromIndex", {"json": {"query": "{!lucene fromIndex=other}x"}}, "fromIndex"),
    ("xmlparser in fq", {"json": {"filter": ["{!xmlparser v='<a/>'}"]}}, "{!xmlparser}"),
    ("nested join", {"json": {"query": 'a:b AND _query_:"{!join from=x to=y}z"'}}, "_query_"),
    ("DSL join", {"json": {"query": {"join": {"from": "a", "to": "b", "query": "x"}}}}, "join"),
    ("subquery", {"json": {"params": {"q": "*:*", "fl": "id,[subquery]"}}}, "subquery"),
    ("unknown json key", {"json": {"query": "*:*", "frobnicate": 1}}, "frobnicate"),
    ("rows over the cap", {"json": {"params": {"q": "*:*", "rows": 100000}}}, "rows"),
    ("limit over the cap", {"json": {"query": "*:*", "limit": 100000}}, "limit"),
    ("facet.limit -1", {"json": {"params": {"q": "*:*", "facet.limit": -1}}}, "facet.limit"),
    (
        "JSON facet limit",
        {"json": {"query": "*:*", "facet": {"t": {"type": "terms", "field": "shop", "limit": -1}}}},
        "facet.t.limit",
    ),
    ("json param", {"json": {"params": {"json": '{"query":"*:*"}'}}}, "json"),
]


@pytest.mark.parametrize(
    ("request_body", "key"),
    [(body, key) for _, body, key in REFUSED],
    ids=[name for name, _, _ in REFUSED],
)
def test_what_goes_beyond_searching_is_refused_naming_the_key(
    api: str, request_body: dict[str, Any], key: str
) -> None:
    response = ask(api, request_body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["key"] == key
    assert error["code"] == 400
    assert "responseHeader" not in response.json(), "refused before Solr saw it"


@pytest.mark.parametrize(
    "request_body",
    [
        {"json": {"query": "docType:SHOPIFY_ORDER", "filter": ["{!tag=t}shop:x"], "limit": 5}},
        {"json": {"params": {"q": "{!edismax qf=errorMessage}address", "rows": 1000}}},
        {"json": {"query": {"bool": {"must": ["docType:SHOPIFY_ORDER"]}}, "fields": "site"}},
        {"json": {"query": "*:*", "facet": {"types": {"type": "terms", "field": "docType"}}}},
        {"json": {"params": {"q": "*:*", "facet": "true", "facet.field": "docType", "wt": "json"}}},
    ],
    ids=["filters and tags", "edismax", "bool DSL", "JSON facet", "classic facet"],
)
def test_ordinary_searches_pass(api: str, request_body: dict[str, Any]) -> None:
    response = ask(api, request_body)
    assert response.status_code == 200, response.text
    assert response.json()["responseHeader"]["status"] == 0


def test_malformed_json_is_a_400(api: str) -> None:
    response = ask(api, '{"json": {"params": ')
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["msg"]


def test_an_oversized_body_is_a_413(api: str) -> None:
    big = {"json": {"params": {"q": "a" * 70_000}}}
    response = ask(api, big)
    assert response.status_code == 413
    assert "bytes" in response.json()["error"]["msg"]


# -- Solr down or hung -----------------------------------------------------------------------


def test_solr_down_is_a_503_with_retry_after() -> None:
    dead = f"http://127.0.0.1:{free_port()}/solr"
    with served(create_app(api_settings(dead))) as url:
        response = ask(url, SEED_REQUEST)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert "Solr" in response.json()["error"]["msg"]
        health = requests.get(f"{url}/healthz", timeout=30)
        assert health.status_code == 503 and health.headers["Retry-After"] == "5"
        assert health.json() == {"status": "unavailable"}, "no details without a token"
        detailed = requests.get(f"{url}/healthz", headers=AUTH, timeout=30)
        assert detailed.status_code == 503 and "could not be reached" in detailed.text


def test_a_hung_solr_times_out_as_a_503() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # accepts connections, never answers
        hung = f"http://127.0.0.1:{silent.getsockname()[1]}/solr"
        with served(create_app(api_settings(hung, solr_timeout_seconds=0.5))) as url:
            response = ask(url, SEED_REQUEST)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"


# -- health, metrics, schema -----------------------------------------------------------------


def test_healthz_without_a_token_says_only_ok(api: str) -> None:
    response = requests.get(f"{api}/healthz", timeout=30)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_with_a_token_reports_solr_and_the_collection(api: str) -> None:
    response = requests.get(f"{api}/healthz", headers=AUTH, timeout=30)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["solr"].startswith("http://127.0.0.1:")
    assert isinstance(body["cores"]["logInsights"]["numFound"], int)


def test_metrics_count_requests_refusals_and_solr_errors(api: str) -> None:
    ask(api, SEED_REQUEST)
    ask(api, {"json": {"params": {"qt": "/update"}}})
    ask(api, {"json": {"params": {"q": "docType:("}}})
    text = requests.get(f"{api}/metrics", timeout=30).text
    assert 'loginsights_api_requests_total{method="GET",route="/api/solr-query",status="200"}' in (
        text
    )
    assert 'loginsights_api_refused_total{reason="guard"}' in text
    assert 'loginsights_api_solr_errors_total{kind="refused"}' in text
    assert "loginsights_api_request_seconds_bucket" in text
    assert TOKEN not in text


def test_openapi_describes_the_endpoint(api: str) -> None:
    assert requests.get(f"{api}/openapi.json", timeout=30).status_code == 401, "token first"
    assert requests.get(f"{api}/docs", headers=AUTH, timeout=30).status_code == 404
    schema = requests.get(f"{api}/openapi.json", headers=AUTH, timeout=30).json()
    operations = schema["paths"]["/api/solr-query"]
    assert set(operations) == {"get", "post"}
    for operation in operations.values():
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert set(body["properties"]) == {"json", "coreName"}
        assert body["required"] == ["json"]
        assert {"200", "400", "401", "413", "503"} <= set(operation["responses"])
        assert operation["security"] == [{"HTTPBearer": []}]
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


# -- schemathesis: whatever the schema allows, no 5xx ---------------------------------------


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_schemathesis_makes_up_gives_a_5xx(api: str, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{api}/openapi.json", headers=AUTH)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} >= {"GET /api/solr-query", "POST /api/solr-query"}
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not operation.get_request_payload_content_types():
            continue  # nothing to make invalid

        @given(case=operation.as_strategy(mode))
        @hypothesis_settings(
            max_examples=40,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def no_server_error(case: Any) -> None:
            case.call_and_validate(
                headers=AUTH,
                checks=[not_a_server_error, status_code_conformance, content_type_conformance],
                timeout=30,
            )

        no_server_error()


def test_metrics_carry_the_in_process_workers_counters(solr: SolrUnderTest) -> None:
    from pipeline.api import ApiMetrics
    from pipeline.reports import WindowReport

    metrics = ApiMetrics()
    window = ImportWindow(
        start=datetime(2026, 11, 22, tzinfo=UTC), end=datetime(2026, 11, 23, tzinfo=UTC)
    )
    metrics.observe_window(WindowReport(window, shop="hc-demo", seen=5, imported=3, failed=2))
    from pipeline.reports import ShopPass

    for calls, throttled in ((10, 0), (25, 1)):
        metrics.observe_shop(
            ShopPass("hc-demo", lag_seconds=90.0, calls=calls, rate_limited=throttled,
                     budget_wait_seconds=2.5)
        )  # fmt: skip
    with served(create_app(api_settings(solr.url), metrics=metrics)) as url:
        text = requests.get(f"{url}/metrics", timeout=30).text
    assert 'loginsights_worker_orders_total{outcome="imported",shop="hc-demo"} 3.0' in text
    assert 'loginsights_worker_orders_total{outcome="failed",shop="hc-demo"} 2.0' in text
    assert 'loginsights_worker_windows_total{shop="hc-demo"} 1.0' in text
    assert 'loginsights_shop_lag_seconds{shop="hc-demo"} 90.0' in text
    assert 'loginsights_shop_api_calls_total{shop="hc-demo"} 25.0' in text, "totals, not sums"
    assert 'loginsights_shop_rate_limited_total{shop="hc-demo"} 1.0' in text
    assert 'loginsights_shop_budget_wait_seconds_total{shop="hc-demo"} 2.5' in text


# -- issue 10: walking around the guard ------------------------------------------------------

SECRET_MARK = "SECRET-OF-ANOTHER-COLLECTION"


@pytest.fixture(scope="module")
def other_collection(solr: SolrUnderTest) -> Iterator[str]:
    """A second collection on the same Solr holding a document nobody may read through the API."""
    name = f"other{uuid.uuid4().hex[:6]}"
    created = requests.get(
        f"{solr.url}/admin/collections",
        params={"action": "CREATE", "name": name, "collection.configName": "logInsights",
                "numShards": 1, "wt": "json"},
        timeout=120, auth=admin_auth(),
    )  # fmt: skip
    assert created.status_code == 200, created.text
    posted = requests.post(
        f"{solr.url}/{name}/update?commit=true",
        json=[{"document-id": "secret-1", "docType": "SHOPIFY_ORDER", "ttl": "+1DAYS", "version": 1,
               "errorMessage": SECRET_MARK, "shopifyOrderName": SECRET_MARK}],
        timeout=30, auth=admin_auth(),
    )  # fmt: skip
    assert posted.status_code == 200, posted.text
    yield name
    requests.get(
        f"{solr.url}/admin/collections",
        params={"action": "DELETE", "name": name},
        timeout=120,
        auth=admin_auth(),
    )


def count_in(solr_url: str, collection: str) -> int:
    answer = requests.get(
        f"{solr_url}/{collection}/select",
        params={"q": "*:*", "rows": 0},
        timeout=30,
        auth=admin_auth(),
    )
    return int(answer.json()["response"]["numFound"])


def attacks(other: str, port: int) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("macro-built subquery", {"params": {
            "q": "*:*", "fl": "document-id,s:${a}subquery]", "a": "[", "s.q": "*:*",
            "s.collection": other, "s.fl": "errorMessage"}}),
        ("subquery streaming update", {"params": {
            "q": "*:*", "fl": "s:[subquery]", "s.qt": "/stream",
            "s.expr": f'update({other}, tuple(id="x"))'}}),
        ("escaped join in _query_", {"params": {
            "q": f'_query_:"{{\\!join fromIndex={other} from=document-id to=document-id}}*:*"'}}),
        ("unicode-escaped join", {"params": {
            "q": f"{{\\u0021join fromIndex={other} from=document-id to=document-id}}*:*"}}),
        ("percent-encoded join", {"params": {
            "q": f"%7B!join fromIndex={other} from=document-id to=document-id%7D*:*"}}),
        ("collection", {"params": {"q": "*:*", "collection": other}}),
        ("shards", {"params": {"q": "*:*", "shards": f"127.0.0.1:{port}/solr/{other}"}}),
        ("xmlparser", {"params": {"q": "{!xmlparser}<MatchAllDocsQuery/>"}}),
        ("DSL join", {"query": {"join": {"from": "document-id", "to": "document-id",
                                         "fromIndex": other, "query": "*:*"}}}),
    ]  # fmt: skip


def test_no_walk_around_reaches_another_collection_or_writes(
    api: str, solr: SolrUnderTest, other_collection: str
) -> None:
    port = int(solr.url.split(":")[2].split("/")[0])
    before = count_in(solr.url, other_collection), count_in(solr.url, "logInsights")
    for name, value in attacks(other_collection, port):
        response = ask(api, {"json": value})
        assert response.status_code == 400, (name, response.text)
        assert response.json()["error"]["key"], name
        assert SECRET_MARK not in response.text, name
    assert (count_in(solr.url, other_collection), count_in(solr.url, "logInsights")) == before


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ('{"json": {"params": {"q": "*:*", "rows": NaN}}}', "rows"),
        ('{"json": {"params": {"q": "*:*", "rows": 1e309}}}', "rows"),
        ('{"json": {"params": {"q": "*:*", "mm": Infinity}}}', "mm"),
        ('{"json": {"params": {"q": "\\ud800"}}}', "q"),
        ('{"json": {"facet": ' + '{"a": ' * 40 + "{}" + "}" * 40 + "}}", "a"),
        ('{"json": ' * 5000 + "1" + "}" * 5000, "(body)"),
        ('{"json": {"params": {"q": "' + "(" * 5000 + "a" + ")" * 5000 + '"}}}', "q"),
    ],
    ids=["NaN", "1e309", "Infinity", "lone surrogate", "deep facets", "deep body", "deep query"],
)
def test_malformed_input_is_a_400_naming_the_key(api: str, raw: str, key: str) -> None:
    response = ask(api, raw)
    assert response.status_code == 400, response.text[:300]
    assert response.json()["error"]["key"] == key


@pytest.mark.parametrize(
    "params",
    [
        {"q": '{!func}div(attempts,"a")', "sort": "score desc"},
        {"q": "errorMessage:/.{1,10000}{1,10000}/"},
    ],
    ids=["function on a string", "regexp too complex"],
)
def test_solrs_500_for_a_callers_query_is_that_callers_400(
    api: str, params: dict[str, Any]
) -> None:
    response = ask(api, {"json": {"params": params}})
    assert response.status_code == 400, response.text[:300]
    error = response.json()["error"]
    assert error["key"] == "json" and "simplify" in error["msg"]
    assert "Retry-After" not in response.headers
    assert "at org.apache" not in response.text, "no Java stack trace"


def test_the_access_log_never_records_a_query_string(
    solr: SolrUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="loginsights.access")
    with served(create_app(api_settings(solr.url), access_log=True)) as url:
        requests.post(
            f"{url}/api/solr-query?access_token=shpat_0123456789abcdef&key=hunter22",
            data=json.dumps(SEED_REQUEST), headers=AUTH, timeout=30,
        )  # fmt: skip
    lines = [r.getMessage() for r in caplog.records if r.name == "loginsights.access"]
    assert any('"POST /api/solr-query" 200' in line for line in lines), lines
    assert not any("shpat_" in line or "hunter22" in line or "?" in line for line in lines)


# -- a property: whatever the mix of names and values, only logInsights answers or a 4xx ------

ALLOWED_NAMES = ["q", "fq", "fl", "sort", "rows", "start", "facet", "facet.field", "df", "hl.fl",
                 "group.limit", "expand.rows", "mlt.count", "facet.range.gap"]  # fmt: skip
FORBIDDEN_NAMES = ["qt", "shards", "collection", "s.q", "s.collection", "s.qt", "x.fl",
                   "stream.body", "expandMacros", "json", "debug", "a", "_route_"]  # fmt: skip


def hostile_values(other: str) -> list[Any]:
    return [
        "*:*", "docType:SHOPIFY_ORDER", 5, "true", "errorMessage", -1, 10**7, "${a}",
        "[", "s:[subquery]", "x:[child]", f"{{!join fromIndex={other} from=a to=b}}*:*",
        f'_query_:"{{\\!join fromIndex={other}}}x"', other, "/update", "/stream",
        f"update({other},tuple(id=1))", "{\\u0021xmlparser}<a/>", "%7B!graph%7D", "xml",
        "(" * 60, "1e309", "\ud800"[:0] + "NOW-100YEARS",
    ]  # fmt: skip


def test_any_mix_of_parameters_gives_logInsights_or_a_4xx(  # noqa: N802
    api: str, solr: SolrUnderTest, other_collection: str
) -> None:
    from hypothesis import strategies as st

    values = hostile_values(other_collection)
    names = st.sampled_from(ALLOWED_NAMES + FORBIDDEN_NAMES)
    param_maps = st.dictionaries(names, st.sampled_from(values), min_size=1, max_size=5)
    before = count_in(solr.url, other_collection), count_in(solr.url, "logInsights")
    seen: set[int] = set()

    @given(params=param_maps, where=st.sampled_from(["params", "top"]))
    @hypothesis_settings(
        max_examples=150, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    def only_loginsights_or_a_4xx(params: dict[str, Any], where: str) -> None:
        value = {"params": params} if where == "params" else {"query": "*:*", **params}
        response = ask(api, {"json": value})
        seen.add(response.status_code)
        assert SECRET_MARK not in response.text
        if response.status_code == 200:
            assert response.json()["responseHeader"]["status"] == 0
            assert not set(params) & set(FORBIDDEN_NAMES)
        else:
            assert 400 <= response.status_code < 500, response.text[:300]

    only_loginsights_or_a_4xx()
    assert {200, 400} <= seen, "the generator reached both outcomes"
    assert (count_in(solr.url, other_collection), count_in(solr.url, "logInsights")) == before


# -- issue 21: bounded answers, slow and vanishing clients, one line per log record ------------


def test_an_answer_past_the_byte_limit_is_a_400_never_relayed(
    solr: SolrUnderTest, failure: str
) -> None:
    settings = api_settings(solr.url, api_max_response_bytes=1024)
    with served(create_app(settings)) as url:
        body = {"json": {"params": {"q": "*:*", "rows": 200, "fl": "*"}}}
        answer = ask(url, body)
        small = ask(url, {"json": {"params": {"q": "*:*", "rows": 0}}})
    assert answer.status_code == 400 and "over 1024 bytes" in answer.json()["error"]["msg"]
    assert small.status_code == 200


def test_every_answer_carries_the_security_headers(api: str) -> None:
    for answer in (ask(api, SEED_REQUEST), requests.get(f"{api}/login", timeout=30)):
        assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "same-origin", "no referrer to other sites"


def test_no_redirect_takes_its_host_from_the_request(api: str) -> None:
    answer = requests.get(
        f"{api}/reconciliations/", headers={"Host": "evil.example"}, allow_redirects=False,
        timeout=30,
    )  # fmt: skip
    assert "evil.example" not in answer.headers.get("Location", "")


def test_a_forged_line_in_a_path_stays_on_its_own_line(
    solr: SolrUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="loginsights.access")
    with served(create_app(api_settings(solr.url), access_log=True)) as url:
        requests.get(f'{url}/x%0aFORGED%20"POST%20/orders/a/b/reimport"%20303', timeout=30)
    lines = [r.getMessage() for r in caplog.records if r.name == "loginsights.access"]
    assert lines and all("\n" not in line for line in lines)
    assert any("\\nFORGED" in line for line in lines)


def raw_connection(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


@pytest.fixture
def bounded_api(solr: SolrUnderTest) -> Iterator[str]:
    """The API as `serve` runs it: slow-client bounds on, short enough to test."""
    from pipeline.api.serving import server_config

    settings = api_settings(
        solr.url, api_header_timeout_seconds=1.0, api_body_timeout_seconds=1.0,
        api_max_concurrency=4, api_max_connections=6,
    )  # fmt: skip
    port = free_port()
    server = uvicorn.Server(server_config(create_app(settings), settings, host="127.0.0.1",
                                          port=port))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_for(lambda: server.started, seconds=20)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_headers_that_trickle_in_are_cut_off(bounded_api: str) -> None:
    slow = [raw_connection(bounded_api) for _ in range(4)]
    for connection in slow:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the rest
    time.sleep(2.5)
    for connection in slow:
        assert connection.recv(1024) == b"", "closed by the server"
        connection.close()
    assert requests.get(f"{bounded_api}/healthz", timeout=10).status_code == 200


def kept_alive(url: str) -> socket.socket:
    """A client that made one request and keeps its connection open for the next (as a
    platform's webhook sender does between deliveries)."""
    connection = raw_connection(url)
    connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert connection.recv(4096).startswith(b"HTTP/1.1 200")
    return connection


def test_connections_kept_alive_between_requests_never_turn_a_new_client_away(
    bounded_api: str,
) -> None:
    """Past the connection bound the one idle longest is closed to make room: a new client is
    answered, not given a 503 because others keep their connections open (a fleet's senders)."""
    idle = [kept_alive(bounded_api) for _ in range(6)]  # the bound: 6 connections
    time.sleep(0.1)
    for _ in range(3):
        assert requests.get(f"{bounded_api}/healthz", timeout=10).status_code == 200
    idle[0].settimeout(5)
    assert idle[0].recv(1024) == b"", "the connection idle longest was closed to make room"
    for connection in idle:
        connection.close()


def test_requests_past_the_bound_in_flight_are_a_503_with_retry_after(
    bounded_api: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Four requests being answered (their bodies stall: the bound is 4): a fifth is told to
    come back, at once, with Retry-After, and the log says so; once they end, it is answered."""
    from pipeline.api.serving import SlowHeadersProtocol

    SlowHeadersProtocol._busy[:] = [0, float("-inf")]  # a line is due (one every 10 s)
    head = (
        b"POST /api/solr-query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + TOKEN.encode() + b"\r\nContent-Length: 500\r\n\r\n{"
    )
    stalled = [raw_connection(bounded_api) for _ in range(4)]
    for connection in stalled:
        connection.sendall(head)
    time.sleep(0.2)
    refused = requests.get(f"{bounded_api}/healthz", timeout=10)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
    assert "requests are being answered already" in refused.text
    assert any("refused 1 request(s) with 503" in r.getMessage() for r in caplog.records)
    for connection in stalled:
        connection.close()
    assert wait_for(
        lambda: requests.get(f"{bounded_api}/healthz", timeout=10).status_code == 200, seconds=5
    )


def test_a_body_that_stalls_or_vanishes_gets_no_500_and_the_api_carries_on(
    bounded_api: str,
) -> None:
    head = (
        b"POST /api/solr-query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + TOKEN.encode() + b"\r\nContent-Length: 500\r\n\r\n"
    )
    stalled = raw_connection(bounded_api)
    stalled.sendall(head + b'{"json": ')
    reply = stalled.recv(1024)
    assert reply.startswith(b"HTTP/1.1 408"), reply[:40]
    stalled.close()
    vanished = raw_connection(bounded_api)
    vanished.sendall(head + b'{"json": ')
    vanished.close()
    time.sleep(0.3)
    assert ask(bounded_api, SEED_REQUEST).status_code == 200


# -- issue 28: one client cannot slow the others ----------------------------------------------


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(
            b"X-H%d: v\r\n" % n for n in range(150)) + b"\r\n", b"431"),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n", b"431"),
        (b"GET /healthz?" + b"q" * 9_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"414"),
    ],
    ids=["150 headers", "a 40 KB header", "a 9 KB request line"],
)  # fmt: skip
def test_too_many_or_too_large_headers_are_refused_at_once(
    bounded_api: str, head: bytes, status: bytes
) -> None:
    connection = raw_connection(bounded_api)
    connection.sendall(head)
    reply = connection.recv(4096)
    assert reply.startswith(b"HTTP/1.1 " + status), reply[:60]
    assert b"Traceback" not in reply
    connection.close()
    assert requests.get(f"{bounded_api}/healthz", timeout=10).status_code == 200


def test_a_header_streamed_without_end_is_cut_off_while_others_are_answered(
    bounded_api: str,
) -> None:
    """The attack pass's 75 MB header: the server stops reading it within its byte budget
    (the stream is cut off, never parsed to the end), and another client's requests, made
    while it streams, are answered."""
    flood = raw_connection(bounded_api)
    flood.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Flood: ")
    sent, cut_off = 0, False
    answered = []
    chunk = b"z" * 16_384
    while sent < 8_000_000:  # bounded: 8 MB at most
        try:
            flood.sendall(chunk)
        except OSError:  # reset or broken pipe: the server hung up
            cut_off = True
            break
        sent += len(chunk)
        if sent % (16_384 * 8) == 0:
            answered.append(requests.get(f"{bounded_api}/healthz", timeout=10).status_code)
    flood.close()
    assert cut_off and sent < 1_000_000, f"the server read {sent} bytes of one header"
    assert all(code == 200 for code in answered)
    assert requests.get(f"{bounded_api}/healthz", timeout=10).status_code == 200


def test_solrs_own_refusal_is_a_403_not_an_outage_to_retry(solr: SolrUnderTest) -> None:
    """Behind the guard, Solr's permissions refuse what the reader may not do. Here the API
    logs in as the indexer (which may only /update): Solr answers 403, and so does the API,
    without Retry-After; an outage is a 503 with it."""
    from conftest import SOLR_INDEXER

    settings = api_settings(
        solr.url, solr_reader_user=SOLR_INDEXER.user, solr_reader_password=SOLR_INDEXER.password
    )
    with served(create_app(settings)) as url:
        answer = ask(url, SEED_REQUEST)
    assert answer.status_code == 403, answer.text
    assert "Retry-After" not in answer.headers
    assert "refused" in answer.json()["error"]["msg"] and "Traceback" not in answer.text
