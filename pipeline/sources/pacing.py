"""Pacing calls to a platform by its own budget, so that steady work never meets a 429.

Shopify's REST Admin API and Shoplazza's OpenAPI meter calls with a leaky bucket: a bucket of
``size`` calls that drains ``leak`` calls a second; a call into a full bucket gets a 429. The
connector keeps a local copy of the bucket, waits before a call that would overflow it, and
corrects its copy from what the platform reports after each call (Shopify:
``X-Shopify-Shop-Api-Call-Limit: 32/40``, whose size also gives the plan: 40 leaking 2/s,
Plus 400 leaking 20/s). With several calls in flight the margin keeps a little room free.

SFCC sheds load instead: a 503 with ``sfdc_load_status: THROTTLE`` (or a 429) halves the pace,
and the pace creeps back up call by call (additive increase, multiplicative decrease).

Shopify's GraphQL Admin API meters query cost instead of calls (``CostBudget``): a bucket of
points that refills a few hundred a second, reported in every answer's ``extensions.cost``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

SHOPIFY_CALL_LIMIT = "X-Shopify-Shop-Api-Call-Limit"
SFCC_LOAD_STATUS = "sfdc_load_status"


class CallBudget:
    """No pacing: the platform's own 429 and Retry-After are all there is."""

    def before_call(self) -> None:
        """Wait, if needed, until a call fits the budget."""

    def after_response(self, status: int, headers: Mapping[str, str]) -> None:
        """Learn from what the platform said about the budget."""


class LeakyBucket(CallBudget):
    """A local mirror of a platform's leaky bucket, corrected by its call-limit header."""

    def __init__(
        self,
        size: float,
        leak_per_second: float,
        *,
        margin: float = 2.0,
        header: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.size, self.leak, self.margin = size, leak_per_second, margin
        self.header = header
        self._clock, self._sleep = clock, sleep
        self._level, self._at = 0.0, clock()
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def before_call(self) -> None:
        with self._lock:
            level = self._drained()
            room = self.size - self.margin
            wait = max(0.0, (level + 1 - room) / self.leak) if level + 1 > room else 0.0
            if wait:
                self.waited_seconds += wait
                self._sleep(wait)
                level = self._drained()
            self._level = level + 1

    def after_response(self, status: int, headers: Mapping[str, str]) -> None:
        reported = headers.get(self.header) if self.header else None
        if reported and "/" in reported:
            used, _, size = reported.partition("/")
            try:
                level, capacity = float(used), float(size)
            except ValueError:
                return
            with self._lock:
                if capacity != self.size and capacity > 0:
                    self.size, self.leak = capacity, capacity / 20  # 40 -> 2/s, 400 -> 20/s
                self._level, self._at = max(self._drained(), level), self._clock()
        elif status == 429:
            with self._lock:
                self._level, self._at = self.size, self._clock()

    def _drained(self) -> float:
        now = self._clock()
        level = max(0.0, self._level - (now - self._at) * self.leak)
        self._at = now
        return level


class LoadShedding(CallBudget):
    """AIMD pacing for a platform that sheds load (SFCC's 503 with sfdc_load_status)."""

    def __init__(
        self,
        calls_per_second: float = 10.0,
        *,
        floor: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ceiling = self.rate = calls_per_second
        self.floor = floor
        self._clock, self._sleep = clock, sleep
        self._next = clock()
        self._lock = threading.Lock()

    def before_call(self) -> None:
        with self._lock:
            now = self._clock()
            if self._next > now:
                self._sleep(self._next - now)
                now = self._next
            self._next = now + 1.0 / self.rate

    def after_response(self, status: int, headers: Mapping[str, str]) -> None:
        shedding = status == 429 or (
            status == 503 and headers.get(SFCC_LOAD_STATUS, "").upper() == "THROTTLE"
        )
        with self._lock:
            if shedding:
                self.rate = max(self.floor, self.rate / 2)
            else:
                self.rate = min(self.ceiling, self.rate + 0.1)


class CostBudget:
    """A copy of the shop's query-cost bucket, kept from ``extensions.cost``."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.maximum: float | None = None
        self.available = 0.0
        self.restore_rate = 50.0  # until the first answer says otherwise
        self.requested: dict[str, float] = {}
        self.waited_seconds = 0.0
        self._at = clock()
        self._clock, self._sleep = clock, sleep

    def before(self, operation: str) -> None:
        """Wait until the operation's last requested cost fits the bucket."""
        if self.maximum is None:
            return
        needed = min(self.requested.get(operation, 0.0), self.maximum)
        available = self._now_available()
        if needed > available:
            wait = (needed - available) / self.restore_rate
            self.waited_seconds += wait
            self._sleep(wait)

    def observe(self, operation: str, cost: dict[str, Any] | None) -> None:
        if not cost:
            return
        status = cost.get("throttleStatus") or {}
        self.maximum = float(status.get("maximumAvailable") or self.maximum or 1000.0)
        self.available = float(status.get("currentlyAvailable") or 0.0)
        self.restore_rate = float(status.get("restoreRate") or self.restore_rate)
        self._at = self._clock()
        if cost.get("requestedQueryCost") is not None:
            self.requested[operation] = float(cost["requestedQueryCost"])

    def _now_available(self) -> float:
        assert self.maximum is not None
        elapsed = self._clock() - self._at
        return min(self.maximum, self.available + elapsed * self.restore_rate)


__all__ = [
    "CostBudget",
    "SFCC_LOAD_STATUS",
    "SHOPIFY_CALL_LIMIT",
    "CallBudget",
    "LeakyBucket",
    "LoadShedding",
]
