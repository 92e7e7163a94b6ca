"""Solr's task management for the searches the API abandons: a costly search is tracked under
a UUID of ours, cancelled in Solr when the API stops waiting, and its answer keeps seed 000's
echo (only what the caller sent)."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import requests
from conftest import SOLR_READER, SolrUnderTest, admin_auth, wait_for
from prometheus_client import CollectorRegistry, Counter

from pipeline.async_query import AsyncLogInsightsQuery
from pipeline.errors import SolrUnavailableError
from pipeline.query import compact_json
from pipeline.search.guard import guard_request
from pipeline.solr.tasks import TrackedSearch, cancel_outcome

SEED_JSON = {"params": {"q": "docType:SHOPIFY_ORDER"}}


@pytest.mark.parametrize(
    "order",
    [
        ["json", "queryUUID", "shortCircuit", "canCancel"],
        ["queryUUID", "json", "canCancel", "shortCircuit"],
        ["canCancel", "queryUUID", "shortCircuit", "json"],
    ],
)
@pytest.mark.parametrize("indent", [2, None])
def test_our_parameters_leave_the_echo_whatever_their_order_and_layout(
    order: list[str], indent: int | None
) -> None:
    task = TrackedSearch.new()
    # the caller's own json may even spell our parameters: it is echoed escaped, and stays
    sent = compact_json({"params": {"q": 'errorMessage:"\\"canCancel\\":\\"true\\""'}})
    params = {name: task.params.get(name, sent) for name in order}
    body = json.dumps(
        {"responseHeader": {"status": 0, "params": params}, "response": {"numFound": 0}},
        indent=indent,
    ).encode()
    assert json.loads(task.unecho(body))["responseHeader"]["params"] == {"json": sent}


def test_only_searches_that_cost_more_than_a_page_are_tracked() -> None:
    def tracked(value: dict) -> bool:  # type: ignore[type-arg]
        return guard_request({"json": value}, allowed_cores=("logInsights",)).cancellable

    assert not tracked(SEED_JSON)
    assert not tracked({"params": {"q": "errorCode:x", "fq": ["shop:a"], "rows": 50}})
    assert tracked({"query": "*:*", "facet": {"codes": {"type": "terms", "field": "errorCode"}}})
    assert tracked({"params": {"q": "*:*", "facet": "true", "facet.field": "errorCode"}})
    assert tracked({"params": {"q": "{!frange l=0 u=1}attempts"}})
    assert tracked({"params": {"q": "*:*", "group": "true", "group.field": "shop"}})


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (200, b'{"cancellationResult":"success"}', "cancelled"),
        (200, b'{"cancellationResult":"not found"}', "finished"),
        (403, b'{"error":{"code":403}}', "failed"),
    ],
)
def test_what_solr_says_to_a_cancellation(status: int, body: bytes, outcome: str) -> None:
    assert cancel_outcome(status, body) == outcome


@pytest.fixture
def slow_documents(solr: SolrUnderTest):  # type: ignore[no-untyped-def]
    """Documents a function sort makes slow to search (2,000 edit distances of 20,000
    characters), removed afterwards."""
    doc_type = f"TASKS_{uuid.uuid4().hex[:8].upper()}"
    docs = [
        {"document-id": f"{doc_type}-{n}", "docType": doc_type, "version": 1,
         "site": f"https://shop-{n}.example/orders/{n * 7919}"}
        for n in range(2000)
    ]  # fmt: skip
    update = f"{solr.url}/logInsights/update"
    response = requests.post(f"{update}?commit=true", json=docs, auth=admin_auth(), timeout=60)
    response.raise_for_status()
    yield doc_type
    requests.post(
        f"{update}?commit=true",
        json={"delete": {"query": f"docType:{doc_type}"}},
        auth=admin_auth(),
        timeout=60,
    ).raise_for_status()


def _slow_search(doc_type: str) -> dict:  # type: ignore[type-arg]
    far = uuid.uuid4().hex * 625  # 20,000 characters, new each time (no cached answer)
    return {"params": {"q": f"docType:{doc_type}", "sort": f'strdist("{far}",site,edit) desc'}}


def _tasks(solr: SolrUnderTest) -> dict:  # type: ignore[type-arg]
    listed = requests.get(f"{solr.url}/logInsights/tasks/list", auth=admin_auth(), timeout=10)
    listed.raise_for_status()
    return listed.json()["taskList"]  # type: ignore[no-any-return]


def test_a_search_the_api_abandons_is_cancelled_in_solr(
    solr: SolrUnderTest, slow_documents: str
) -> None:
    if solr.mode != "cloud":
        pytest.skip("Solr tracks tasks on its distributed path: SolrCloud")
    cancellations = Counter("c", "c", ["outcome"], registry=CollectorRegistry())

    async def abandon() -> None:
        query = AsyncLogInsightsQuery(
            solr.url, timeout=0.5, account=SOLR_READER, cancellations=cancellations
        )
        await query.open()
        try:
            with pytest.raises(SolrUnavailableError):
                await query.run(_slow_search(slow_documents), cancellable=True)
            await query.settle()
        finally:
            await query.close()

    asyncio.run(abandon())
    assert cancellations.labels("cancelled")._value.get() == 1  # Solr still ran it, and stopped
    assert wait_for(lambda: not _tasks(solr), seconds=10)


def test_a_tracked_search_answers_with_the_seed_echo(solr: SolrUnderTest) -> None:
    async def search() -> dict:  # type: ignore[type-arg]
        query = AsyncLogInsightsQuery(solr.url, account=SOLR_READER)
        try:
            answer = await query.run(SEED_JSON, cancellable=True)
        finally:
            await query.close()
        return answer.json()

    header = asyncio.run(search())["responseHeader"]
    assert header["params"] == {"json": compact_json(SEED_JSON)}
    assert "partialResults" not in header


def test_the_reader_may_cancel_but_not_list_tasks(solr: SolrUnderTest) -> None:
    if solr.mode != "cloud":
        pytest.skip("rules name the collection in SolrCloud")
    base, auth = f"{solr.url}/logInsights/tasks", SOLR_READER.auth
    assert requests.get(f"{base}/list", auth=auth, timeout=10).status_code == 403
    cancel = requests.get(f"{base}/cancel", params={"queryUUID": "nobody"}, auth=auth, timeout=10)
    assert cancel.status_code == 200
    assert cancel_outcome(cancel.status_code, cancel.content) == "finished"
