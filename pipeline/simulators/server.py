"""The HTTP side shared by the shop simulators: a threaded server on 127.0.0.1 and the faults.

Each platform subclass answers ``route``; this class counts calls, applies latency, outages,
5xx bursts and 429 storms before the platform sees a call, and serves a small control API under
``/_sim/`` (change an order as the merchant would, read call counts) for tests and demos.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from pipeline.simulators.catalog import OrderCatalog, SimOrder
from pipeline.simulators.faults import Faults
from pipeline.simulators.webhooks import WebhookSender


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


class QuietHTTPServer(ThreadingHTTPServer):
    """A client that hung up (a killed worker, a timeout) is no error of the platform's."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class SimulatorServer:
    """A simulated shop API; subclasses implement ``route`` for their platform."""

    platform = "base"

    def __init__(
        self,
        catalog: OrderCatalog,
        *,
        faults: Faults | None = None,
        port: int = 0,
        seed: int = 1,
        listen: bool = True,
    ) -> None:
        """``listen=False``: no port of its own; a ``ShopFleet`` serves it at a path."""
        self.catalog = catalog
        self.faults = faults or Faults()
        self.calls = 0
        self.recent: deque[Call] = deque(maxlen=1000)  # what clients sent (contract tests)
        self.throttled = 0  # 429s of the platform's own rate limit (not injected faults)
        self.fault_replies = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._httpd = (
            QuietHTTPServer(("127.0.0.1", port), request_handler(self)) if listen else None
        )
        self._mounted_at: str | None = None
        self._thread: threading.Thread | None = None
        self._serving = False
        self.webhooks: WebhookSender | None = None  # platforms that send them set one up

    @property
    def port(self) -> int:
        if self._httpd is None:
            assert self._mounted_at, "a simulator without a port of its own is served mounted"
            return int(urlsplit(self._mounted_at).port or 80)
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return self._mounted_at or f"http://127.0.0.1:{self.port}"

    def mount(self, url: str) -> None:
        """Served by someone else at ``url`` (a fleet's /shops/<name>)."""
        self._mounted_at = url

    def start(self) -> SimulatorServer:
        self._started = time.monotonic()
        if self._httpd is None:
            return self
        self._serving = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # how long stop() waits for the loop to notice
            name=f"{self.platform}-simulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        assert self._httpd is not None, "a mounted simulator is served by its fleet"
        self._started = time.monotonic()
        self._serving = True
        self._httpd.serve_forever()

    def stop(self) -> None:
        if self._httpd is not None:
            if self._serving:
                self._httpd.shutdown()
            self._httpd.server_close()
        if self.webhooks is not None:
            self.webhooks.close()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def send_webhooks(
        self, secret: str | None, *, domain: str, api_version: str, seed: int
    ) -> None:
        """With the app's client secret (None: the app has none), deliveries are signed and
        sent to the subscriptions, under the webhook faults."""
        if secret is not None:
            self.webhooks = WebhookSender(
                self.platform, domain=domain, secret=secret, api_version=api_version,
                faults=self.faults, seed=seed,
            )  # fmt: skip

    def place_order(self, created_at: datetime | None = None, **facts: Any) -> SimOrder:
        """A customer orders now: the order joins the catalog and, where the platform sends
        them, its ``orders/create`` webhook goes out to the subscriptions."""
        order = self.catalog.add(created_at or self.now(), **facts)
        if self.webhooks is not None:
            self.webhooks.publish("orders/create", self.webhook_payload(order))
        return order

    def order_refs(self, order: SimOrder) -> set[str]:
        """How people name the order: the platform's id and name, as loginsights shows them."""
        return set()

    def number_of(self, ref: str) -> int:
        """The catalog number of an order named by its platform id or name (or its number)."""
        for order in self.catalog.orders():
            if ref in self.order_refs(order):
                return order.number
        return int(ref)

    def webhook_payload(self, order: SimOrder) -> dict[str, Any]:
        """The order as an ``orders/create`` webhook carries it (platforms that send one)."""
        raise NotImplementedError

    # -- request flow -----------------------------------------------------------------------

    def dispatch(self, call: Call) -> Reply:
        if call.path.startswith("/_sim/"):
            return self._control(call)
        with self._lock:
            self.calls += 1
            number = self.calls
            self.recent.append(call)
        if self.faults.latency_seconds:
            time.sleep(self.faults.latency_seconds)
        fault = self._fault_for(number)
        if fault is not None:
            with self._lock:
                self.fault_replies += 1
            return fault
        return self.route(call)

    def _fault_for(self, number: int) -> Reply | None:
        elapsed = time.monotonic() - self._started
        if any(s.holds(elapsed) for s in self.faults.outages) or any(
            s.holds(number) for s in self.faults.outage_requests
        ):
            return self.server_error(503)
        if any(s.holds(elapsed) for s in self.faults.storms_429) or any(
            s.holds(number) for s in self.faults.storm_429_requests
        ):
            return self.too_many_requests(self.faults.retry_after_seconds)
        if self.faults.burst_5xx_share and self._rng.random() < self.faults.burst_5xx_share:
            return self.server_error(self._rng.choice([500, 502, 504]))
        return None

    def bulk_file(self, number: str) -> str | None:
        """The JSONL of a finished bulk operation (platforms that have them)."""
        return None

    def route(self, call: Call) -> Reply:  # pragma: no cover - every platform overrides it
        raise NotImplementedError

    def server_error(self, status: int) -> Reply:
        return Reply(status, {"errors": "Internal Server Error"})

    def too_many_requests(self, retry_after: float) -> Reply:
        return Reply(429, {"errors": "Too Many Requests"}, {"Retry-After": f"{retry_after:.1f}"})

    # -- control API for tests and demos ----------------------------------------------------

    def _control(self, call: Call) -> Reply:
        parts = call.path.strip("/").split("/")
        if parts == ["_sim", "stats"]:
            return Reply(
                200,
                {
                    "calls": self.calls,
                    "faultReplies": self.fault_replies,
                    "throttled": self.throttled,
                    "orders": len(self.catalog),
                },
            )
        if len(parts) == 3 and parts[1] == "bulk":
            text = self.bulk_file(parts[2].removesuffix(".jsonl"))
            return Reply(200, text) if text is not None else Reply(404, {"errors": "Not Found"})
        if parts == ["_sim", "place"] and call.method == "POST":
            facts = json.loads(call.body or b"{}")
            facts.pop("created_at", None)  # placed now, as a customer would
            try:
                order = self.place_order(**facts)
            except TypeError as err:
                return Reply(400, {"errors": f"cannot place that order: {err}"})
            return Reply(200, {"number": order.number, "created_at": order.created_at.isoformat()})
        if len(parts) == 3 and parts[1] == "orders" and call.method == "POST":
            changes = json.loads(call.body or b"{}")
            try:
                order = self.catalog.update(self.number_of(unquote(parts[2])), **changes)
            except (KeyError, ValueError, AttributeError) as err:
                return Reply(400, {"errors": f"cannot change order {parts[2]}: {err}"})
            return Reply(200, {"number": order.number, "updated_at": order.updated_at.isoformat()})
        return Reply(404, {"errors": "Not Found"})


class Dispatcher(Protocol):
    def dispatch(self, call: Call) -> Reply: ...


def request_handler(server: Dispatcher) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms ACK wait

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            call = Call(
                method=method,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            reply = server.dispatch(call)
            if isinstance(reply.body, str):  # a file, such as a bulk operation's JSONL
                payload = reply.body.encode("utf-8")
                content_type = "application/jsonl"
            else:
                payload = json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
                content_type = "application/json; charset=utf-8"
            self.send_response(reply.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    return Handler
