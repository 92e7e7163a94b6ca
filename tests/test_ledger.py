"""The ledger keeps orders, failures, checkpoints and the outbox consistent across crashes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import empty_postgres_ledger

from pipeline.documents import failure_renderer
from pipeline.ledger import HeldElsewhere, Lease, Ledger
from pipeline.models import ErrorCode, FailedAttempt, Platform
from pipeline.orders import to_order
from pipeline.simulators import OrderCatalog, ShopifySimulator

ZONE = ZoneInfo("America/New_York")
RENDER = failure_renderer("+60DAYS", ZONE)
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def attempt(message: str = "no address", at: datetime = T0) -> FailedAttempt:
    return FailedAttempt(
        platform=Platform.SHOPIFY,
        shop="shop-a",
        order_id="5500000000000",
        order_name="#1001",
        order_created_at=T0 - timedelta(hours=1),
        attempted_at=at,
        error_message=message,
        error_code=ErrorCode.MISSING_ADDRESS,
    )


def record(ledger: Ledger, failed: FailedAttempt, payload: dict, retry: bool = False) -> bool:  # type: ignore[type-arg]
    return ledger.record_failure(failed, payload=payload, render=RENDER, retry_unchanged=retry)


def test_a_failure_and_its_log_document_are_written_together(ledger: Ledger) -> None:
    assert record(ledger, attempt(), {"id": 1})
    failure = ledger.failure("shop-a", "5500000000000")
    assert failure is not None and failure.attempts == 1
    rows = ledger.outbox_batch(10)
    assert len(rows) == 1 and rows[0].document["errorMessage"] == "no address"
    assert rows[0].document["version"] == failure.doc_version


def test_the_same_failure_of_the_same_payload_is_not_counted_twice(ledger: Ledger) -> None:
    assert record(ledger, attempt(), {"id": 1})
    assert not record(ledger, attempt(at=T0 + timedelta(hours=1)), {"id": 1})
    assert ledger.outbox_counts() == (1, 0)
    assert record(ledger, attempt(at=T0 + timedelta(hours=2)), {"id": 1, "changed": True})
    failure = ledger.failure("shop-a", "5500000000000")
    assert failure is not None and failure.attempts == 2
    assert failure.first_attempt_at == T0
    first, second = ledger.outbox_batch(10)
    assert first.document["firstAttemptedImport"] == second.document["firstAttemptedImport"]
    assert second.document["version"] > first.document["version"]


def test_transient_errors_are_retried_even_with_the_same_payload(ledger: Ledger) -> None:
    assert record(ledger, attempt("store down"), {"id": 1}, retry=True)
    assert record(ledger, attempt("store down"), {"id": 1}, retry=True)
    failure = ledger.failure("shop-a", "5500000000000")
    assert failure is not None and failure.attempts == 2


def test_a_success_resolves_the_failure_document(ledger: Ledger) -> None:
    record(ledger, attempt(), {"id": 1})
    catalog = OrderCatalog()
    sim_order = catalog.add(T0)
    sim = ShopifySimulator(catalog)
    raw = sim.render(sim_order)
    sim.stop()
    order = to_order(Platform.SHOPIFY, "shop-a", {**raw, "id": 5500000000000})
    resolved = ledger.resolution_document("shop-a", order.order_id, render=RENDER)
    assert resolved is not None and resolved["resolved"] is True
    assert ledger.store_orders([(order, raw)], render=RENDER) == {order.order_id}
    assert ledger.store_orders([(order, raw)], render=RENDER) == set(), (
        "storing again changes nothing"
    )
    failure = ledger.failure("shop-a", order.order_id)
    assert failure is not None and failure.resolved_at is not None
    assert ledger.failures("shop-a") == []
    assert [r.document["resolved"] for r in ledger.outbox_batch(10)] == [False, True]
    assert ledger.resolution_document("shop-a", order.order_id, render=RENDER) is None


def test_a_page_of_orders_is_stored_once_each(ledger: Ledger) -> None:
    catalog = OrderCatalog()
    sim = ShopifySimulator(catalog)
    raws = [sim.render(catalog.add(T0 + timedelta(seconds=n))) for n in range(3)]
    sim.stop()
    orders = [(to_order(Platform.SHOPIFY, "shop-a", raw), raw) for raw in raws]
    first_id = orders[0][0].order_id
    assert ledger.store_orders(orders[:1], render=RENDER) == {first_id}
    stored = ledger.store_orders([*orders, orders[1]], render=RENDER)
    assert stored == {orders[1][0].order_id, orders[2][0].order_id}
    assert ledger.count_orders("shop-a") == 3
    assert ledger.known_order_ids("shop-a", [o.order_id for o, _ in orders] + ["nope"]) == {
        o.order_id for o, _ in orders
    }
    assert ledger.outbox_counts() == (0, 0), "no failure, so nothing to resolve"


def test_a_webhook_notice_is_kept_once_per_order_until_it_is_settled(ledger: Ledger) -> None:
    def note(delivery: str, order_id: str = "5500000000001") -> bool:
        return ledger.note_webhook("shop-a", delivery, order_id=order_id, topic="orders/create",
                                   received_at=T0)  # fmt: skip

    assert note("d1") is True
    assert note("d1") is False, "the same delivery again"
    assert note("d2") is False, "another delivery of an order already waiting"
    assert note("d3", "5500000000002") is True
    assert ledger.noticed_shops() == {"shop-a"}
    ledger.settle_notices("shop-a", ["d1"], "imported")
    assert [row["delivery_id"] for row in ledger.pending_notices("shop-a")] == ["d3"]
    assert note("d4") is True, "settled without being stored: a new delivery is worked again"
    catalog = OrderCatalog()
    sim = ShopifySimulator(catalog)
    raw = sim.render(catalog.add(T0))
    sim.stop()
    stored = to_order(Platform.SHOPIFY, "shop-a", raw)
    ledger.store_orders([(stored, raw)], render=RENDER)
    assert note("d5", stored.order_id) is False, "the order is stored already"
    assert ledger.prune_notices("shop-a", settled_before=datetime.now(UTC) + timedelta(1)) == 1


def test_checkpoints_only_move_forward(ledger: Ledger) -> None:
    assert ledger.checkpoint("shop-a") is None
    ledger.advance_checkpoint("shop-a", T0)
    ledger.advance_checkpoint("shop-a", T0 - timedelta(hours=1))
    assert ledger.checkpoint("shop-a") == T0


def test_refused_outbox_rows_are_kept_not_deleted(ledger: Ledger) -> None:
    record(ledger, attempt(), {"id": 1})
    (row,) = ledger.outbox_batch(10)
    ledger.outbox_failed([row.id], "Solr said no", dead=True)
    assert ledger.outbox_counts() == (0, 1)
    assert ledger.outbox_batch(10) == []


def test_the_ledger_survives_reopening(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with Ledger(tmp_path / "l.db") as first:
        record(first, attempt(), {"id": 1})
        first.advance_checkpoint("shop-a", T0)
    with Ledger(tmp_path / "l.db") as again:
        assert again.checkpoint("shop-a") == T0
        assert again.outbox_counts() == (1, 0)


def test_a_full_disk_is_one_clear_error_and_nothing_half_written(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """SQLite's own SQLITE_FULL, made real with max_page_count."""
    import pytest
    from sqlalchemy import event

    from pipeline.errors import LedgerError

    ledger = Ledger(tmp_path / "full.sqlite3")
    ledger.advance_checkpoint("shop-a", T0)
    with ledger.engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar()

    def tiny_disk(dbapi_connection, _):  # type: ignore[no-untyped-def]
        dbapi_connection.execute(f"PRAGMA max_page_count={pages + 2}")  # SQLite's "disk is full"

    event.listen(ledger.engine, "connect", tiny_disk)
    ledger.engine.dispose()
    big = {"note": "x" * 200_000}
    with pytest.raises(LedgerError) as caught:
        record(ledger, attempt(), big)
    assert str(ledger.path) in str(caught.value) and "disk is full" in str(caught.value)
    assert ledger.failure("shop-a", "5500000000000") is None, "the failure was rolled back"
    assert ledger.outbox_counts() == (0, 0), "and its outbox row with it"
    assert ledger.checkpoint("shop-a") == T0
    event.remove(ledger.engine, "connect", tiny_disk)
    ledger.engine.dispose()
    assert record(ledger, attempt(), big), "usable again once there is room"


