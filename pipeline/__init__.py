"""loginsights: import shop orders, and make every failed import findable in Solr.

The public API, by concept: models (what a failed attempt is), indexing (writing it to Solr),
query (the documented request), settings, errors. See DESIGN.md for the data flow.
"""

from pipeline.errors import (
    ConfigurationError,
    InvalidDocumentError,
    LocalSolrError,
    LogInsightsError,
    SolrAccessError,
    SolrError,
    SolrRequestError,
    SolrUnavailableError,
)
from pipeline.indexing import IndexReport, LogInsightsIndex, RefusedDocument
from pipeline.models import LOG_DOCUMENT_FIELDS, DocType, ErrorCode, FailedAttempt, Platform
from pipeline.query import LogInsightsQuery, SolrAnswer, documented_request
from pipeline.reports import Outcome, ReconciliationReport, WindowReport
from pipeline.settings import Settings

__all__ = [
    "LOG_DOCUMENT_FIELDS",
    "ConfigurationError",
    "DocType",
    "ErrorCode",
    "FailedAttempt",
    "IndexReport",
    "InvalidDocumentError",
    "LocalSolrError",
    "LogInsightsError",
    "LogInsightsIndex",
    "LogInsightsQuery",
    "Outcome",
    "Platform",
    "ReconciliationReport",
    "RefusedDocument",
    "Settings",
    "SolrAccessError",
    "SolrAnswer",
    "SolrError",
    "SolrRequestError",
    "SolrUnavailableError",
    "WindowReport",
    "documented_request",
]
