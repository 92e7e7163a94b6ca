"""The one error tree of loginsights, grouped by what the caller does (after singer_sdk).

    LogInsightsError                 root: catch this at the edges (CLI, API) and nowhere wider
    ├── RetryLaterError              transient: the same work will likely succeed later
    │   ├── SolrUnavailableError     connection refused, timeout, 5xx, a restarting collection
    │   │   └── SolrAccessError      Solr refused loginsights' credentials (401/403): kept and
    │   │                            replayed once a person fixes them, never retried at once
    │   ├── SourceUnavailableError   a shop's 5xx, 429, timeouts, still failing after retries
    │   └── LedgerUnavailableError   the ledger's database connection dropped (a restart, the
    │                                network): that write did not happen; the pass is redone
    ├── SkipError                    this item (an order, a document, a shop's pass, a request)
    │   │                            cannot be done as asked; go on with the others
    │   ├── SolrRequestError         Solr's 4xx for one request, with Solr's message
    │   ├── SourceRequestError       a shop's 4xx: bad credentials, bad parameters
    │   ├── InvalidDocumentError     one log document Solr cannot accept (e.g. a bad ttl)
    │   ├── RefusedQueryError        a search asks for more than searching a log core
    │   ├── WebhookRefused           a delivery not believed (signature, shop) or unreadable
    │   └── LeaseLostError           another worker took this shop over; leave it to them
    └── StopError                    nothing more can be done until a person acts
        ├── ConfigurationError       settings or input that cannot work; fix it and run again
        ├── LedgerError              the order store cannot be read or written (disk, damage)
        ├── LocalSolrError           the Maven-built local Solr failed to build, start or stop
        └── WorkerStopped            a stop was asked for (SIGTERM) in the middle of a window

``SolrError`` and ``SourceError`` stay as the roots of their services' errors, so a caller can
also catch "anything Solr said". ``loginsights run`` skips a shop for this pass on
``RetryLaterError`` and ``SkipError`` and stops cleanly on ``StopError``.

Errors carry data (status, the Solr URL, the offending document id) so callers decide what to do
without parsing messages, and every message ends with what the user can do next.
Library code raises; it never logs and raises the same error.
"""

from __future__ import annotations

from typing import Any


class LogInsightsError(Exception):
    """Root of every error loginsights raises on purpose."""


class RetryLaterError(LogInsightsError):
    """Transient: the same work will likely succeed on a later try or pass."""


class SkipError(LogInsightsError):
    """This item cannot be done as asked; the others can go on."""


class StopError(LogInsightsError):
    """Nothing more can be done until a person acts on the message."""


class ConfigurationError(StopError):
    """A setting or an argument cannot work as given."""


class RefusedQueryError(SkipError):
    """A request to ``/api/solr-query`` that would act beyond searching an allowed core."""

    def __init__(self, message: str, *, key: str) -> None:
        super().__init__(message)
        self.key = key


class InvalidDocumentError(SkipError):
    """A single log document was refused; it is reported, never silently dropped."""

    def __init__(self, message: str, *, document_id: str | None = None) -> None:
        super().__init__(message)
        self.document_id = document_id


class SolrError(LogInsightsError):
    """Solr did not do what was asked."""

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.body = body


class SolrUnavailableError(SolrError, RetryLaterError):
    """Solr could not be reached or failed on its side (5xx); the same request may work later."""


class SolrAccessError(SolrUnavailableError):
    """Solr asked for credentials loginsights lacks, or its user may not do this (401/403).

    A retry-later error, not a refused document: the outbox keeps what waits and the API says
    503, because the documents and the requests are fine and only the setup is wrong.
    """


class SolrRequestError(SolrError, SkipError):
    """Solr refused the request itself (4xx); sending it again unchanged will fail again."""


class LocalSolrError(StopError):
    """The local Solr built from Maven Central could not be built, started or stopped."""


class SourceError(LogInsightsError):
    """A shop platform's API failed us."""

    def __init__(
        self, message: str, *, shop: str, status: int | None = None, url: str | None = None
    ) -> None:
        super().__init__(message)
        self.shop = shop
        self.status = status
        self.url = url


class SourceUnavailableError(SourceError, RetryLaterError):
    """The platform kept failing (5xx, 429, network) after every retry; try the window later."""


class SourceRequestError(SourceError, SkipError):
    """The platform refused the request itself (4xx); retrying unchanged will not help."""


class LeaseLostError(SkipError):
    """This worker's lease on a shop expired and another worker holds it now."""

    def __init__(self, message: str, *, shop: str) -> None:
        super().__init__(message)
        self.shop = shop


class WebhookRefused(SkipError):
    """A webhook delivery that is not believed (unknown shop, wrong signature) or cannot be read;
    ``status`` is the HTTP answer. Nothing is kept: the platform's retries and the windows still
    bring the order."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class LedgerError(StopError):
    """The ledger (order store) could not be opened, read or written."""


class LedgerUnavailableError(RetryLaterError):
    """The ledger's database dropped the connection mid-write; nothing of that write was kept
    and the next try gets a fresh connection."""


class WorkerStopped(StopError):
    """A stop was requested; the current window was left unfinished and will be redone."""


__all__ = [
    "ConfigurationError",
    "InvalidDocumentError",
    "LeaseLostError",
    "LedgerError",
    "LedgerUnavailableError",
    "LocalSolrError",
    "LogInsightsError",
    "RefusedQueryError",
    "RetryLaterError",
    "SkipError",
    "SolrAccessError",
    "SolrError",
    "SolrRequestError",
    "SolrUnavailableError",
    "SourceError",
    "SourceRequestError",
    "SourceUnavailableError",
    "StopError",
    "WebhookRefused",
    "WorkerStopped",
]
