"""A worker's life lock: how the others learn at once that it died, not a lease later.

A ``run`` on PostgreSQL holds a session advisory lock of its own (its key is derived from the
worker's name) on a connection it keeps open. PostgreSQL releases it the moment that session
ends, and a killed process's session ends with it (the kernel closes its socket). At each
heartbeat the others look for present workers whose lock is free
(``ShopLeases.break_dead_leases``) and free their shops at once, instead of waiting for their
leases to lapse. Breaking a live worker's leases by mistake (its connection dropped for a moment)
costs it its shops, never a write: every write is fenced by its lease's token.

A worker judged by its lock says so in its presence (``alive_lock``) only while it holds it, so a
worker without one (SQLite, a lock that could not be taken) is judged by its leases alone.
"""

from __future__ import annotations

import logging
import zlib
from typing import Any

from sqlalchemy import URL

from pipeline.ledger import libpq_conninfo
from pipeline.ledger.leases import LIFE_LOCKS

log = logging.getLogger(__name__)

CONNECT_SECONDS = 5


def life_lock_key(worker: str) -> int:
    """The lock's key within ``LIFE_LOCKS``: two workers sharing one (a 1-in-2³¹ chance) mean
    the second holds none and is judged by its leases alone, never that a live one looks dead."""
    return zlib.crc32(worker.encode()) & 0x7FFFFFFF


class LifeLock:
    """The session holding one worker's life lock; used from its heartbeat thread only."""

    def __init__(self, url: URL) -> None:
        self._conninfo = libpq_conninfo(url)
        self._key: int | None = None
        self._db: Any = None
        self._held = False
        self._told = False  # that another session holds this key

    def hold(self, worker: str) -> int | None:
        """Take the worker's lock (before its presence is written); its key if held."""
        self._key = life_lock_key(worker)
        return self.held()

    def held(self) -> int | None:
        """The key, if the lock is held now: the session is checked and, if it was lost, opened
        again and the lock taken again (a heartbeat calls this before writing the presence)."""
        import psycopg  # here: commands that never run workers do not load it

        if self._key is None:
            return None
        try:
            if self._db is None or self._db.closed:
                self._db = psycopg.connect(
                    self._conninfo, autocommit=True, connect_timeout=CONNECT_SECONDS
                )
                self._held = False
            if self._held:
                self._db.execute("SELECT 1")
            else:
                taken = self._db.execute(
                    "SELECT pg_try_advisory_lock(%s, %s)", (LIFE_LOCKS, self._key)
                ).fetchone()
                self._held = bool(taken and taken[0])
                if not self._held and not self._told:
                    self._told = True  # once, not at every heartbeat
                    log.warning(
                        "this worker's life lock is held by another session (a worker whose name "
                        "hashes alike, or a previous process of this name whose session "
                        "PostgreSQL has not ended yet): it is judged by its leases alone"
                    )
        except psycopg.Error as err:
            log.warning(
                "this worker's life lock is not held (%s): it is taken again at the next "
                "heartbeat; meanwhile the others may free its shops, which it then takes again",
                str(err).strip(),
            )
            self.close()
        return self._key if self._held else None

    def close(self) -> None:
        """Release the lock (stopping, after the presence has ended)."""
        self._held = False
        if self._db is not None:
            try:
                self._db.close()
            finally:
                self._db = None


__all__ = ["LifeLock", "life_lock_key"]
