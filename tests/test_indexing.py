"""Recording failed attempts in the logInsights collection of a real Solr.

Attempts go the production way: facts into a ledger, documents rendered from them and posted
from the outbox (``record`` below); the indexer itself only posts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import SolrUnderTest, free_port, select, wait_for

from pipeline.documents import failure_document, failure_renderer
from pipeline.errors import SolrUnavailableError
from pipeline.flusher import FlushReport, OutboxFlusher
from pipeline.indexing import LogInsightsIndex
from pipeline.ledger import Ledger
from pipeline.models import FailedAttempt, Platform
from pipeline.settings import Settings
from pipeline.wiring import Wiring

ZONE = ZoneInfo("America/New_York")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        yield ledger


def record(index: LogInsightsIndex, store: Ledger, attempts: list[FailedAttempt]) -> FlushReport:
    """As the worker records failures: facts in the ledger, documents through the outbox."""
    store.record_failures(attempts, render=failure_renderer("+60DAYS", ZONE))
    return OutboxFlusher(store, index).flush()


def document(attempt: FailedAttempt, version: int = 1) -> dict[str, object]:
    return failure_document(attempt, ttl="+60DAYS", zone=ZONE, version=version)


def failed(shop: str, order_id: str = "1001", **changes: object) -> FailedAttempt:
    values: dict[str, object] = {
        "platform": Platform.SHOPIFY,
        "shop": shop,
        "order_id": order_id,
        "order_name": f"#{order_id}",
        "order_created_at": datetime(2024, 1, 4, 2, 37, 42, tzinfo=UTC),
        "error_message": "Service [createShopifyOrder] target threw an unexpected exception (null)",
        "site": f"https://{shop}.myshopify.com/1/orders/abc/authenticate?key=topsecret",
    }
    values.update(changes)
    return FailedAttempt.model_validate(values)


def stored(solr: SolrUnderTest, shop: str, **params: object) -> list[dict]:  # type: ignore[type-arg]
    body = select(solr.url, q=f"shop:{shop}", fl="*", rows=100, **params)
    return body["response"]["docs"]  # type: ignore[no-any-return]


def exactly(solr: SolrUnderTest, shop: str, count: int):  # type: ignore[no-untyped-def]
    """A predicate for wait_for: the shop's documents once there are exactly ``count``."""

    def check() -> list[dict] | None:  # type: ignore[type-arg]
        docs = stored(solr, shop)
        return docs if len(docs) == count else None

    return check


def test_expire_at_is_timestamp_plus_ttl(
    index: LogInsightsIndex, store: Ledger, solr: SolrUnderTest, shop: str
) -> None:
    report = record(index, store, [failed(shop)])
    assert report.refused == 0 and report.posted == 1
    docs = wait_for(lambda: stored(solr, shop), seconds=10)
    assert len(docs) == 1
    doc = docs[0]
    assert doc["ttl"] == "+60DAYS"
    timestamp = datetime.fromisoformat(doc["timestamp"])
    expire_at = datetime.fromisoformat(doc["expire_at"])
    assert expire_at == timestamp + timedelta(days=60)
    assert abs(timestamp - datetime.now(UTC)) < timedelta(minutes=2)


def test_a_posted_document_is_searchable_within_seconds_without_a_commit(
    index: LogInsightsIndex, solr: SolrUnderTest, shop: str
) -> None:
    index.post_documents([document(failed(shop))])
    assert wait_for(lambda: stored(solr, shop), seconds=5), "autoSoftCommit should expose it"


def test_refailing_an_order_keeps_one_document_and_its_first_attempt(
    index: LogInsightsIndex, store: Ledger, solr: SolrUnderTest, shop: str
) -> None:
    first_time = datetime(2024, 1, 4, 3, 15, 12, tzinfo=UTC)
    record(index, store, [failed(shop, attempted_at=first_time, error_message="first error")])
    before = wait_for(lambda: stored(solr, shop), seconds=10)[0]

    record(
        index,
        store,
        [failed(shop, attempted_at=first_time + timedelta(days=7), error_message="second error")],
    )

    def moved_on() -> list[dict] | None:  # type: ignore[type-arg]
        docs = stored(solr, shop)
        return docs if docs and docs[0]["errorMessage"] == "second error" else None

    docs = wait_for(moved_on, seconds=10)
    assert docs and len(docs) == 1
    after = docs[0]
    assert after["document-id"] == before["document-id"]
    assert (
        after["firstAttemptedImport"]
        == "January 3, 2024 10:15:12 PM"
        == before["firstAttemptedImport"]
    )
    assert after["version"] > before["version"]
    assert after["timestamp"] >= before["timestamp"]
    assert after["expire_at"] >= before["expire_at"]
    assert after["attempts"] == 2


