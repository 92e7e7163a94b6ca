"""The HTTP API (``loginsights serve``): the documented ``/api/solr-query``, health and metrics."""

from pipeline.api.app import create_app, exposure_warning
from pipeline.api.metrics import ApiMetrics
from pipeline.search.guard import GuardedQuery, QueryLimits, guard_request

__all__ = [
    "ApiMetrics",
    "GuardedQuery",
    "QueryLimits",
    "create_app",
    "exposure_warning",
    "guard_request",
]
