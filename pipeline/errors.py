"""The one error tree of loginsights.

    LogInsightsError                 root: catch this at the edges (CLI, API) and nowhere wider
    ├── ConfigurationError           settings or input that cannot work; fix it and run again
    ├── InvalidDocumentError         one log document that Solr cannot accept (e.g. a bad ttl);
    │                                the rest of its batch is still indexed
    ├── SolrError                    Solr answered with an error, or did not answer
    │   ├── SolrUnavailableError     retriable: connection refused, timeout, 5xx; keep and replay
    │   └── SolrRequestError         fatal for this request: Solr's 4xx, with Solr's message
    └── LocalSolrError               the Maven-built local Solr failed to build, start or stop

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


__all__ = [
    "ConfigurationError",
    "InvalidDocumentError",
    "LocalSolrError",
    "LogInsightsError",
    "SolrError",
    "SolrRequestError",
    "SolrUnavailableError",
]