def test_a_damaged_ledger_is_refused_when_it_opens(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from pipeline.errors import LedgerError

    path = tmp_path / "ledger.sqlite3"
    with Ledger(path) as good:
        good.advance_checkpoint("shop-a", T0)
    data = bytearray(path.read_bytes())
    data[4096 : 4096 + 512] = b"\x00" * 512  # wipe part of the second page
    path.write_bytes(bytes(data))
    with pytest.raises(LedgerError, match="damaged") as caught:
        Ledger(path)
    assert str(path) in str(caught.value)


# -- shop leases: one worker at a time per shop ----------------------------------------------


def test_a_shop_is_leased_to_one_worker_at_a_time(ledger: Ledger) -> None:
    minute = timedelta(minutes=1)
    mine = ledger.acquire_lease("shop-a", "w1", duration=minute, now=T0)
    assert isinstance(mine, Lease) and mine.token == 1
    refused = ledger.acquire_lease("shop-a", "w2", duration=minute, now=T0 + timedelta(seconds=30))
    assert refused == HeldElsewhere("shop-a", T0 + minute), "says until when it is held"
    again = ledger.acquire_lease("shop-a", "w1", duration=minute, now=T0 + timedelta(seconds=30))
    assert isinstance(again, Lease) and again.worker == "w1"
    taken = ledger.acquire_lease("shop-a", "w2", duration=minute, now=T0 + timedelta(minutes=5))
    assert isinstance(taken, Lease) and taken.token > again.token, "an expired lease is taken over"
    assert [(r["shop"], r["worker"]) for r in ledger.leases(now=T0 + timedelta(minutes=5))] == [
        ("shop-a", "w2")
    ]


def test_a_stale_worker_whose_lease_was_taken_writes_nothing(ledger: Ledger) -> None:
    import pytest

    from pipeline.errors import LeaseLostError

    minute = timedelta(minutes=1)
    stale = ledger.acquire_lease("shop-a", "w1", duration=minute, now=T0)
    assert isinstance(stale, Lease)
    fresh = ledger.acquire_lease("shop-a", "w2", duration=minute, now=T0 + timedelta(minutes=2))
    assert isinstance(fresh, Lease)
    with pytest.raises(LeaseLostError):
        ledger.record_failure(
            attempt(), payload={"id": 1}, render=RENDER, retry_unchanged=False,
            lease=stale,
        )  # fmt: skip
    with pytest.raises(LeaseLostError):
        ledger.advance_checkpoint("shop-a", T0, lease=stale)
    with pytest.raises(LeaseLostError):
        ledger.renew_lease(stale, duration=minute)
    assert ledger.failure("shop-a", "5500000000000") is None
    assert ledger.checkpoint("shop-a") is None and ledger.outbox_counts() == (0, 0)
    fresh = ledger.renew_lease(fresh, duration=minute, now=T0 + timedelta(minutes=2, seconds=30))
    ledger.advance_checkpoint("shop-a", T0, lease=fresh)
    assert ledger.checkpoint("shop-a") == T0


def test_every_write_of_a_stale_worker_is_refused_and_a_fresh_one_reads_what_it_guards(
    ledger: Ledger,
) -> None:
    from pipeline.errors import LeaseLostError
    from pipeline.ledger import WaitingOrder

    stale = _failed_under_a_lease(ledger)
    fresh = ledger.acquire_lease("shop-a", "w2", duration=timedelta(minutes=1),
                                 now=T0 + timedelta(minutes=2))  # fmt: skip
    assert isinstance(fresh, Lease)
    order, raw = _shopify_order(5500000000000)
    waiting = WaitingOrder("shop-a", "77", "shopify", "#77", T0, "pending", "financial_status")
    with pytest.raises(LeaseLostError):
        ledger.store_orders([(order, raw)], render=RENDER, lease=stale)
    with pytest.raises(LeaseLostError):
        ledger.keep_waiting(waiting, lease=stale)
    assert ledger.count_orders("shop-a") == 0 and ledger.due_waiting("shop-a") == []
    assert not ledger.record_failure(
        attempt(), payload={"id": 1}, render=RENDER, retry_unchanged=False, lease=fresh
    ), "the fenced read found the failure already counted"
    assert ledger.keep_waiting(waiting, lease=fresh)
    assert not ledger.keep_waiting(waiting, lease=fresh), "the fenced read found it waiting"
    assert ledger.store_orders([(order, raw)], render=RENDER, lease=fresh) == {order.order_id}
    assert ledger.failures("shop-a") == [], "the fenced read found the failure and resolved it"


def test_a_takeover_waits_until_the_write_in_progress_under_the_old_lease_ends(
    ledger: Ledger,
) -> None:
    import threading
    import time

    minute = timedelta(minutes=1)
    held = _failed_under_a_lease(ledger)
    inside = threading.Event()

    def slow_render(*args, **kwargs):  # type: ignore[no-untyped-def]
        inside.set()
        time.sleep(0.5)  # the window in which a takeover must not get through
        return RENDER(*args, **kwargs)

    order, raw = _shopify_order(5500000000000)
    writer = threading.Thread(
        target=lambda: ledger.store_orders([(order, raw)], render=slow_render, lease=held)
    )
    writer.start()
    assert inside.wait(10)
    taken = ledger.acquire_lease("shop-a", "w2", duration=minute, now=T0 + timedelta(minutes=2))
    stored_when_taken = ledger.count_orders("shop-a")
    writer.join(10)
    assert isinstance(taken, Lease)
    assert stored_when_taken == 1, "the shop was taken over before the old holder's write ended"


def _failed_under_a_lease(ledger: Ledger) -> Lease:
    """w1 holds shop-a for a minute from T0 and recorded a failure of order 5500000000000."""
    held = ledger.acquire_lease("shop-a", "w1", duration=timedelta(minutes=1), now=T0)
    assert isinstance(held, Lease)
    ledger.record_failure(attempt(), payload={"id": 1}, render=RENDER, retry_unchanged=False,
                          lease=held)  # fmt: skip
    return held


def _shopify_order(order_id: int):  # type: ignore[no-untyped-def]
    catalog = OrderCatalog()
    sim = ShopifySimulator(catalog)
    raw = {**sim.render(catalog.add(T0)), "id": order_id}
    sim.stop()
    return to_order(Platform.SHOPIFY, "shop-a", raw), raw


def test_several_shops_are_asked_for_at_once_each_answered_as_alone(ledger: Ledger) -> None:
    minute = timedelta(minutes=1)
    assert isinstance(ledger.acquire_lease("b", "w2", duration=minute, now=T0), Lease)
    answers = ledger.acquire_leases(["a", "b", "c", "a"], "w1", duration=minute, now=T0)
    assert sorted(answers) == ["a", "b", "c"]
    assert isinstance(answers["a"], Lease) and isinstance(answers["c"], Lease)
    assert answers["b"] == HeldElsewhere("b", T0 + minute)
    later = T0 + timedelta(minutes=2)
    again = ledger.acquire_leases(["a", "b"], "w1", duration=minute, now=later)
    assert all(isinstance(lease, Lease) for lease in again.values()), "b lapsed: taken"


def test_a_heartbeat_renews_every_lease_still_held_in_one_go(ledger: Ledger) -> None:
    minute = timedelta(minutes=1)
    held = [ledger.acquire_lease(shop, "w1", duration=minute, now=T0) for shop in ("a", "b", "c")]
    assert all(isinstance(lease, Lease) for lease in held)
    later = T0 + timedelta(minutes=2)  # all three lapsed; "b" is taken over
    assert isinstance(ledger.acquire_lease("b", "w2", duration=minute, now=later), Lease)
    renewed = ledger.renew_leases(held, duration=minute, now=later)  # type: ignore[arg-type]
    assert [(lease.shop, lease.expires_at) for lease in renewed] == [
        ("a", later + minute), ("c", later + minute)
    ]  # fmt: skip
    assert isinstance(ledger.acquire_lease("a", "w2", duration=minute, now=later), HeldElsewhere)


# -- migrations ------------------------------------------------------------------------------

FIRST_LAYOUT = """
CREATE TABLE orders (shop TEXT NOT NULL, order_id TEXT NOT NULL, version INTEGER NOT NULL,
  platform TEXT NOT NULL, name TEXT NOT NULL, created_at TEXT NOT NULL, status TEXT NOT NULL,
  tags TEXT NOT NULL, payload TEXT NOT NULL, imported_at TEXT NOT NULL,
  PRIMARY KEY (shop, order_id, version));
CREATE INDEX orders_by_created ON orders (shop, created_at);
CREATE TABLE failures (shop TEXT NOT NULL, order_id TEXT NOT NULL, platform TEXT NOT NULL,
  name TEXT NOT NULL, order_created_at TEXT NOT NULL, first_attempt_at TEXT NOT NULL,
  last_attempt_at TEXT NOT NULL, attempts INTEGER NOT NULL, error_code TEXT NOT NULL,
  last_error TEXT NOT NULL, payload TEXT, payload_hash TEXT, attempt TEXT NOT NULL,
  doc_version INTEGER NOT NULL, resolved_at TEXT, PRIMARY KEY (shop, order_id));
CREATE TABLE checkpoints (shop TEXT PRIMARY KEY, window_end TEXT NOT NULL,
  updated_at TEXT NOT NULL);
CREATE TABLE attempts (shop TEXT NOT NULL, order_id TEXT NOT NULL, attempted_at TEXT NOT NULL,
  error_code TEXT NOT NULL, error TEXT NOT NULL);
CREATE INDEX attempts_by_order ON attempts (shop, order_id);
CREATE TABLE reconciliations (id INTEGER PRIMARY KEY AUTOINCREMENT, shop TEXT NOT NULL,
  window_start TEXT NOT NULL, window_end TEXT NOT NULL, ran_at TEXT NOT NULL,
  report TEXT NOT NULL);
CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, document_id TEXT NOT NULL,
  document TEXT NOT NULL, queued_at TEXT NOT NULL, tries INTEGER NOT NULL DEFAULT 0,
  last_error TEXT, dead INTEGER NOT NULL DEFAULT 0);
"""


def test_a_ledger_of_the_first_layout_is_migrated_in_place(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A ledger written by loginsights before migrations existed keeps every row."""
    import sqlite3

    from pipeline.ledger.migrations import current_revision, head_revision

    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(FIRST_LAYOUT)
    failed = attempt()
    old.execute(
        "INSERT INTO orders VALUES ('shop-a','1',1,'shopify','#1',?,'created','[]','{}',?)",
        (T0.isoformat(), T0.isoformat()),
    )
    old.execute(
        "INSERT INTO failures VALUES ('shop-a','5500000000000','shopify','#1001',?,?,?,2,"
        "'missing_address','no address','{}','h',?,1700000000000000,NULL)",
        (T0.isoformat(), T0.isoformat(), T0.isoformat(), failed.model_dump_json()),
    )
    old.execute("INSERT INTO checkpoints VALUES ('shop-a', ?, ?)", (T0.isoformat(),) * 2)
    old.execute("INSERT INTO outbox (document_id, document, queued_at) VALUES ('d','{}','t')")
    old.commit()
    old.close()

    with Ledger(path) as migrated:
        assert current_revision(migrated.engine) == head_revision()
        assert migrated.order_ids("shop-a") == {"1"}
        failure = migrated.failure("shop-a", "5500000000000")
        assert failure is not None and failure.attempts == 2
        assert migrated.checkpoint("shop-a") == T0
        assert migrated.outbox_counts() == (1, 0)
        assert migrated.leases() == [], "the new table is there, empty"


def _drop_connections(url: str) -> None:
    """What a PostgreSQL restart does to every pooled connection of the ledger."""
    from sqlalchemy import create_engine, text

    admin = create_engine(url)
    with admin.connect() as db:
        db.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ))  # fmt: skip
    admin.dispose()


def test_a_dropped_postgresql_connection_is_retried_for_reads_and_retry_later_for_writes(
    postgres_url: str,
) -> None:
    """No ping before every checkout: a connection PostgreSQL dropped (a restart, a network
    blip) is read through again at once, and costs a write one RetryLaterError (the pass is
    redone), never a stopped worker."""
    from pipeline.errors import LedgerUnavailableError, RetryLaterError

    empty_postgres_ledger(postgres_url)
    with Ledger(postgres_url, pool_size=1) as ledger:
        ledger.advance_checkpoint("shop-a", datetime(2026, 12, 1, tzinfo=UTC))
        _drop_connections(postgres_url)
        assert ledger.checkpoint("shop-a") == datetime(2026, 12, 1, tzinfo=UTC), "read again"
        _drop_connections(postgres_url)
        with pytest.raises(LedgerUnavailableError) as dropped:
            ledger.advance_checkpoint("shop-a", datetime(2026, 12, 2, tzinfo=UTC))
        assert isinstance(dropped.value, RetryLaterError)
        ledger.advance_checkpoint("shop-a", datetime(2026, 12, 2, tzinfo=UTC))
        assert ledger.checkpoint("shop-a") == datetime(2026, 12, 2, tzinfo=UTC)
