"""The HTTP app: ``/api/solr-query`` as seed 000 documents it (served by ``solr_query``, ahead of
the router), ``/healthz``, ``/metrics``, the OpenAPI schema and the console.

One exception handler per library error maps it to an HTTP status for the other routes, so every
error is JSON shaped like Solr's own (``{"error": {"code": 400, "msg": "…"}}``) and callers parse
one shape.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from pipeline.api.metrics import ApiMetrics
from pipeline.api.middleware import MeasuredRequests, SecurityHeaders
from pipeline.api.solr_query import (
    SEED_REQUEST,
    UNAUTHORIZED,
    SolrQueryEndpoint,
    SolrQueryFirst,
    error_response,
)
from pipeline.console import ConsoleDeps, console_router
from pipeline.errors import (
    ConfigurationError,
    LogInsightsError,
    RefusedQueryError,
    SolrAccessError,
    SolrUnavailableError,
)
from pipeline.ledger import Ledger
from pipeline.models import redact_url
from pipeline.query import DOCUMENTED_CORE, AsyncLogInsightsQuery
from pipeline.scrub import remember_secrets, scrub
from pipeline.search.guard import QueryLimits
from pipeline.settings import Settings
from pipeline.solr.accounts import SolrRole
from pipeline.solr.zookeeper import live_nodes
from pipeline.worker import ImportWorker

CONSOLE_STATIC = Path(__file__).resolve().parents[1] / "console" / "static"


class SolrQueryRequest(BaseModel):
    """The documented request body (seed 000)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SEED_REQUEST]})

    json_: dict[str, Any] = Field(
        alias="json",
        description="Solr's JSON Request API value, sent to Solr as its `json` parameter "
        "(compact). Keys: query, filter, offset, limit, fields, sort, facet, params, queries.",
    )
    coreName: str = Field(  # noqa: N815  (the documented name)
        DOCUMENTED_CORE,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$",
        description="The core (collection) to search; only allowed cores are served.",
    )


class ErrorDetail(BaseModel):
    code: int
    msg: str
    key: str | None = Field(None, description="The offending key, when one is to blame.")


class ErrorBody(BaseModel):
    """Errors of this API; Solr's own errors pass through in Solr's shape, which this matches."""

    error: ErrorDetail


