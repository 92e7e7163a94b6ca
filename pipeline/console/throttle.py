"""Failed logins cost time: per client, and for everyone together, never a lock-out.

A client's failed logins spend its own bucket (a few at once, then one every few seconds): past
it, the console answers 429 with Retry-After without even comparing the token. All clients'
failures spend one shared bucket too: when a flood from many addresses empties it, every login
waits its turn (at most a few seconds), so guesses slow to the bucket's rate overall while a
person with the right token still gets in. Buckets of quiet clients are forgotten.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    at: float


class LoginThrottle:
    def __init__(
        self,
        *,
        per_client: int = 5,
        client_refill_seconds: float = 6.0,
        overall: int = 60,
        overall_per_second: float = 5.0,
        longest_wait: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_client = per_client
        self.client_rate = 1.0 / client_refill_seconds
        self.overall = overall
        self.overall_rate = overall_per_second
        self.longest_wait = longest_wait
        self.clock = clock
        self._clients: dict[str, _Bucket] = {}
        self._all = _Bucket(float(overall), clock())
        self._lock = threading.Lock()

    def _level(self, bucket: _Bucket, size: int, rate: float, now: float) -> float:
        bucket.tokens = min(float(size), bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        return bucket.tokens

    def retry_after(self, client: str) -> float:
        """Seconds this client must wait before its next try (0: it may try now)."""
        now = self.clock()
        with self._lock:
            bucket = self._clients.get(client)
            if bucket is None:
                return 0.0
            level = self._level(bucket, self.per_client, self.client_rate, now)
            return 0.0 if level >= 1 else (1 - level) / self.client_rate

    def overall_wait(self) -> float:
        """How long a login waits its turn while failures from everywhere exceed their rate."""
        now = self.clock()
        with self._lock:
            level = self._level(self._all, self.overall, self.overall_rate, now)
        return 0.0 if level >= 1 else min(self.longest_wait, (1 - level) / self.overall_rate)

    async def wait_turn(self) -> None:
        wait = self.overall_wait()
        if wait:
            await asyncio.sleep(wait)

    def failed(self, client: str) -> None:
        now = self.clock()
        with self._lock:
            bucket = self._clients.setdefault(client, _Bucket(float(self.per_client), now))
            self._level(bucket, self.per_client, self.client_rate, now)
            bucket.tokens -= 1
            self._level(self._all, self.overall, self.overall_rate, now)
            self._all.tokens = max(self._all.tokens - 1, -float(self.overall))
            if len(self._clients) > 10_000:  # forget the full ones: they are as good as new
                full = [
                    key
                    for key, kept in self._clients.items()
                    if kept.tokens + (now - kept.at) * self.client_rate >= self.per_client
                ]
                for key in full:
                    del self._clients[key]


__all__ = ["LoginThrottle"]