def test_an_older_version_never_replaces_a_newer_one(
    index: LogInsightsIndex, solr: SolrUnderTest, shop: str
) -> None:
    """Two flushers posting the same order out of order: Solr keeps the newer version."""
    newer = document(failed(shop, error_message="newer"), version=2_000)
    older = document(failed(shop, error_message="older"), version=1_000)
    index.post_documents([newer])
    report = index.post_documents([older])
    assert report.refused == [], "an old version is ignored, not an error"
    index.post_documents([newer])  # the same version again: a no-op
    index.soft_commit()
    docs = stored(solr, shop)
    assert [(d["errorMessage"], d["version"]) for d in docs] == [("newer", 2_000)]


def test_secrets_never_reach_solr(
    index: LogInsightsIndex, store: Ledger, solr: SolrUnderTest, shop: str
) -> None:
    record(index, store, [failed(shop)])
    docs = wait_for(lambda: stored(solr, shop), seconds=10)
    assert "topsecret" not in str(docs)
    assert docs[0]["site"].endswith("/authenticate?key=")


def test_a_document_with_a_short_ttl_is_deleted_by_solr_itself(
    index: LogInsightsIndex, solr: SolrUnderTest, shop: str
) -> None:
    index.post_documents([document(failed(shop, ttl="+3SECONDS")), document(failed(shop, "1002"))])
    assert len(wait_for(lambda: stored(solr, shop), seconds=10)) == 2
    margin = solr.auto_delete_period_seconds + 3 + 15
    remaining = wait_for(exactly(solr, shop, 1), seconds=margin)
    assert remaining, f"Solr did not delete the expired document within {margin}s"
    assert remaining[0]["orderId"] == "1002", "only the expired document goes"


def test_a_malformed_ttl_is_refused_and_the_rest_of_its_batch_is_indexed(
    index: LogInsightsIndex, solr: SolrUnderTest, shop: str
) -> None:
    good = [failed(shop, str(n)) for n in (1, 2, 3, 4)]
    # as if a bad document reached the indexer anyway (say from an old outbox row)
    bad = failed(shop, "666").model_copy(update={"ttl": "60DAYS"})
    documents = [document(a) for a in (good[0], good[1], bad, good[2], good[3])]

    report = index.post_documents(documents)

    assert [r.document_id for r in report.refused] == [bad.document_id]
    assert "Can't parse ttl as date math: 60DAYS" in report.refused[0].reason
    assert sorted(report.indexed) == sorted(a.document_id for a in good)
    docs = wait_for(exactly(solr, shop, 4), seconds=10)
    assert docs and sorted(d["orderId"] for d in docs) == ["1", "2", "3", "4"]


def test_unknown_fields_are_refused_not_guessed(
    index: LogInsightsIndex, solr: SolrUnderTest, shop: str
) -> None:
    report = index.post_documents([{**document(failed(shop)), "surpriseField_s": "x"}])
    assert report.indexed == []
    assert "surpriseField_s" in report.refused[0].reason


def test_unicode_and_emoji_are_stored_as_sent(
    index: LogInsightsIndex, solr: SolrUnderTest, shop: str
) -> None:
    index.post_documents(
        [document(failed(shop, order_name="#1001 🎁", error_message="Straße fehlt ✓ 🚚"))]
    )
    docs = wait_for(lambda: stored(solr, shop), seconds=10)
    assert docs[0]["shopifyOrderName"] == "#1001 🎁"
    assert docs[0]["errorMessage"] == "Straße fehlt ✓ 🚚"


def test_solr_down_raises_a_retriable_error_naming_what_to_do(tmp_path, shop: str) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        solr_url=f"http://127.0.0.1:{free_port()}/solr", state_dir=tmp_path, solr_retry_attempts=2
    )
    index = Wiring(settings, {}).index
    with pytest.raises(SolrUnavailableError, match="loginsights solr start"):
        index.post_documents([document(failed(shop))])


def test_batches_larger_than_the_batch_size_are_all_indexed(
    settings: Settings, solr: SolrUnderTest, shop: str
) -> None:
    index = Wiring(settings.model_copy(update={"index_batch_size": 7}), {}).index
    seen: list[int] = []
    report = index.post_documents(
        [document(failed(shop, str(n))) for n in range(30)], on_progress=seen.append
    )
    assert len(report.indexed) == 30 and seen == [7, 7, 7, 7, 2]
    assert wait_for(lambda: len(stored(solr, shop)) == 30, seconds=10)


def test_refailing_hundreds_of_orders_at_once_counts_every_attempt(
    index: LogInsightsIndex, store: Ledger, solr: SolrUnderTest, shop: str
) -> None:
    failures = [failed(shop, str(n)) for n in range(600)]
    record(index, store, failures)
    report = record(index, store, failures)
    assert report.posted == 600
    body = select(
        solr.url,
        q=f"shop:{shop}",
        fl="attempts",
        rows=0,
        facet="true",
        **{"facet.field": "attempts"},
    )
    assert body["facet_counts"]["facet_fields"]["attempts"][:2] == ["2", 600]
