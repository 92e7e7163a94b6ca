"""What every request of ``serve`` passes on its way in and out, before and after a route.

A body is read bounded in size and time (``read_bounded``); every answer carries the security
headers (``SecurityHeaders``); every request is counted, timed and logged on one line without
its query string (``MeasuredRequests``). Pure ASGI: no extra task per request.
"""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.api.metrics import ApiMetrics
from pipeline.scrub import printable

ACCESS_LOG = logging.getLogger("loginsights.access")


class PayloadTooLarge(Exception):
    pass


class ClientGone(Exception):
    """The caller hung up (or stalled) before its body arrived: nobody is left to answer."""


async def read_bounded(scope: Scope, receive: Receive, limit: int, timeout: float) -> bytes:
    """The body, at most ``limit`` bytes, within ``timeout`` seconds (one deadline for the whole
    body: no task per chunk)."""
    declared = next((value for name, value in scope["headers"] if name == b"content-length"), b"")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge
    chunks, size = [], 0
    try:
        async with asyncio.timeout(timeout):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientGone
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
    except TimeoutError as err:
        raise ClientGone from err
    return b"".join(chunks)


SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),  # nothing leaves; Origin is sent to us (login)
]  # fmt: skip


class SecurityHeaders:
    """Every answer, page or JSON, says: no framing, no sniffing, no inline script, no referrer
    to other sites (same-origin: the console's own forms carry their Origin, which login checks)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


class MeasuredRequests:
    """Counts, times and logs every request by route (pure ASGI: no extra task per request).

    The access log line names the path only, never the query string: a token someone put in
    a URL must not land in a log.
    """

    def __init__(self, app: ASGIApp, metrics: ApiMetrics, access_log: bool = False) -> None:
        self.app, self.metrics, self.access_log = app, metrics, access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began, status = time.perf_counter(), 500

        async def remember_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, remember_status)
        finally:
            took = time.perf_counter() - began
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.latency.labels(route).observe(took)
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            if self.access_log:
                client = (scope.get("client") or ("-",))[0]
                ACCESS_LOG.info(
                    '%s "%s %s" %d %.1fms', client, printable(scope["method"]),
                    printable(scope["path"]), status, took * 1000,
                )  # fmt: skip


__all__ = [
    "ACCESS_LOG",
    "SECURITY_HEADERS",
    "ClientGone",
    "MeasuredRequests",
    "PayloadTooLarge",
    "SecurityHeaders",
    "read_bounded",
]
