"""The one error tree of loginsights.

    LogInsightsError                 root: catch this at the edges (CLI, API) and nowhere wider
    ├── ConfigurationError           settings or input that cannot work; fix it and run again
    ├── RefusedQueryError            a search request asks for more than searching a log core
    │                                (another handler or core, streaming, debug, too many rows)
    ├── InvalidDocumentError         one log document that Solr cannot accept (e.g. a bad ttl);
    │                                the rest of its batch is still indexed
    ├── SolrError                    Solr answered with an error, or did not answer
    │   ├── SolrUnavailableError     retriable: connection refused, timeout, 5xx; keep and replay
    │   └── SolrRequestError         fatal for this request: Solr's 4xx, with Solr's message
    ├── LocalSolrError               the Maven-built local Solr failed to build, start or stop
    ├── SourceError                  a shop's API did not give what was asked
    │   ├── SourceUnavailableError   retriable: 5xx, 429, timeouts, still failing after retries;
    │   │                            the window stays open and is tried again on the next pass
    │   └── SourceRequestError       fatal: 4xx such as bad credentials or parameters
    ├── LedgerError                  the local order store (SQLite) cannot be read or written
    └── WorkerStopped                a stop was asked for (SIGTERM) in the middle of a window

Errors carry data (status, the Solr URL, the offending document id) so callers decide what to do
without parsing messages, and every message ends with what the user can do next.
Library code raises; it never logs and raises the same error.
"""

from __future__ import annotations

from typing import Any


class LogInsightsError(Exception):
    """Root of every error loginsights raises on purpose."""


class ConfigurationError(LogInsightsError):
    """A setting or an argument cannot work as given."""


class RefusedQueryError(LogInsightsError):
    """A request to ``/api/solr-query`` that would act beyond searching an allowed core."""

    def __init__(self, message: str, *, key: str) -> None:
        super().__init__(message)
        self.key = key


class InvalidDocumentError(LogInsightsError):
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


class SolrUnavailableError(SolrError):
    """Solr could not be reached or failed on its side (5xx); the same request may work later."""


class SolrRequestError(SolrError):
    """Solr refused the request itself (4xx); sending it again unchanged will fail again."""


class LocalSolrError(LogInsightsError):
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


class SourceUnavailableError(SourceError):
    """The platform kept failing (5xx, 429, network) after every retry; try the window later."""


class SourceRequestError(SourceError):
    """The platform refused the request itself (4xx); retrying unchanged will not help."""


class LedgerError(LogInsightsError):
    """The ledger (order store) could not be opened, read or written."""


class WorkerStopped(LogInsightsError):
    """A stop was requested; the current window was left unfinished and will be redone."""


__all__ = [
    "ConfigurationError",
    "InvalidDocumentError",
    "LedgerError",
    "LocalSolrError",
    "LogInsightsError",
    "RefusedQueryError",
    "SolrError",
    "SolrRequestError",
    "SolrUnavailableError",
    "SourceError",
    "SourceRequestError",
    "SourceUnavailableError",
    "WorkerStopped",
]