class SolrResponse(BaseModel):
    """Solr's search response, exactly as Solr wrote it."""

    model_config = ConfigDict(extra="allow")

    responseHeader: dict[str, Any]  # noqa: N815
    response: dict[str, Any] | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed or refused request, or Solr's own 400."},
    401: {"model": ErrorBody, "description": "Missing or wrong bearer token."},
    413: {"model": ErrorBody, "description": "Request body too large."},
    503: {"model": ErrorBody, "description": "Solr unavailable; retry after Retry-After seconds."},
}
REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": SolrQueryRequest.model_json_schema(by_alias=True)}
        },
    }
}


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
    worker_for: Callable[[str], ImportWorker] | None = None,
) -> FastAPI:
    """The API and the console for one Solr and its allowed cores.

    ``metrics`` may be shared with a worker in the same process; ``ledger`` gives the console
    shop lag, order stories and reconciliation reports, ``worker_for`` its actions.
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
        live=live_nodes(settings.zk_host, cores[0]),
    )
    read_tokens = [token.get_secret_value().encode() for token in settings.api_tokens]
    admin_tokens = [token.get_secret_value().encode() for token in settings.api_admin_tokens]
    tokens = read_tokens + admin_tokens
    remember_secrets(*(t.decode() for t in tokens))
    scrubber = scrub
    retry_after = {"Retry-After": str(settings.api_retry_after_seconds)}
    bearer = HTTPBearer(auto_error=False, description="One of LOGINSIGHTS_API_TOKENS.")

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
        docs_url=None,  # Swagger's page runs inline script from a CDN; the schema is below
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,  # its redirect would take its host from the Host header
    )
    app.state.metrics = metrics
    endpoint = SolrQueryEndpoint(
        query=query, cores=cores, limits=limits, tokens=tokens, metrics=metrics,
        max_body_bytes=settings.api_max_body_bytes,
        body_timeout_seconds=settings.api_body_timeout_seconds,
        retry_after_seconds=settings.api_retry_after_seconds,
    )  # fmt: skip
    app.add_middleware(SolrQueryFirst, endpoint=endpoint)  # innermost of the three
    app.add_middleware(SecurityHeaders)
    app.add_middleware(MeasuredRequests, metrics=metrics, access_log=access_log)
    app.mount("/static", StaticFiles(directory=CONSOLE_STATIC), name="static")
    app.include_router(
        console_router(
            ConsoleDeps(
                query=query,
                core=cores[0],
                read_tokens=read_tokens,
                admin_tokens=admin_tokens,
                limits=limits,
                ledger=ledger,
                worker_for=worker_for,
                time_zone=settings.time_zone,
            )
        )
    )

    def token_matches(credentials: HTTPAuthorizationCredentials | None) -> bool:
        return endpoint.token_matches(credentials.credentials.encode() if credentials else b"")

    async def authenticated(
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
    ) -> None:
        if not token_matches(credentials):
            raise _Unauthorized

    @app.exception_handler(_Unauthorized)
    async def unauthorized(_: Request, __: Exception) -> JSONResponse:
        metrics.refused.labels("unauthenticated").inc()
        return error_response(401, UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(RefusedQueryError)
    async def refused(_: Request, err: Exception) -> JSONResponse:
        assert isinstance(err, RefusedQueryError)
        metrics.refused.labels("guard").inc()
        return error_response(400, scrubber(str(err)), key=scrubber(err.key))

    @app.exception_handler(SolrUnavailableError)
    async def solr_down(_: Request, err: Exception) -> JSONResponse:
        refused = isinstance(err, SolrAccessError)
        metrics.solr_errors.labels("access" if refused else "unavailable").inc()
        return error_response(503, scrubber(str(err)), headers=retry_after)

    @app.exception_handler(LogInsightsError)
    async def other_error(_: Request, err: Exception) -> JSONResponse:
        return error_response(400, scrubber(str(err)))

    async def solr_query(request: Request) -> Response:
        """Reached only past SolrQueryFirst (never for GET or POST): the same answer."""
        return await endpoint.answer(request.scope, request.receive)

    documented: dict[str, Any] = {
        "dependencies": [Depends(authenticated)],
        "responses": {200: {"model": SolrResponse, "description": "Solr's response, untouched."}}
        | ERROR_RESPONSES,
        "openapi_extra": REQUEST_BODY,
        "summary": "Search a log core (documented request of seed 000)",
        "tags": ["logInsights"],
    }
    app.add_api_route(
        "/api/solr-query",
        solr_query,
        methods=["GET"],
        operation_id="solr_query_get",
        description="The documented form: a GET carrying the JSON body.",
        **documented,
    )
    app.add_api_route(
        "/api/solr-query",
        solr_query,
        methods=["POST"],
        operation_id="solr_query_post",
        description="The same request as a POST, for clients that cannot send a GET body.",
        **documented,
    )

    @app.get(
        "/healthz",
        summary="Solr reachable and every allowed core searchable",
        description="Without a token: only ok or not. With a valid bearer token: Solr's URL "
        "(credentials emptied) and each core's document count.",
        responses={503: {"model": ErrorBody, "description": "Solr or a core unavailable."}},
    )
    async def healthz(
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
    ) -> JSONResponse:
        detailed = bool(tokens) and token_matches(credentials)
        found: dict[str, Any] = {}
        problem = None
        for core in cores:
            try:
                answer = await query.run({"params": {"q": "*:*", "rows": 0}}, core)
            except SolrUnavailableError as err:
                problem = str(err)
                break
            if not answer.ok:
                problem = (
                    f"core {core!r} did not answer a search (HTTP {answer.status}); create it "
                    "with `loginsights solr init`"
                )
                break
            found[core] = {"numFound": answer.json()["response"]["numFound"]}
        if problem:
            if detailed:
                return error_response(503, scrubber(problem), headers=retry_after)
            return JSONResponse({"status": "unavailable"}, status_code=503, headers=retry_after)
        if not detailed:
            return JSONResponse({"status": "ok"})
        solr = ",".join(redact_url(url) for url in settings.solr_url.split(","))
        return JSONResponse({"status": "ok", "solr": solr, "cores": found})

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(authenticated)])
    async def openapi() -> JSONResponse:
        if app.openapi_schema is None:
            app.openapi_schema = get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes,
            )  # fmt: skip
        return JSONResponse(app.openapi_schema)

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus() -> Response:
        if ledger is not None:
            metrics.observe_problems(await run_in_threadpool(ledger.shop_problems))
        return Response(metrics.render(), media_type=metrics.content_type)

    return app


class _Unauthorized(Exception):
    pass


__all__ = ["SolrQueryRequest", "create_app", "exposure_warning", "is_loopback"]
