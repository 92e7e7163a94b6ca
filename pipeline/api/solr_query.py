"""``/api/solr-query`` itself: authenticate, read a bounded body, let the guard decide, hand the
request to the query module, return Solr's answer untouched.

It is served as plain ASGI in front of FastAPI's router: routing every request through the
console's routes, dependency injection and request objects cost about 2 ms a request on this
machine, twice the API's whole budget over Solr direct (BENCHMARKS.md). FastAPI still holds the
path's routes for the OpenAPI schema and other methods (405); they call the same ``answer``.
Every error is JSON shaped like Solr's own (``{"error": {"code": 400, "msg": "…"}}``).
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline.api.metrics import ApiMetrics
from pipeline.api.middleware import ClientGone, PayloadTooLarge, read_bounded
from pipeline.async_query import AsyncLogInsightsQuery
from pipeline.errors import (
    LogInsightsError,
    RefusedQueryError,
    SolrAccessError,
    SolrUnavailableError,
)
from pipeline.query import DOCUMENTED_CORE, SolrAnswer
from pipeline.scrub import scrub
from pipeline.search.guard import QueryLimits, guard_request

PATH = "/api/solr-query"
SEED_REQUEST: dict[str, Any] = {
    "json": {"params": {"q": "docType:SHOPIFY_ORDER"}},
    "coreName": DOCUMENTED_CORE,
}
UNAUTHORIZED = (
    "a bearer token is required: send 'Authorization: Bearer <token>' with one of the "
    "configured LOGINSIGHTS_API_TOKENS"
)


def error_response(
    status: int, message: str, *, key: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    detail: dict[str, Any] = {"code": status, "msg": message}
    if key is not None:
        detail["key"] = key
    return JSONResponse({"error": detail}, status_code=status, headers=headers)


def bearer_token(scope: Scope) -> bytes:
    """The token of an ``Authorization: Bearer …`` header, or b"" (as FastAPI's HTTPBearer)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            return token if scheme.lower() == b"bearer" else b""
    return b""


@dataclass(frozen=True)
class _Route:
    """What MeasuredRequests reads to label a request, as a Starlette route would."""

    path: str = PATH


_ROUTE = _Route()
SERVED = ("GET", "POST")


class SolrQueryEndpoint:
    """What one request to the path gets, whichever way it came in."""

    def __init__(
        self,
        *,
        query: AsyncLogInsightsQuery,
        cores: tuple[str, ...],
        limits: QueryLimits,
        tokens: list[bytes],
        metrics: ApiMetrics,
        max_body_bytes: int,
        body_timeout_seconds: float,
        retry_after_seconds: int,
    ) -> None:
        self.query, self.cores, self.limits = query, cores, limits
        self.tokens, self.metrics = tokens, metrics
        self.max_body_bytes, self.body_timeout_seconds = max_body_bytes, body_timeout_seconds
        self.retry_after = {"Retry-After": str(retry_after_seconds)}

    def token_matches(self, given: bytes) -> bool:
        """Constant time over every configured token; any token when none is configured."""
        if not self.tokens:
            return True
        matched = False
        for token in self.tokens:
            matched |= hmac.compare_digest(given, token)
        return matched

    async def answer(self, scope: Scope, receive: Receive) -> Response:
        if not self.token_matches(bearer_token(scope)):
            self.metrics.refused.labels("unauthenticated").inc()
            return error_response(401, UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
        try:
            raw = await read_bounded(scope, receive, self.max_body_bytes, self.body_timeout_seconds)
            return await self._search(raw)
        except ClientGone:
            self.metrics.refused.labels("client_gone").inc()
            return Response(status_code=408)  # nobody may be left to read it
        except PayloadTooLarge:
            self.metrics.refused.labels("too_large").inc()
            return error_response(
                413, f"the request body is over {self.max_body_bytes} bytes; send a smaller query"
            )
        except RefusedQueryError as err:
            self.metrics.refused.labels("guard").inc()
            return error_response(400, scrub(str(err)), key=scrub(err.key))
        except SolrAccessError as err:
            self.metrics.solr_errors.labels("access").inc()
            return access_refused(err, self.retry_after)
        except SolrUnavailableError as err:
            self.metrics.solr_errors.labels("unavailable").inc()
            return error_response(503, scrub(str(err)), headers=self.retry_after)
        except LogInsightsError as err:
            return error_response(400, scrub(str(err)))

    async def _search(self, raw: bytes) -> Response:
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as err:
            self.metrics.refused.labels("malformed_json").inc()
            reason = "nested too deeply" if isinstance(err, RecursionError) else str(err)
            return error_response(
                400,
                f"the request body is not valid JSON ({reason}); send e.g. "
                f"{json.dumps(SEED_REQUEST)}",
                key="(body)",
            )
        guarded = guard_request(body, allowed_cores=self.cores, limits=self.limits)
        answer = await self.query.run(guarded.json, guarded.core, cancellable=guarded.cancellable)
        if answer.is_query_failure:
            return self._query_failed(answer)
        if not answer.ok:
            self.metrics.solr_errors.labels("refused").inc()
        return Response(
            content=answer.body, status_code=answer.status, media_type=answer.content_type
        )

    def _query_failed(self, answer: SolrAnswer) -> JSONResponse:
        """Solr's 500 for a query it could not run is the caller's 400, not an outage."""
        self.metrics.solr_errors.labels("query_failed").inc()
        return error_response(
            400,
            scrub(
                f"Solr could not run this query ({answer.reason()}); simplify it: fewer "
                "nested clauses, fewer terms, a narrower range"
            ),
            key="json",
        )


class SolrQueryFirst:
    """ASGI middleware: GET and POST of the path are answered by the endpoint, the rest pass."""

    def __init__(self, app: ASGIApp, endpoint: SolrQueryEndpoint) -> None:
        self.app, self.endpoint = app, endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH and scope["method"] in SERVED:
            scope["route"] = _ROUTE
            response = await self.endpoint.answer(scope, receive)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def access_refused(err: SolrAccessError, retry_after: dict[str, str]) -> JSONResponse:
    """Solr's 403 is its permissions refusing what was asked (defence in depth behind the
    guard): a refusal, never an outage to retry. Its 401 is loginsights' own credentials
    failing (a restarting node, a rotated password): unavailable, try again."""
    if err.status == 403:
        return error_response(
            403,
            "Solr's own permissions refused this request for the reader (it may only /search "
            "the allowed cores); nothing to retry: ask for less",
        )
    return error_response(503, scrub(str(err)), headers=retry_after)


__all__ = [
    "PATH",
    "SEED_REQUEST",
    "UNAUTHORIZED",
    "SolrQueryEndpoint",
    "SolrQueryFirst",
    "access_refused",
    "bearer_token",
    "error_response",
]
