"""A worker's load as the others see it in its presence: passes and notice passes a minute, and
the share of one core its process used, each between two of its heartbeats."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Load:
    passes_per_minute: float
    notices_per_minute: float
    cpu_share: float  # of one core


class WorkerLoad:
    """Counted by the passes' threads, read by the heartbeat; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._passes = self._notices = 0
        self._last = (time.monotonic(), time.process_time(), 0, 0)

    def counted(self, *, notices: bool) -> None:
        """A pass began (a notice pass if ``notices``)."""
        with self._lock:
            self._passes += 1
            self._notices += int(notices)

    def since_last(self) -> Load:
        """The load since the last call (a heartbeat's), per minute."""
        mono, cpu = time.monotonic(), time.process_time()
        with self._lock:
            passes, notices = self._passes, self._notices
            then, cpu_then, passes_then, notices_then = self._last
            self._last = (mono, cpu, passes, notices)
        minutes = max(mono - then, 1e-3) / 60
        return Load(
            passes_per_minute=(passes - passes_then) / minutes,
            notices_per_minute=(notices - notices_then) / minutes,
            cpu_share=(cpu - cpu_then) / (minutes * 60),
        )


__all__ = ["Load", "WorkerLoad"]
