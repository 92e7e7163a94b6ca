"""A worker's life lock: a killed worker's shops are freed as soon as another worker looks, not a
lease later; a live worker, or one that never held a lock, is never judged dead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from conftest import empty_postgres_ledger

from pipeline.errors import LeaseLostError
from pipeline.ledger import Lease, Ledger, WorkerPresence, libpq_conninfo
from pipeline.life_lock import LifeLock, life_lock_key

LEASE = timedelta(seconds=30)


@pytest.fixture
def pg_ledger(postgres_url: str) -> Ledger:
    empty_postgres_ledger(postgres_url)
    store = Ledger(postgres_url)
    yield store  # type: ignore[misc]
    store.close()


def present(ledger: Ledger, worker: str, alive_lock: int | None) -> None:
    now = datetime.now(UTC)
    ledger.worker_present(
        WorkerPresence(worker, now, now, 0, 0, alive_lock=alive_lock), duration=LEASE
    )


def lease(ledger: Ledger, shop: str, worker: str) -> Lease:
    taken = ledger.acquire_lease(shop, worker, duration=LEASE)
    assert isinstance(taken, Lease), taken
    return taken


def test_a_worker_whose_session_ended_has_its_shops_freed_and_its_writes_fenced(
    pg_ledger: Ledger,
) -> None:
    life = LifeLock(pg_ledger.url)
    key = life.hold("w1")
    assert key == life_lock_key("w1")
    present(pg_ledger, "w1", key)
    held = [lease(pg_ledger, shop, "w1") for shop in ("shop-a", "shop-b")]
    now = datetime.now(UTC)
    assert pg_ledger.break_dead_leases(now=now, observer="w2") == [], "alive: left alone"

    life.close()  # what a SIGKILL does to its session
    assert pg_ledger.break_dead_leases(now=now, observer="w2") == ["w1"]
    assert pg_ledger.leases(now=now) == [], "its shops are free now, not a lease later"
    assert pg_ledger.live_workers(now=now) == [], "and its presence ended"
    taken = lease(pg_ledger, "shop-a", "w2")
    assert taken.token == held[0].token + 1
    with pytest.raises(LeaseLostError):  # had it been alive after all, it writes nothing
        pg_ledger.advance_checkpoint("shop-a", now, lease=held[0])
    assert pg_ledger.break_dead_leases(now=now, observer="w2") == [], "broken once"


def test_a_worker_without_a_life_lock_is_judged_by_its_leases_alone(pg_ledger: Ledger) -> None:
    present(pg_ledger, "w1", None)  # SQLite's kind of worker, or one whose lock was not taken
    lease(pg_ledger, "shop-a", "w1")
    now = datetime.now(UTC)
    assert pg_ledger.break_dead_leases(now=now, observer="w2") == []
    assert [row["worker"] for row in pg_ledger.leases(now=now)] == ["w1"]


def test_the_observer_never_breaks_its_own_leases(pg_ledger: Ledger) -> None:
    present(pg_ledger, "w1", life_lock_key("w1"))  # says it holds a lock it lost a moment ago
    lease(pg_ledger, "shop-a", "w1")
    assert pg_ledger.break_dead_leases(now=datetime.now(UTC), observer="w1") == []


def test_a_lock_lost_with_its_session_is_taken_again_at_the_next_look(
    pg_ledger: Ledger, postgres_url: str
) -> None:
    life = LifeLock(pg_ledger.url)
    key = life.hold("w1")
    assert key is not None
    with psycopg.connect(
        libpq_conninfo(pg_ledger.url), autocommit=True
    ) as admin:  # the session dies under it
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND objid::bigint = %s",
            (key,),
        )
    assert life.held() is None, "the lost session is noticed (and said in the log)"
    assert life.held() == key, "and the lock taken again on a new one"
    present(pg_ledger, "w1", key)
    assert pg_ledger.break_dead_leases(now=datetime.now(UTC), observer="w2") == []
    life.close()


def test_two_workers_whose_names_share_a_key_never_make_a_live_one_look_dead(
    pg_ledger: Ledger,
) -> None:
    alike = ("worker-3985819", "worker-4420602")  # found by a birthday search
    assert life_lock_key(alike[0]) == life_lock_key(alike[1])
    first, second = LifeLock(pg_ledger.url), LifeLock(pg_ledger.url)
    assert first.hold(alike[0]) is not None
    assert second.hold(alike[1]) is None, "the second holds none: judged by its leases alone"
    first.close()
    second.close()


def test_a_sqlite_ledger_has_no_life_locks(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    try:
        present(ledger, "w1", 12345)
        assert ledger.break_dead_leases(now=datetime.now(UTC), observer="w2") == []
    finally:
        ledger.close()
