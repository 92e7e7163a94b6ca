"""The REST rate limit the Shopify and Shoplazza simulators both enforce: a leaky bucket, as
Shopify publishes it (a bucket of calls that leaks a few a second; a full bucket answers 429).
GraphQL's cost bucket is in graphql_cost.py."""

from __future__ import annotations

import threading
import time


class LeakyBucket:
    """Shopify's REST limit: a bucket of ``size`` calls that leaks ``rate`` calls per second."""

    def __init__(self, size: int = 40, rate: float = 2.0) -> None:
        self.size = size
        self.rate = rate
        self._level = 0.0
        self._at = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> tuple[bool, int]:
        with self._lock:
            now = time.monotonic()
            self._level = max(0.0, self._level - (now - self._at) * self.rate)
            self._at = now
            if self._level + 1 > self.size:
                return False, self.size
            self._level += 1
            return True, int(round(self._level))


__all__ = ["LeakyBucket"]
