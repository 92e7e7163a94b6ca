"""The bell `serve` rings when it keeps a webhook notice, so `run` looks at once.

On PostgreSQL the statement that keeps a notice also sends ``NOTIFY loginsights_notices``
(``WebhookNotices.note_webhook``); each `run` process LISTENs on its own connection and wakes
its loop, instead of waiting up to ``notice_seconds`` for its next look. The bell is only a
hint: the ledger's notices stay the truth, so a bell that cannot listen (PostgreSQL restarting,
a SQLite ledger, which has no bell) costs latency, never a notice.

The same bell on ``SHARES_CHANNEL`` wakes the workers when one joins, leaves or hands shops
over (``pipeline.holdings``), so shares move in a moment rather than at the next heartbeat.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import URL

from pipeline.ledger import libpq_conninfo
from pipeline.ledger.leases import SHARES_BELL as SHARES_CHANNEL
from pipeline.ledger.notices import BELL as CHANNEL

log = logging.getLogger(__name__)

RECONNECT_SECONDS = 5.0
COALESCE_SECONDS = 0.005  # rings within this of the first are one look (a burst of deliveries)


class NoticeBell:
    def __init__(
        self, url: URL, *, channel: str = CHANNEL, coalesce_seconds: float = COALESCE_SECONDS
    ) -> None:
        self.channel, self.coalesce_seconds = channel, coalesce_seconds
        self._conninfo = libpq_conninfo(url)
        self._rung = threading.Event()
        self._closed = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="notice-bell", daemon=True)

    def start(self) -> NoticeBell:
        self._thread.start()
        return self

    def listening(self, timeout: float) -> bool:
        """Whether it has started listening (tests wait for this)."""
        return self._listening.wait(timeout)

    def wait(self, timeout: float) -> bool:
        """True if the bell rang since the last call: a few milliseconds after the first ring,
        so that the rest of a burst is heard by the same look (one query, not one each)."""
        rang = self._rung.wait(timeout)
        if rang and self.coalesce_seconds:
            self._closed.wait(self.coalesce_seconds)
        self._rung.clear()
        return rang

    def ring(self) -> None:
        """What a notification on the channel does (the listener; tests)."""
        self._rung.set()

    def close(self) -> None:
        self._closed.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _listen(self) -> None:
        import psycopg  # here: commands that never listen do not load it

        while not self._closed.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=10) as db:
                    db.execute(f"LISTEN {self.channel}")
                    self._listening.set()
                    self.ring()  # notices kept while it was not listening
                    while not self._closed.is_set():
                        for _ in db.notifies(timeout=1.0):
                            self.ring()
            except psycopg.Error as err:
                self._listening.clear()
                log.warning(
                    "the bell on %s is not listening (%s); the ledger is looked at on a "
                    "timer meanwhile, and it tries again in %.0f s",
                    self.channel,
                    str(err).strip(),
                    RECONNECT_SECONDS,
                )
                self._closed.wait(RECONNECT_SECONDS)


__all__ = ["CHANNEL", "SHARES_CHANNEL", "NoticeBell"]
