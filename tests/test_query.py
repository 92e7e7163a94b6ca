"""The documented request (seed 000) against a real Solr, and its response's shape."""

from __future__ import annotations

import json

import pytest
from conftest import SOLR_READER, SolrUnderTest, admin_auth, record_seed_failure, wait_for

from pipeline.errors import ConfigurationError, SolrUnavailableError
from pipeline.indexing import LogInsightsIndex
from pipeline.models import LOG_DOCUMENT_FIELDS, Platform
from pipeline.query import LogInsightsQuery, compact_json, documented_request

SEED_REQUEST = {"json": {"params": {"q": "docType:SHOPIFY_ORDER"}}, "coreName": "logInsights"}


def test_the_seed_request_returns_the_seed_response_shape(
    index: LogInsightsIndex, log_query: LogInsightsQuery, shop: str
) -> None:
    record_seed_failure(index, shop)
    answer = log_query.run(SEED_REQUEST["json"], SEED_REQUEST["coreName"])  # type: ignore[arg-type]
    assert answer.status == 200
    body = answer.json()

    header = body["responseHeader"]
    assert header["zkConnected"] is True
    assert header["status"] == 0
    assert isinstance(header["QTime"], int)
    assert header["params"]["json"] == '{"params":{"q":"docType:SHOPIFY_ORDER"}}'

    response = body["response"]
    assert set(response) == {"numFound", "start", "numFoundExact", "docs"}
    assert response["numFound"] >= 1 and response["start"] == 0
    assert response["numFoundExact"] is True
    newest = response["docs"][0]
    assert newest["shopifyOrderName"] == "#10101011010", "newest first"
    assert set(newest) == set(LOG_DOCUMENT_FIELDS), "exactly the eleven documented keys"
    assert isinstance(newest["version"], int) and newest["orderCreatedDate"].isdigit()
    for doc in response["docs"]:
        assert set(doc) <= set(LOG_DOCUMENT_FIELDS), "only documented keys by default"
        assert doc["docType"] == "SHOPIFY_ORDER"


def test_solr_json_is_returned_untouched(log_query: LogInsightsQuery, solr: SolrUnderTest) -> None:
    import requests

    answer = log_query.run({"params": {"q": "docType:SHOPIFY_ORDER", "rows": 0}})
    direct = requests.post(
        f"{solr.url}/logInsights/select",
        data={"json": compact_json({"params": {"q": "docType:SHOPIFY_ORDER", "rows": 0}})},
        timeout=10,
        auth=admin_auth(),
    ).json()
    mine = answer.json()
    mine["responseHeader"].pop("QTime")
    direct["responseHeader"].pop("QTime")
    assert mine == direct


def test_documented_request_holds_only_the_given_keys() -> None:
    assert documented_request("docType:SHOPIFY_ORDER") == {"params": {"q": "docType:SHOPIFY_ORDER"}}
    assert compact_json(documented_request("docType:SHOPIFY_ORDER")) == (
        '{"params":{"q":"docType:SHOPIFY_ORDER"}}'
    )
    assert documented_request("*:*", fq=["a:b", "c:d"], rows=5, sort="timestamp desc") == {
        "params": {"q": "*:*", "fq": ["a:b", "c:d"], "rows": 5, "sort": "timestamp desc"}
    }


def test_filters_rows_and_sort_reach_solr(
    index: LogInsightsIndex, log_query: LogInsightsQuery, shop: str
) -> None:
    record_seed_failure(index, shop, Platform.SHOPLAZZA)
    record_seed_failure(index, shop, Platform.SFCC)
    request = documented_request("*:*", fq=[f"shop:{shop}"], rows=1, sort="docType asc")
    body = wait_for(
        lambda: (b := log_query.run(request).json())["response"]["numFound"] == 2 and b, seconds=10
    )
    assert body, "both documents should be found"
    assert [d["docType"] for d in body["response"]["docs"]] == ["SFCC_ORDER"]


def test_solr_refusals_come_back_as_solr_gave_them(log_query: LogInsightsQuery) -> None:
    answer = log_query.run({"params": {"q": "docType:(unbalanced"}})
    assert answer.status == 400
    assert answer.json()["error"]["code"] == 400
    answer = log_query.run({"params": {"q": "*:*", "sort": "noSuchField asc"}})
    assert answer.status == 400
    assert "noSuchField" in json.dumps(answer.json())


def test_only_allowed_cores_are_queried(log_query: LogInsightsQuery) -> None:
    with pytest.raises(ConfigurationError, match="not one of the allowed cores"):
        log_query.run({"params": {"q": "*:*"}}, "../admin")


def test_solr_down_is_reported_as_unavailable() -> None:
    from conftest import free_port

    query = LogInsightsQuery(f"http://127.0.0.1:{free_port()}/solr", timeout=2, account=SOLR_READER)
    with pytest.raises(SolrUnavailableError, match="could not be reached"):
        query.run({"params": {"q": "*:*"}})
