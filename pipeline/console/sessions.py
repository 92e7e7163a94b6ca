"""Console sessions, kept on the server: the cookie holds a random id, never a token.

Logging in with an API token opens a session (a random 256-bit id, its role, an expiry);
logging out deletes it, so a copied cookie stops working at once. Notices after an action
("reimport: imported …") are kept in the session and shown once by id, so a crafted link can
never make the console display words of its own. Sessions live in this process's memory: a
restart logs everyone out, and each ``serve`` process has its own.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

SESSION_SECONDS = 8 * 3600
MAX_SESSIONS = 10_000
MAX_NOTICES = 20


@dataclass
class Session:
    role: str  # "admin" or "read"
    expires: float
    notices: OrderedDict[str, str] = field(default_factory=OrderedDict)


class SessionStore:
    """Open sessions by id; bounded, expiring, thread-safe."""

    def __init__(self, lifetime_seconds: float = SESSION_SECONDS) -> None:
        self.lifetime = lifetime_seconds
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()
        self._now = time.monotonic

    def open(self, role: str) -> str:
        sid = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[sid] = Session(role=role, expires=self._now() + self.lifetime)
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return sid

    def get(self, sid: str) -> Session | None:
        if not sid:
            return None
        with self._lock:
            session = self._sessions.get(sid)
            if session is not None and session.expires <= self._now():
                del self._sessions[sid]
                return None
            return session

    def close(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(sid, None)

    def notice(self, sid: str, text: str) -> str | None:
        """Keep a notice for the session; returns its id for the redirect's query string."""
        session = self.get(sid)
        if session is None:
            return None
        key = secrets.token_urlsafe(12)
        with self._lock:
            session.notices[key] = text
            while len(session.notices) > MAX_NOTICES:
                session.notices.popitem(last=False)
        return key

    def take_notice(self, sid: str, key: str) -> str | None:
        session = self.get(sid)
        if session is None or not key:
            return None
        with self._lock:
            return session.notices.pop(key, None)


__all__ = ["SESSION_SECONDS", "Session", "SessionStore"]
