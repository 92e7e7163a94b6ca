"""On PostgreSQL, keeping a webhook notice wakes every listening worker at once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import empty_postgres_ledger
from sqlalchemy import make_url

from pipeline.ledger import Ledger
from pipeline.notice_bell import NoticeBell


def test_a_kept_notice_rings_the_bell_and_a_duplicate_does_not(postgres_url: str) -> None:
    empty_postgres_ledger(postgres_url)
    with Ledger(postgres_url) as receiver, Ledger(postgres_url) as worker:
        bell = NoticeBell(worker.url).start()
        try:
            assert bell.listening(timeout=10)
            bell.wait(0)  # the ring it gives itself on (re)connecting

            def note(delivery: str) -> bool:
                now = datetime.now(UTC)
                return receiver.note_webhook(
                    "shop-a", delivery, order_id="55001", topic="orders/create", received_at=now
                )

            assert note("d1") is True
            assert bell.wait(5), "rung by the statement that kept the notice"
            assert note("d2") is False, "the order is waiting already"
            assert not bell.wait(1.5), "nothing new: no ring"
        finally:
            bell.close()


def test_a_bell_that_cannot_listen_keeps_trying_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bell = NoticeBell(make_url("postgresql+psycopg://nobody@127.0.0.1:1/none")).start()
    try:
        assert not bell.listening(timeout=2)
    finally:
        bell.close()
    assert "loginsights_notices is not listening" in caplog.text


def test_a_burst_of_rings_is_one_look() -> None:
    """A hundred deliveries in a burst wake the loop once or twice, not a hundred times."""
    import threading
    import time

    bell = NoticeBell(make_url("postgresql+psycopg://nobody@127.0.0.1:9/none"),
                      coalesce_seconds=0.05)  # fmt: skip

    def burst() -> None:
        for _ in range(100):
            bell.ring()

    ringer = threading.Thread(target=burst)
    ringer.start()
    looks = 0
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        looks += bell.wait(0.05)
    ringer.join()
    assert 1 <= looks <= 2
    assert not bell.wait(0), "heard, not heard again"
