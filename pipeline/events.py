"""One stream of what the import did, heard by everyone who cares.

A run publishes each report once (a window imported, a failure recorded, an order's latency, a
shop's pass, a reconciliation, the outbox after a flush); metrics, the command's log lines and
notifications listen. Listeners are handed in when the stream is built (at the edge: the CLI,
``serve``), never set on the run afterwards. A listener that fails is logged and the others, and
the run, go on: telling people must never stop the import.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from pipeline.models import FailedAttempt
from pipeline.reports import (
    OrderLatency,
    OutboxState,
    ReconciliationReport,
    ShopPass,
    WindowReport,
)

Event = WindowReport | FailedAttempt | OrderLatency | ShopPass | ReconciliationReport | OutboxState
log = logging.getLogger(__name__)


class Listener(Protocol):
    def hear(self, event: Event) -> None: ...


class EventStream:
    """Publish once, every listener hears it, in the order they were handed in."""

    def __init__(self, listeners: Sequence[Listener] = ()) -> None:
        self.listeners = tuple(listeners)

    def publish(self, event: Event) -> None:
        for listener in self.listeners:
            try:
                listener.hear(event)
            except Exception:  # noqa: BLE001  (a listener never stops the import)
                log.exception("%s could not take %s", type(listener).__name__, type(event).__name__)


QUIET = EventStream()

__all__ = ["QUIET", "Event", "EventStream", "Listener"]
