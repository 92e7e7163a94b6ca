"""The API's routes other than the plain-ASGI fast path: the documented ``/api/solr-query``
entries of the schema, ``/healthz``, ``/metrics`` and ``/openapi.json``, and the handlers that
turn library errors into Solr-shaped JSON.

Each is a small function over the app's ``ApiServices`` (``Depends(services_of)``), which
``create_app`` builds once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from pipeline.api.metrics import ApiMetrics
from pipeline.api.solr_query import (
    SEED_REQUEST,
    UNAUTHORIZED,
    SolrQueryEndpoint,
    access_refused,
    error_response,
)
from pipeline.async_query import AsyncLogInsightsQuery
from pipeline.errors import (
    LogInsightsError,
    RefusedQueryError,
    SolrAccessError,
    SolrUnavailableError,
)
from pipeline.ledger import Ledger
from pipeline.models import redact_url
from pipeline.query import DOCUMENTED_CORE
from pipeline.scrub import scrub
from pipeline.shop_lag import fleet_health
from pipeline.webhooks import WebhookInbox


@dataclass(frozen=True)
class ApiServices:
    """What the routes need, built once per app by ``create_app``."""

    query: AsyncLogInsightsQuery
    endpoint: SolrQueryEndpoint
    metrics: ApiMetrics
    cores: tuple[str, ...]
    solr_url: str
    retry_after_seconds: int
    ledger: Ledger | None = None
    webhooks: WebhookInbox | None = None
    webhook_max_bytes: int = 2_000_000
    body_timeout_seconds: float = 10.0

    @property
    def retry_after(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


def services_of(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


bearer = HTTPBearer(auto_error=False, description="One of LOGINSIGHTS_API_TOKENS.")
Bearer = Depends(bearer)
Services = Depends(services_of)


class Unauthorized(Exception):
    """No valid bearer token; answered 401 by ``unauthorized``."""


def token_matches(services: ApiServices, credentials: HTTPAuthorizationCredentials | None) -> bool:
    return services.endpoint.token_matches(credentials.credentials.encode() if credentials else b"")


async def authenticated(
    credentials: HTTPAuthorizationCredentials | None = Bearer,
    services: ApiServices = Services,
) -> None:
    if not token_matches(services, credentials):
        raise Unauthorized


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


router = APIRouter()

DOCUMENTED: dict[str, Any] = {
    "dependencies": [Depends(authenticated)],
    "responses": {200: {"model": SolrResponse, "description": "Solr's response, untouched."}}
    | ERROR_RESPONSES,
    "openapi_extra": REQUEST_BODY,
    "summary": "Search a log core (documented request of seed 000)",
    "tags": ["logInsights"],
}


@router.get(
    "/api/solr-query",
    operation_id="solr_query_get",
    description="The documented form: a GET carrying the JSON body.",
    **DOCUMENTED,
)
@router.post(
    "/api/solr-query",
    operation_id="solr_query_post",
    description="The same request as a POST, for clients that cannot send a GET body.",
    **DOCUMENTED,
)
async def solr_query(request: Request, services: ApiServices = Services) -> Response:
    """Reached only past SolrQueryFirst (never for GET or POST): the same answer."""
    return await services.endpoint.answer(request.scope, request.receive)


@router.get(
    "/healthz",
    summary="Solr reachable and every allowed core searchable",
    description="Without a token: only ok or not. With a valid bearer token: Solr's URL "
    "(credentials emptied) and each core's document count.",
    responses={503: {"model": ErrorBody, "description": "Solr or a core unavailable."}},
)
async def healthz(
    credentials: HTTPAuthorizationCredentials | None = Bearer,
    services: ApiServices = Services,
) -> JSONResponse:
    detailed = bool(services.endpoint.tokens) and token_matches(services, credentials)
    found, problem = await _searchable(services)
    if problem:
        if detailed:
            return error_response(503, scrub(problem), headers=services.retry_after)
        return JSONResponse(
            {"status": "unavailable"}, status_code=503, headers=services.retry_after
        )
    if not detailed:
        return JSONResponse({"status": "ok"})
    solr = ",".join(redact_url(url) for url in services.solr_url.split(","))
    return JSONResponse({"status": "ok", "solr": solr, "cores": found})


async def _searchable(services: ApiServices) -> tuple[dict[str, Any], str | None]:
    """Each allowed core's document count, or what stopped one from answering."""
    found: dict[str, Any] = {}
    for core in services.cores:
        try:
            answer = await services.query.run({"params": {"q": "*:*", "rows": 0}}, core)
        except SolrUnavailableError as err:
            return found, str(err)
        if not answer.ok:
            return found, (
                f"core {core!r} did not answer a search (HTTP {answer.status}); create it "
                "with `loginsights solr init`"
            )
        found[core] = {"numFound": answer.json()["response"]["numFound"]}
    return found, None


@router.get("/openapi.json", include_in_schema=False, dependencies=[Depends(authenticated)])
async def openapi(request: Request) -> JSONResponse:
    app: FastAPI = request.app
    if app.openapi_schema is None:
        app.openapi_schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
    return JSONResponse(app.openapi_schema)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def prometheus(services: ApiServices = Services) -> Response:
    metrics = services.metrics
    if services.ledger is not None:
        ledger = services.ledger
        metrics.observe_problems(await run_in_threadpool(ledger.shop_problems))
        health = await run_in_threadpool(lambda: fleet_health(ledger, now=datetime.now(UTC)))
        metrics.observe_fleet(health)
    return Response(metrics.render(), media_type=metrics.content_type)


# -- library errors as Solr-shaped JSON ----------------------------------------------------------


async def unauthorized(request: Request, _: Exception) -> JSONResponse:
    services_of(request).metrics.refused.labels("unauthenticated").inc()
    return error_response(401, UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})


async def refused(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, RefusedQueryError)
    services_of(request).metrics.refused.labels("guard").inc()
    return error_response(400, scrub(str(err)), key=scrub(err.key))


async def solr_down(request: Request, err: Exception) -> JSONResponse:
    services = services_of(request)
    if isinstance(err, SolrAccessError):
        services.metrics.solr_errors.labels("access").inc()
        return access_refused(err, services.retry_after)
    services.metrics.solr_errors.labels("unavailable").inc()
    return error_response(503, scrub(str(err)), headers=services.retry_after)


async def other_error(_: Request, err: Exception) -> JSONResponse:
    return error_response(400, scrub(str(err)))


ERROR_HANDLERS = {
    Unauthorized: unauthorized,
    RefusedQueryError: refused,
    SolrUnavailableError: solr_down,
    LogInsightsError: other_error,
}


__all__ = [
    "ERROR_HANDLERS",
    "ApiServices",
    "ErrorBody",
    "Services",
    "SolrQueryRequest",
    "router",
    "services_of",
]
