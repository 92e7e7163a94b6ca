"""Writing log documents into the ``logInsights`` collection.

Documents arrive rendered (``pipeline.documents``, from the ledger's facts) and usually serialized
(the outbox keeps them as JSON text); this module only posts them. Solr stamps ``timestamp`` and
computes ``expire_at`` itself, and keeps a document's ``version`` from going backwards (see the
configset's update chain). Solr is never read back to learn what the ledger knows.

A document Solr refuses is reported by id in an ``IndexReport`` and the rest of its batch is
indexed; when Solr is down the error is raised after retries, so the caller keeps the documents
(the outbox) and replays them later. Nothing is dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import requests

from pipeline.errors import SolrRequestError
from pipeline.models import DocType
from pipeline.solr.accounts import SolrAccount
from pipeline.solr.transport import (
    LiveNodeSource,
    SolrNodes,
    error_for_exception,
    error_for_response,
    get_json,
    with_retries,
)


@dataclass(frozen=True)
class RefusedDocument:
    document_id: str
    reason: str


@dataclass
class IndexReport:
    """What happened to each document of one indexing call."""

    indexed: list[str] = field(default_factory=list)
    refused: list[RefusedDocument] = field(default_factory=list)

    def merge(self, other: IndexReport) -> None:
        self.indexed.extend(other.indexed)
        self.refused.extend(other.refused)


class LogInsightsIndex:
    """The ``logInsights`` collection, seen as a place to record failed import attempts."""

    def __init__(
        self,
        solr_url: str,
        collection: str = "logInsights",
        *,
        ttl_for: Callable[[Any], str] = lambda doc_type: "+60DAYS",
        time_zone: str = "America/New_York",
        batch_size: int = 500,
        timeout: float = 10.0,
        retry_attempts: int = 5,
        session: requests.Session | None = None,
        account: SolrAccount | None = None,
        live: LiveNodeSource | None = None,
    ) -> None:
        self.nodes = SolrNodes(solr_url, live)
        self.collection = collection
        self._ttl_for = ttl_for
        self._zone = ZoneInfo(time_zone)
        self._batch_size = batch_size
        self._timeout = timeout
        self._retry_attempts = retry_attempts
        self._session = session or requests.Session()
        if account is not None:
            self._session.auth = account.auth

    def post_documents(
        self,
        documents: Sequence[dict[str, Any]],
        *,
        on_progress: Callable[[int], None] | None = None,
    ) -> IndexReport:
        """Post prepared documents in batches; refused ones are reported, not lost."""
        serialized = [
            (_id(doc), json.dumps(doc, ensure_ascii=False, separators=(",", ":")))
            for doc in documents
        ]
        return self.post_serialized(serialized, on_progress=on_progress)

    def post_serialized(
        self,
        documents: Sequence[tuple[str, str]],
        *,
        on_progress: Callable[[int], None] | None = None,
    ) -> IndexReport:
        """Post (id, JSON text) documents as they are: the outbox keeps them serialized, so
        nothing is decoded and encoded again on the way to Solr."""
        report = IndexReport()
        for start in range(0, len(documents), self._batch_size):
            batch = list(documents[start : start + self._batch_size])
            report.merge(self._post_batch(batch))
            if on_progress:
                on_progress(len(batch))
        return report

    @property
    def collection_url(self) -> str:
        return f"{self.nodes.first}/{self.collection}"

    def soft_commit(self) -> None:
        """Make everything posted so far searchable now instead of within the soft-commit second."""

        def commit(base: str) -> dict[str, Any]:
            return get_json(
                self._session,
                f"{base}/{self.collection}/update",
                params={"softCommit": "true", "wt": "json"},
                timeout=self._timeout,
                what="refresh the index",
            )

        with_retries(lambda: self.nodes.call(commit), attempts=self._retry_attempts)

    def forget_shop_failures(self, shop: str) -> None:
        """Delete every failure document of one shop, committed: before its failures are posted
        again from a ledger that was reset (the demo, a new ledger). Reconciliation reports stay
        (each day's report replaces itself)."""
        types = " OR ".join(t.value for t in DocType if t is not DocType.RECONCILIATION)
        query = f"shop:{json.dumps(shop)} AND docType:({types})"
        command = json.dumps({"delete": {"query": query}})
        with_retries(
            lambda: self.nodes.call(
                lambda base: self._update(base, command, "delete a shop's documents", commit=True)
            ),
            attempts=self._retry_attempts,
        )

    def _post_batch(self, batch: list[tuple[str, str]]) -> IndexReport:
        try:
            answer = with_retries(
                lambda: self.nodes.call(lambda base: self._add(base, batch)),
                attempts=self._retry_attempts,
            )
        except SolrRequestError as err:
            if len(batch) == 1:
                return IndexReport(refused=[RefusedDocument(batch[0][0], str(err))])
            report = IndexReport()
            for document in batch:
                report.merge(self._post_batch([document]))
            return report
        refused = {
            str(error.get("id")): str(error.get("message", "refused by Solr"))
            for error in answer.get("responseHeader", {}).get("errors", [])
        }
        return IndexReport(
            indexed=[doc_id for doc_id, _ in batch if doc_id not in refused],
            refused=[RefusedDocument(doc_id, reason) for doc_id, reason in refused.items()],
        )

    def _add(self, base: str, batch: list[tuple[str, str]]) -> dict[str, Any]:
        body = "[" + ",".join(text for _, text in batch) + "]"
        return self._update(base, body, "index log documents")

    def _update(self, base: str, body: str, what: str, *, commit: bool = False) -> dict[str, Any]:
        """One JSON command to the collection's /update, errors mapped to the tree."""
        url = f"{base}/{self.collection}/update"
        params = {"wt": "json", **({"commit": "true"} if commit else {})}
        try:
            response = self._session.post(
                url,
                data=body.encode("utf-8"),
                params=params,
                headers={"Content-Type": "application/json"},
                timeout=self._timeout,
            )
        except requests.RequestException as err:
            raise error_for_exception(err, url, what) from err
        if not response.ok:
            raise error_for_response(response, what)
        result: dict[str, Any] = response.json()
        return result


def _id(document: dict[str, Any]) -> str:
    return str(document.get("document-id"))


__all__ = ["IndexReport", "LogInsightsIndex", "RefusedDocument"]
