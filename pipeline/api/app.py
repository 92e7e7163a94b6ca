"""The HTTP app: ``/api/solr-query`` as seed 000 documents it (served by ``solr_query``, ahead of
the router), ``/healthz``, ``/metrics``, the OpenAPI schema (``routes``) and the console.

``create_app`` is the web layer's composition root: it builds the services once, puts them on
``app.state`` and includes the routers, whose routes receive them through ``Depends``. One
exception handler per library error maps it to an HTTP status, so every error is JSON shaped
like Solr's own (``{"error": {"code": 400, "msg": "…"}}``) and callers parse one shape.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from pipeline.api.metrics import ApiMetrics
from pipeline.api.middleware import MeasuredRequests, SecurityHeaders
from pipeline.api.routes import ERROR_HANDLERS, ApiServices, SolrQueryRequest
from pipeline.api.routes import router as api_router
from pipeline.api.solr_query import SolrQueryEndpoint, SolrQueryFirst
from pipeline.api.webhooks import router as webhook_router
from pipeline.async_query import AsyncLogInsightsQuery
from pipeline.console import Console, ConsoleDeps
from pipeline.console import router as console_router
from pipeline.errors import ConfigurationError
from pipeline.intake import ShopContext
from pipeline.ledger import Ledger
from pipeline.scrub import remember_secrets
from pipeline.search.guard import QueryLimits
from pipeline.settings import Settings
from pipeline.solr.accounts import SolrRole
from pipeline.solr.zookeeper import live_nodes
from pipeline.webhooks import WebhookInbox

CONSOLE_STATIC = Path(__file__).resolve().parents[1] / "console" / "static"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(settings: Settings, host: str) -> str | None:
    """Refuse to serve an open API beyond this machine; warn when serving one on loopback."""
    if settings.api_tokens:
        return None
    if not is_loopback(host):
        raise ConfigurationError(
            f"refusing to serve on {host} without a token: anyone who reaches it could read the "
            "failure log; set LOGINSIGHTS_API_TOKENS (comma-separated) or serve on 127.0.0.1"
        )
    return (
        "WARNING: no API token is configured: /api/solr-query answers anyone on this machine "
        "without authentication. Set LOGINSIGHTS_API_TOKENS before exposing it."
    )


def create_app(
    settings: Settings,
    *,
    metrics: ApiMetrics | None = None,
    access_log: bool = False,
    ledger: Ledger | None = None,
    shop_context: Callable[[str], ShopContext] | None = None,
    webhooks: WebhookInbox | None = None,
) -> FastAPI:
    """The API and the console for one Solr and its allowed cores.

    ``metrics`` may be shared with a worker in the same process; ``ledger`` gives the console
    shop lag, order stories and reconciliation reports, ``shop_context`` its actions;
    ``webhooks`` keeps the platforms' order webhooks (``POST /webhooks/{platform}``).
    """
    metrics = metrics or ApiMetrics()
    cores = tuple(settings.api_allowed_cores)
    limits = QueryLimits(
        max_rows=settings.api_max_rows, max_facet_limit=settings.api_max_facet_limit
    )
    query = AsyncLogInsightsQuery(  # one pool for every concurrent caller, on the event loop
        settings.solr_url,
        allowed_cores=cores,
        timeout=settings.solr_timeout_seconds,
        max_answer_bytes=settings.api_max_response_bytes,
        account=settings.solr_account(SolrRole.READER),
        live=live_nodes(settings.zk_host, cores[0], settings.zk_credentials()),
        cancellations=metrics.solr_cancellations,
    )
    read_tokens = [token.get_secret_value().encode() for token in settings.api_tokens]
    admin_tokens = [token.get_secret_value().encode() for token in settings.api_admin_tokens]
    remember_secrets(*(t.decode() for t in read_tokens + admin_tokens))
    endpoint = SolrQueryEndpoint(
        query=query, cores=cores, limits=limits, tokens=read_tokens + admin_tokens,
        metrics=metrics, max_body_bytes=settings.api_max_body_bytes,
        body_timeout_seconds=settings.api_body_timeout_seconds,
        retry_after_seconds=settings.api_retry_after_seconds,
    )  # fmt: skip

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await query.open()
        yield
        await query.close()

    app = FastAPI(
        title="loginsights",
        version="0.1.0",
        description="Search the logInsights core of failed order imports (seed 000).",
        lifespan=lifespan,
        docs_url=None,  # Swagger's page runs inline script from a CDN; the schema is served
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,  # its redirect would take its host from the Host header
    )
    app.state.metrics = metrics
    app.state.services = ApiServices(
        query=query, endpoint=endpoint, metrics=metrics, cores=cores,
        solr_url=settings.solr_url, retry_after_seconds=settings.api_retry_after_seconds,
        ledger=ledger, webhooks=webhooks,
        webhook_max_bytes=settings.webhook_max_body_bytes,
        body_timeout_seconds=settings.api_body_timeout_seconds,
    )  # fmt: skip
    app.state.console = Console(
        ConsoleDeps(
            query=query, core=cores[0], read_tokens=read_tokens, admin_tokens=admin_tokens,
            limits=limits, ledger=ledger, shop_context=shop_context,
            time_zone=settings.time_zone,
        )
    )  # fmt: skip
    app.add_middleware(SolrQueryFirst, endpoint=endpoint)  # innermost of the three
    app.add_middleware(SecurityHeaders)
    app.add_middleware(MeasuredRequests, metrics=metrics, access_log=access_log)
    app.mount("/static", StaticFiles(directory=CONSOLE_STATIC), name="static")
    app.include_router(console_router)
    app.include_router(api_router)
    app.include_router(webhook_router)
    for error, handler in ERROR_HANDLERS.items():
        app.add_exception_handler(error, handler)
    return app


__all__ = ["SolrQueryRequest", "create_app", "exposure_warning", "is_loopback"]
