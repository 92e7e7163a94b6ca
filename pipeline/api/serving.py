"""How ``serve`` runs the app: uvicorn with bounds for clients that are slow on purpose.

uvicorn closes idle keep-alive connections, but waits forever for headers that trickle in, and
accepts any number and size of them: a handful of such connections would hold a process's
sockets open, and one streaming a header of many megabytes keeps the event loop parsing it
while every other client waits. ``SlowHeadersProtocol`` gives every connection
``header_timeout`` seconds to deliver a request's headers (again after each response), at most
``max_header_bytes`` for the request line and headers together (431 past it, before the parser
sees more), at most ``max_headers`` headers and ``max_url_bytes`` of request line (414); bodies
are bounded by the app (``read_bounded``).

Load is bounded in two ways, not uvicorn's one (``limit_concurrency`` counts idle keep-alive
connections with requests, so a thousand shops' webhook senders, each keeping its connection
open between deliveries, got 503s while `serve` was idle: a quarter of the deliveries in
``fleet_bench``, each then retried by the platform with its backoff). At most ``max_in_flight``
requests are answered at once (503 with ``Retry-After`` past it), and at most
``max_connections`` are open: past it, the connection idle longest is closed to make room, as
nginx does with its keep-alive connections, and only if none is idle is the new one refused.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from pipeline.settings import Settings

log = logging.getLogger(__name__)
BUSY_LOGGED_EVERY = 10.0  # seconds: one line for a burst of 503s, not one per refusal


class SlowHeadersProtocol(HttpToolsProtocol):
    """HTTP/1.1 (httptools) that hangs up on a connection whose headers do not arrive in time."""

    header_timeout = 10.0
    max_header_bytes = 32 * 1024
    max_headers = 100
    max_url_bytes = 8 * 1024
    max_in_flight = 256
    max_connections = 768
    _idle_since: float | None = None  # between requests (kept alive), or connected, no bytes yet
    _header_timer: asyncio.TimerHandle | None = None
    _reading_headers = True
    _header_bytes = 0
    _refused = False
    _busy = [0, -math.inf]  # shared: 503s since the last line, when it was logged

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._idle_since = time.monotonic()
        self._arm()
        if len(self.connections) > self.max_connections and not self._room_made():
            self._refuse(503, "Service Unavailable", f"over {self.max_connections} connections "
                         "at once, every one of them busy: try again in a moment")  # fmt: skip

    def _room_made(self) -> bool:
        """Close the connection idle longest; False if none is idle."""
        idle = [(since, c) for c in self.connections if c is not self
                and isinstance(c, SlowHeadersProtocol) and (since := c._idle_since) is not None
                and not c.transport.is_closing()]  # fmt: skip
        if not idle:
            return False
        min(idle, key=lambda pair: pair[0])[1].transport.close()
        return True

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._idle_since = None
        if self._reading_headers:
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes + 65_536:  # a body may share the read
                self._refuse(431, "Request Header Fields Too Large")
                return
        super().data_received(data)

    def on_message_begin(self) -> None:
        self._reading_headers, self._header_bytes = True, 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.max_url_bytes:
            self._refuse(414, "URI Too Long")

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        size = sum(len(n) + len(v) + 4 for n, v in self.headers) + len(self.url)
        if len(self.headers) > self.max_headers or size > self.max_header_bytes:
            self._refuse(431, "Request Header Fields Too Large")

    def on_headers_complete(self) -> None:
        self._disarm()
        self._reading_headers = False
        if self._refused:
            return
        if len(self.tasks) >= self.max_in_flight:
            self._refuse(503, "Service Unavailable", f"{self.max_in_flight} requests are being "
                         "answered already: try again in a moment")  # fmt: skip
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self._refused:
            super().on_message_complete()

    def _refuse(self, status: int, reason: str, detail: str = "") -> None:
        """Answer at once and hang up: nothing more of this connection is read or parsed."""
        if self._refused or self.transport.is_closing():
            return
        self._refused = True
        self._disarm()
        detail = detail or f"at most {self.max_headers} headers and {self.max_header_bytes} bytes"
        body = f"{reason}: {detail}"
        retry = "retry-after: 1\r\n" if status == 503 else ""
        if status == 503:
            self._log_busy(detail)
        self.transport.write(
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\n{retry}connection: close\r\n\r\n{body}".encode()
        )
        self.transport.close()

    def _log_busy(self, detail: str) -> None:
        busy = SlowHeadersProtocol._busy
        busy[0] += 1
        if time.monotonic() - busy[1] >= BUSY_LOGGED_EVERY:
            log.warning(
                "serve refused %d request(s) with 503 since its last such line (%s); raise "
                "LOGINSIGHTS_API_MAX_CONCURRENCY or LOGINSIGHTS_API_MAX_CONNECTIONS if the "
                "machine has room, or run another serve",
                busy[0],
                detail,
            )
            busy[0], busy[1] = 0, time.monotonic()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._idle_since = time.monotonic()
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
            self.transport.close()


def server_config(app: Any, settings: Settings, *, host: str, port: int) -> uvicorn.Config:
    protocol = type(
        "SlowHeadersProtocol",
        (SlowHeadersProtocol,),
        {
            "header_timeout": settings.api_header_timeout_seconds,
            "max_header_bytes": settings.api_max_header_bytes,
            "max_headers": settings.api_max_headers,
            "max_in_flight": settings.api_max_concurrency,
            "max_connections": settings.api_max_connections,
        },
    )
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol,
        limit_concurrency=None,  # both bounds are the protocol's (see above)
        timeout_keep_alive=5,
        access_log=False,  # uvicorn's line carries the query string; the app logs its own
        log_config=None,  # uvicorn logs through the root handlers, which scrub secrets
    )


__all__ = ["SlowHeadersProtocol", "server_config"]
