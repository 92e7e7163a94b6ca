"""A process's hold on its shops: kept between passes, renewed by a heartbeat, let go in turn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.holdings import REST_SHARE, ShopHoldings
from pipeline.ledger import HeldElsewhere, Lease, Ledger

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
LEASE = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def holdings(ledger: Ledger, worker: str, clock: Clock, keep: float = 600.0) -> ShopHoldings:
    return ShopHoldings(ledger, worker, lease_seconds=LEASE, keep_seconds=keep, clock=clock)


def test_a_held_shop_is_worked_pass_after_pass_without_asking_the_ledger(ledger: Ledger) -> None:
    clock = Clock()
    mine = holdings(ledger, "w1", clock)
    first = mine.take("a")
    assert isinstance(first, Lease)
    mine.done("a", first)
    clock.advance(5)
    assert mine.take("a") == first, "still fresh: the same lease, no statement"


def test_a_refused_worker_asks_again_just_after_the_holders_lease_lapses(ledger: Ledger) -> None:
    clock = Clock()
    mine, theirs = holdings(ledger, "w1", clock), holdings(ledger, "w2", clock)
    held = mine.take("a")
    assert isinstance(held, Lease)
    clock.advance(10)
    refused = theirs.take("a")
    assert refused == HeldElsewhere("a", T0 + timedelta(seconds=LEASE))
    assert 20 <= theirs.wait_seconds(refused) <= 21, "asked again when it could lapse, not later"
    clock.advance(theirs.wait_seconds(refused))  # w1 died: nothing renewed it
    taken = theirs.take("a")
    assert isinstance(taken, Lease) and taken.token > held.token


def test_the_heartbeat_keeps_every_held_lease_alive_in_one_statement(ledger: Ledger) -> None:
    clock = Clock()
    mine, theirs = holdings(ledger, "w1", clock), holdings(ledger, "w2", clock)
    for shop in ("a", "b"):
        lease = mine.take(shop)
        assert isinstance(lease, Lease)
        mine.done(shop, lease)
    for _ in range(4):  # two lease periods, renewed every quarter
        clock.advance(LEASE / 4)
        mine.heartbeat()
    assert isinstance(theirs.take("a"), HeldElsewhere)
    assert isinstance(theirs.take("b"), HeldElsewhere)
    clock.advance(LEASE + 1)  # no heartbeat: w1 hangs
    assert isinstance(theirs.take("b"), Lease)
    mine.heartbeat()
    assert isinstance(mine.take("b"), HeldElsewhere), "a lease taken over is forgotten"


def test_a_shop_let_go_goes_to_the_worker_that_was_waiting_for_it(ledger: Ledger) -> None:
    clock = Clock()
    mine, theirs = holdings(ledger, "w1", clock, keep=0.0), holdings(ledger, "w2", clock)
    held = mine.take("a")
    assert isinstance(held, Lease)
    mine.done("a", held)
    refused = theirs.take("a")
    assert isinstance(refused, HeldElsewhere)
    asks_at = theirs.wait_seconds(refused)
    mine.heartbeat()  # kept long enough: not renewed any more
    assert mine.take("a") == held, "worked until its lease is nearly over"
    mine.done("a", held)
    clock.advance(LEASE - 0.5)
    rest = mine.take("a")
    assert isinstance(rest, HeldElsewhere) and rest.until > held.expires_at
    clock.advance(asks_at - (LEASE - 0.5))
    assert isinstance(theirs.take("a"), Lease), "the waiting worker takes it"
    clock.advance(LEASE * REST_SHARE)
    assert isinstance(mine.take("a"), HeldElsewhere)


def test_a_worker_alone_takes_the_shop_it_let_go_straight_back(ledger: Ledger) -> None:
    clock = Clock()
    mine = holdings(ledger, "w1", clock, keep=0.0)
    held = mine.take("a")
    assert isinstance(held, Lease)
    mine.done("a", held)
    clock.advance(LEASE)
    rest = mine.take("a")
    assert isinstance(rest, HeldElsewhere)
    assert mine.wait_seconds(rest) <= LEASE * REST_SHARE + 1
    clock.advance(mine.wait_seconds(rest))
    again = mine.take("a")
    assert isinstance(again, Lease) and again.token > held.token


def test_stopping_releases_every_shop_for_the_others(ledger: Ledger) -> None:
    clock = Clock()
    mine, theirs = holdings(ledger, "w1", clock).start(), holdings(ledger, "w2", clock)
    lease = mine.take("a")
    mine.done("a", lease if isinstance(lease, Lease) else None)
    mine.let_go()
    assert isinstance(theirs.take("a"), Lease)
