"""How ``serve`` runs the app: uvicorn with bounds for clients that are slow on purpose.

uvicorn closes idle keep-alive connections and can cap concurrent connections
(``limit_concurrency``, a 503 past it), but waits forever for headers that trickle in, and a
handful of such connections would hold a process's sockets open. ``SlowHeadersProtocol`` gives
every connection ``header_timeout`` seconds to deliver a request's headers (again after each
response); bodies are bounded by the app (``read_bounded``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from pipeline.settings import Settings


class SlowHeadersProtocol(HttpToolsProtocol):
    """HTTP/1.1 (httptools) that hangs up on a connection whose headers do not arrive in time."""

    header_timeout = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
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
        {"header_timeout": settings.api_header_timeout_seconds},
    )
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol,
        limit_concurrency=settings.api_max_concurrency,
        timeout_keep_alive=5,
        access_log=False,  # uvicorn's line carries the query string; the app logs its own
        log_config=None,  # uvicorn logs through the root handlers, which scrub secrets
    )


__all__ = ["SlowHeadersProtocol", "server_config"]
