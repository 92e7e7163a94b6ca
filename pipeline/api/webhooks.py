"""``POST /webhooks/{platform}``: where Shopify and Shoplazza deliver order webhooks.

The body is read bounded, then handed whole to the inbox (``pipeline.webhooks``), which checks
the signature before reading anything in it and keeps the notice in the ledger; the platform
gets its 2xx within its few seconds. A delivery that is not believed gets 401 and nothing is
kept; a ledger that cannot be written gets 503, so the platform delivers again.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from pipeline.api.middleware import ClientGone, PayloadTooLarge, read_bounded
from pipeline.api.routes import ApiServices, ErrorBody, Services
from pipeline.api.solr_query import error_response
from pipeline.errors import LedgerError, LedgerUnavailableError, WebhookRefused
from pipeline.scrub import scrub
from pipeline.webhooks import DIALECTS

router = APIRouter()


@router.post(
    "/webhooks/{platform}",
    summary="Receive a platform's order webhook (orders/create)",
    description="Shopify (`/webhooks/shopify`) or Shoplazza (`/webhooks/shoplazza`); signed with "
    "the app's client secret (HMAC-SHA256 of the raw body, base64). Registered with "
    "`loginsights webhooks register`.",
    responses={
        401: {"model": ErrorBody, "description": "Signature or shop not recognised."},
        404: {"model": ErrorBody, "description": "No shop of this platform receives webhooks."},
        503: {"model": ErrorBody, "description": "The ledger cannot keep it now: deliver again."},
    },
    tags=["webhooks"],
)
async def webhook(platform: str, request: Request, services: ApiServices = Services) -> Response:
    inbox, metrics = services.webhooks, services.metrics
    kind = next((p for p in DIALECTS if p.value == platform), None)
    if inbox is None or kind is None:
        return error_response(
            404, f"no shop here receives {platform} webhooks; set webhook_secret_env in the "
            "shops file and serve with it",
        )  # fmt: skip
    try:
        body = await read_bounded(
            request.scope, request.receive, services.webhook_max_bytes,
            services.body_timeout_seconds,
        )  # fmt: skip
        received = await run_in_threadpool(inbox.receive, kind, request.headers, body)
    except ClientGone:
        return Response(status_code=408)
    except PayloadTooLarge:
        metrics.webhooks.labels(platform, "refused").inc()
        return error_response(413, f"a delivery is at most {services.webhook_max_bytes} bytes")
    except WebhookRefused as err:
        metrics.webhooks.labels(platform, "refused").inc()
        return error_response(err.status, scrub(str(err)))
    except (LedgerError, LedgerUnavailableError) as err:
        metrics.webhooks.labels(platform, "unavailable").inc()
        return error_response(503, scrub(str(err)), headers=services.retry_after)
    metrics.webhooks.labels(platform, received.delivery.value).inc()
    if received.late_seconds is not None:
        metrics.webhook_delay.labels(platform).observe(received.late_seconds)
    return JSONResponse(
        {"delivery": received.delivery.value, "shop": received.shop, "orderId": received.order_id}
    )


__all__ = ["router"]
