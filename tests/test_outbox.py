"""The outbox drains into a real Solr: a restarting Solr delays documents, never kills them."""

from __future__ import annotations

import requests
from conftest import SOLR_INDEXER, SolrUnderTest, admin_auth, select

from pipeline.errors import SolrRequestError, SolrUnavailableError
from pipeline.flusher import OutboxFlusher
from pipeline.indexing import LogInsightsIndex
from pipeline.ledger import Ledger
from pipeline.solr.transport import error_for_response


def document(shop: str, n: int, ttl: str = "+60DAYS") -> dict[str, object]:
    return {"document-id": f"{shop}-{n}", "docType": "SHOPIFY_ORDER", "shop": shop,
            "errorMessage": f"order {n} failed", "ttl": ttl, "version": n}  # fmt: skip


def test_a_missing_collection_is_unavailable_and_documents_wait(
    solr: SolrUnderTest, ledger: Ledger, shop: str
) -> None:
    for n in range(3):
        ledger.enqueue(document(shop, n))
    restarting = LogInsightsIndex(solr.url, "notLoadedYet", retry_attempts=1, account=SOLR_INDEXER)
    report = OutboxFlusher(ledger, restarting).flush()
    assert report.solr_down and report.posted == 0
    assert ledger.outbox_counts() == (3, 0), "waiting, none dead"

    back = OutboxFlusher(
        ledger, LogInsightsIndex(solr.url, retry_attempts=1, account=SOLR_INDEXER)
    ).flush()
    assert back.posted == 3 and ledger.outbox_counts() == (0, 0)
    found = select(solr.url, q="*:*", fq=f"shop:{shop}", rows=0)["response"]["numFound"]
    assert found == 3, "searchable as soon as the flush returns (soft commit)"


def test_only_a_document_solr_names_goes_dead_and_retry_dead_requeues_it(
    solr: SolrUnderTest, ledger: Ledger, index: LogInsightsIndex, shop: str
) -> None:
    ledger.enqueue(document(shop, 1))
    ledger.enqueue(document(shop, 2, ttl="sixty days"))
    report = OutboxFlusher(ledger, index).flush()
    assert (report.posted, report.refused) == (1, 1)
    assert ledger.outbox_counts() == (0, 1)
    assert ledger.outbox_requeue_dead() == 1
    assert ledger.outbox_counts() == (1, 0)
    assert OutboxFlusher(ledger, index).flush().refused == 1, "still refused, kept again"
    assert ledger.outbox_counts() == (0, 1)


def test_solr_restart_answers_are_unavailable_not_refusals(solr: SolrUnderTest) -> None:
    missing = requests.get(f"{solr.url}/noSuchCollection/select", timeout=30, auth=admin_auth())
    assert isinstance(error_for_response(missing, "index"), SolrUnavailableError)
    response = requests.Response()
    response.status_code = 400
    response._content = b'{"error": {"msg": "no servers hosting shard: shard2", "code": 400}}'
    assert isinstance(error_for_response(response, "index"), SolrUnavailableError)
    response._content = b'{"error": {"msg": "unknown field \'frobnicate\'", "code": 400}}'
    assert isinstance(error_for_response(response, "index"), SolrRequestError)


def test_refused_credentials_wait_quietly_before_they_name_the_account(
    solr: SolrUnderTest, ledger: Ledger, shop: str
) -> None:
    """A node that is starting or loading its security refuses good credentials for a moment:
    at first that is 'not ready, waiting'; only a refusal that lasts names the account."""
    from pydantic import SecretStr

    from pipeline.solr.accounts import SolrAccount

    ledger.enqueue(document(shop, 1))
    refused = SolrAccount(SOLR_INDEXER.role, SOLR_INDEXER.user, SecretStr("not-the-password"))
    now = [1000.0]
    flusher = OutboxFlusher(
        ledger,
        LogInsightsIndex(solr.url, retry_attempts=1, account=refused),
        settle_seconds=60,
        clock=lambda: now[0],
    )
    first = flusher.flush()
    assert first.solr_down and "not ready" in first.error and "waiting" in first.error
    assert "LOGINSIGHTS_SOLR" not in first.error, "no advice about the account yet"
    now[0] += 61
    lasting = flusher.flush()
    assert "HTTP 401" in lasting.error and "LOGINSIGHTS_SOLR_" in lasting.error
    assert ledger.outbox_counts() == (1, 0), "kept all along, never dead"
    flusher.index = LogInsightsIndex(solr.url, retry_attempts=1, account=SOLR_INDEXER)
    assert flusher.flush().posted == 1
