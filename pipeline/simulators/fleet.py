"""Many simulated shops behind one port, for benchmarks of a fleet: ``/shops/<name>/…`` is
that shop's API, so a connector reaches it by its base_url alone (as a real shop's domain).
A thousand shops take a few processes and a few ports, not a thousand."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace

from pipeline.simulators.server import (
    Call,
    QuietHTTPServer,
    Reply,
    SimulatorServer,
    request_handler,
)


class ShopFleet:
    """Serves each simulator (built with ``listen=False``) at /shops/<name>."""

    def __init__(self, shops: Mapping[str, SimulatorServer], *, port: int = 0) -> None:
        self.shops = dict(shops)
        self._httpd = QuietHTTPServer(("127.0.0.1", port), request_handler(self))
        self._thread: threading.Thread | None = None
        self.calls: Counter[str] = Counter()  # by the path's last segment: orders.json, …
        for name, sim in self.shops.items():
            sim.mount(f"{self.url}/shops/{name}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def dispatch(self, call: Call) -> Reply:
        _, root, name, *rest = [*call.path.split("/", 3), ""][:4]
        sim = self.shops.get(name) if root == "shops" else None
        if sim is None:
            return Reply(404, {"errors": "Not Found"})
        self.calls[rest[0].rsplit("/", 1)[-1]] += 1
        return sim.dispatch(replace(call, path="/" + rest[0]))

    def start(self) -> ShopFleet:
        for sim in self.shops.values():
            sim.start()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        for sim in self.shops.values():
            sim.stop()

    def __enter__(self) -> ShopFleet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["ShopFleet"]
