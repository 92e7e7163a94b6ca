"""Console sessions: random ids on the server, revoked on logout, notices shown once."""

from __future__ import annotations

from pipeline.console.sessions import SessionStore


def test_a_session_is_a_random_id_that_logout_revokes() -> None:
    store = SessionStore()
    first, second = store.open("read"), store.open("admin")
    assert first != second and len(first) >= 40
    assert store.get(first).role == "read"  # type: ignore[union-attr]
    store.close(first)
    assert store.get(first) is None and store.get(second) is not None
    assert store.get("") is None and store.get("guessed") is None


def test_sessions_expire() -> None:
    store = SessionStore(lifetime_seconds=-1)
    assert store.get(store.open("admin")) is None


def test_notices_are_kept_by_the_server_and_shown_once() -> None:
    store = SessionStore()
    sid = store.open("admin")
    key = store.notice(sid, "reimport: imported")
    assert key is not None
    assert store.take_notice(sid, key) == "reimport: imported"
    assert store.take_notice(sid, key) is None
    assert store.take_notice(store.open("admin"), key) is None, "another session's notice"
    assert store.notice("closed-or-unknown", "x") is None
