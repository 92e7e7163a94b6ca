"""A process's hold on its shops: kept between passes, renewed by a heartbeat, let go in turn."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import empty_postgres_ledger, wait_for

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


# -- fair share: each live worker holds its part of the fleet -----------------------------------


def test_shares_are_shops_over_workers_the_first_by_name_one_more() -> None:
    from pipeline.shares import fair_share

    assert [fair_share(10, ["w1", "w2", "w3"], w) for w in ("w1", "w2", "w3")] == [4, 3, 3]
    assert fair_share(30, ["w1"], "w2") == 15, "a worker counts itself before it is seen"
    assert sum(fair_share(1000, [f"w{n}" for n in range(7)], f"w{n}") for n in range(7)) == 1000


def test_a_worker_that_joins_is_seen_and_the_others_hand_over_its_share(ledger: Ledger) -> None:
    clock = Clock()
    shops = [f"s{n}" for n in range(6)]
    first = ShopHoldings(ledger, "w1", lease_seconds=LEASE, clock=clock, shops_total=6)
    second = ShopHoldings(ledger, "w2", lease_seconds=LEASE, clock=clock, shops_total=6)
    first.start()
    try:
        taken = first.take_all(shops)
        assert all(isinstance(v, Lease) for v in taken.values()), "alone: every shop"
        for shop, lease in taken.items():
            first.done(shop, lease)  # type: ignore[arg-type]
        second.start()  # present before it holds anything: its share is already 3
        assert second.target == 3 and [r["worker"] for r in ledger.live_workers(now=clock.now)] \
            == ["w1", "w2"]  # fmt: skip
        assert not any(isinstance(v, Lease) for v in second.take_all(shops).values())
        clock.advance(LEASE / 4)
        first.heartbeat()  # sees w2: over its share by 3, lets them go now
        assert first.target == 3
        held = {row["shop"] for row in ledger.leases(now=clock.now) if row["worker"] == "w1"}
        assert len(held) == 3
        freed = [shop for shop in shops if shop not in held]
        mine = second.take_all(freed)
        assert all(isinstance(v, Lease) for v in mine.values()), "the freed shops, at once"
        again = first.take_all(freed)
        assert not any(isinstance(v, Lease) for v in again.values()), "never straight back"
        for shop, lease in mine.items():
            second.done(shop, lease)  # type: ignore[arg-type]
        for _ in range(12):  # three lease periods of heartbeats: the shares hold, nothing flaps
            clock.advance(LEASE / 4)
            first.heartbeat()
            second.heartbeat()
        holders = [r["worker"] for r in ledger.leases(now=clock.now)]
        assert (holders.count("w1"), holders.count("w2")) == (3, 3)
        first.let_go()
        assert [r["worker"] for r in ledger.live_workers(now=clock.now)] == ["w2"], "gone at once"
        second.heartbeat()
        assert second.target == 6, "the one left takes the whole fleet as its share"
    finally:
        first.let_go()
        second.let_go()


def test_a_worker_whose_share_grows_asks_at_once_for_the_shops_it_let_go(ledger: Ledger) -> None:
    """Shops handed over rest for a lease period (nothing flaps), but not once the worker they
    went to is gone: the one left wants them back now, not a lease later."""
    clock = Clock()
    shops = ["s0", "s1"]
    first = ShopHoldings(ledger, "w1", lease_seconds=LEASE, clock=clock, shops_total=2).start()
    second = ShopHoldings(ledger, "w2", lease_seconds=LEASE, clock=clock, shops_total=2)
    try:
        for shop, lease in first.take_all(shops).items():
            first.done(shop, lease)  # type: ignore[arg-type]
        second.start()
        first.heartbeat()  # over its share of 1: lets one go, which rests here
        (freed,) = [shop for shop in shops if isinstance(second.take(shop), Lease)]
        assert isinstance(first.take(freed), HeldElsewhere)
        second.let_go()
        first.heartbeat()
        assert first.target == 2
        assert isinstance(first.take(freed), Lease), "asked for again at once"
    finally:
        first.let_go()
        second.let_go()


def test_workers_of_other_shops_do_not_shrink_a_share(ledger: Ledger) -> None:
    """A `run --shop big1 --shop big2` apart from a fleet of the other shops holds both of its
    shops: shares are counted among the workers that work the same shops."""
    from pipeline.shares import shops_key

    clock = Clock()
    big, rest = ["big1", "big2"], [f"s{n}" for n in range(6)]
    apart = ShopHoldings(ledger, "apart", lease_seconds=LEASE, clock=clock, shops_total=2,
                         shops_key=shops_key(big))  # fmt: skip
    fleet = [ShopHoldings(ledger, name, lease_seconds=LEASE, clock=clock, shops_total=6,
                          shops_key=shops_key(rest)) for name in ("w1", "w2")]  # fmt: skip
    try:
        for worker in (*fleet, apart):
            worker.start()
        for worker in fleet:
            worker.heartbeat()
        assert apart.target == 2 and [w.target for w in fleet] == [3, 3]
        assert all(isinstance(v, Lease) for v in apart.take_all(big).values())
    finally:
        for worker in (apart, *fleet):
            worker.let_go()


def test_a_shop_nobody_takes_for_a_lease_is_rescued_beyond_the_share_and_kept(
    ledger: Ledger,
) -> None:
    """Shares can be wrong (a worker that says it works these shops but does not ask): a shop
    left free for a whole lease period is taken anyway, and not let go as over the share."""
    clock = Clock()
    mine = ShopHoldings(ledger, "w1", lease_seconds=LEASE, clock=clock, shops_total=2)
    silent = ShopHoldings(ledger, "w2", lease_seconds=LEASE, clock=clock, shops_total=2)
    try:
        mine.start()
        silent.start()  # present, so w1's share is 1; but it never asks for a shop
        mine.heartbeat()
        assert mine.target == 1
        first = mine.take_all(["a", "b"])
        assert isinstance(first["a"], Lease) and isinstance(first["b"], HeldElsewhere)
        mine.done("a", first["a"])  # type: ignore[arg-type]
        clock.advance(LEASE)  # not looked at meanwhile: free since the look now, not before
        assert isinstance(mine.take("b"), HeldElsewhere), "seen free once: deferred"
        for _ in range(3):  # looked at as the runner does, every quarter lease
            clock.advance(LEASE / 4)
            assert isinstance(mine.take("b"), HeldElsewhere), "free for less than a lease"
        clock.advance(LEASE / 4)
        rescued = mine.take("b")
        assert isinstance(rescued, Lease), "free for a lease: taken beyond the share"
        mine.done("b", rescued)
        for _ in range(8):  # two lease periods of heartbeats: kept, not let go as excess
            clock.advance(LEASE / 4)
            silent.heartbeat()
            mine.heartbeat()
        assert sorted(r["shop"] for r in ledger.leases(now=clock.now)) == ["a", "b"]
    finally:
        mine.let_go()
        silent.let_go()


class ProcessCrews:
    """`run` crews as processes over one PostgreSQL ledger (``tests/fair_share_worker.py``),
    each over the same shops; what the ledger says each holds."""

    def __init__(
        self, url: str, log: Path, *, shops: int, lease: float, bell: bool, life: bool = False
    ) -> None:
        self.url, self.log, self.shops, self.lease = url, log, shops, lease
        self.flags = [*(["bell"] if bell else []), *(["life"] if life else [])]
        self.ledger = Ledger(url)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> None:
        script = Path(__file__).with_name("fair_share_worker.py")
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        with self.log.with_name(f"{name}.stderr").open("ab") as stderr:  # a pipe fills, blocks
            self.processes[name] = subprocess.Popen(
                [sys.executable, str(script), self.url, name, str(self.shops), str(self.lease),
                 str(self.log), *self.flags],
                env=env, stderr=stderr,
            )  # fmt: skip

    def signal(self, name: str, number: int) -> None:
        self.processes[name].send_signal(number)

    def held(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.ledger.leases(now=datetime.now(UTC)):
            counts[row["worker"]] = counts.get(row["worker"], 0) + 1
        return counts

    def settled(self, workers: list[str], low: int, high: int) -> bool:
        counts = self.held()
        return sum(counts.values()) == self.shops and all(
            low <= counts.get(w, 0) <= high for w in workers
        )

    def seconds_to_settle(self, workers: list[str], low: int, high: int) -> float:
        """From now until every shop is held, each of ``workers`` holding ``low`` to ``high``."""
        began = time.monotonic()
        assert wait_for(lambda: self.settled(workers, low, high), seconds=20, interval=0.1), (
            self.held()
        )
        return time.monotonic() - began

    def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            process.wait(timeout=30)
        self.ledger.close()


def test_a_fleet_on_postgresql_settles_on_fair_shares_through_a_join_and_a_kill(
    postgres_url: str, tmp_path: Path
) -> None:
    """Three `run` crews over 30 shops settle within ±20 % of 10 each within a lease period of
    the last joining; a fourth takes its share; one SIGKILLed gives its shops to the others
    within a lease period of its lapse; no shop is ever worked by two at once."""
    empty_postgres_ledger(postgres_url)
    lease, log = 3.0, tmp_path / "passes.log"
    crews = ProcessCrews(postgres_url, log, shops=30, lease=lease, bell=False)
    try:
        for name in ("w1", "w2", "w3"):
            crews.start(name)
            time.sleep(1.0)
        took = crews.seconds_to_settle(["w1", "w2", "w3"], 8, 12)
        print(f"three settled {took:.2f} s after the last joined: {crews.held()}")
        assert took <= lease * 1.5, f"settled {took:.1f} s after the last joined (lease {lease} s)"

        crews.start("w4")
        took = crews.seconds_to_settle(["w1", "w2", "w3", "w4"], 6, 9)
        print(f"the fourth's share {took:.2f} s after it joined: {crews.held()}")
        assert took <= lease * 1.5 + 1, f"the fourth's share took {took:.1f} s"

        crews.signal("w1", signal.SIGKILL)
        took = crews.seconds_to_settle(["w2", "w3", "w4"], 8, 12)
        print(f"a killed worker's shops moved in {took:.2f} s: {crews.held()}")
        assert took <= lease * 2.5, f"a killed worker's shops moved in {took:.1f} s"
    finally:
        crews.close()
    assert_never_worked_by_two_at_once(log)


def assert_never_worked_by_two_at_once(log: Path) -> None:
    passes: dict[str, list[tuple[float, float, str]]] = {}
    for line in log.read_text().splitlines():
        shop, worker, began, ended = line.split()
        passes.setdefault(shop, []).append((float(began), float(ended), worker))
    for shop, spans in passes.items():
        spans.sort()
        for (_, end, worker), (begin, _, other) in zip(spans, spans[1:], strict=False):
            assert worker == other or begin >= end, f"{shop} worked by {worker} and {other} at once"


def test_with_the_shares_bell_a_join_and_a_stop_move_the_shops_in_a_moment_not_a_lease(
    postgres_url: str, tmp_path: Path
) -> None:
    """On PostgreSQL the workers ring each other: a worker that joins gets its share, and a
    worker that stops gives its shops away, well before a heartbeat (a quarter of the lease)
    would have told anyone; without the bell the taker waits for the leases it was refused."""
    empty_postgres_ledger(postgres_url)
    lease, shops = 20.0, 20
    crews = ProcessCrews(postgres_url, tmp_path / "passes.log", shops=shops, lease=lease,
                         bell=True)  # fmt: skip
    try:
        crews.start("w1")
        assert wait_for(lambda: crews.held() == {"w1": shops}, seconds=30, interval=0.1)
        crews.start("w2")
        assert wait_for(lambda: len(crews.ledger.live_workers(now=datetime.now(UTC))) == 2,
                        seconds=30, interval=0.02)  # fmt: skip
        joined = time.monotonic()
        assert wait_for(lambda: crews.held() == {"w1": 10, "w2": 10}, seconds=30,
                        interval=0.05), crews.held()  # fmt: skip
        took = time.monotonic() - joined
        print(f"the second's share {took:.2f} s after it was present: {crews.held()}")
        assert took < lease / 8, f"the join took {took:.1f} s: the bell did not move the shares"

        crews.signal("w1", signal.SIGTERM)
        stopped = time.monotonic()
        assert wait_for(lambda: crews.held() == {"w2": shops}, seconds=30, interval=0.05)
        took = time.monotonic() - stopped
        print(f"a stopping worker's shops held by the other {took:.2f} s later")
        assert took < lease / 8, f"the stop took {took:.1f} s: the bell did not move the shops"
    finally:
        crews.close()


def test_a_killed_workers_shops_move_at_the_next_heartbeat_by_its_life_lock_not_a_lease_later(
    postgres_url: str, tmp_path: Path
) -> None:
    """A SIGKILLed `run`'s session ends with it, and its life lock with the session: the other
    worker frees and takes its shops at its next heartbeat (a quarter of a lease), long before
    the dead worker's leases would have lapsed; no shop is worked by two at once."""
    empty_postgres_ledger(postgres_url)
    lease, shops, log = 20.0, 20, tmp_path / "passes.log"
    crews = ProcessCrews(postgres_url, log, shops=shops, lease=lease, bell=True, life=True)
    try:
        crews.start("w1")
        crews.start("w2")
        crews.seconds_to_settle(["w1", "w2"], 10, 10)
        lapse = max(row["expires_at"] for row in crews.ledger.leases(now=datetime.now(UTC))
                    if row["worker"] == "w1")  # fmt: skip
        crews.signal("w1", signal.SIGKILL)
        killed = time.monotonic()
        assert wait_for(lambda: crews.held() == {"w2": shops}, seconds=30, interval=0.05)
        took, moved_at = time.monotonic() - killed, datetime.now(UTC)
        print(f"a killed worker's shops held by the other {took:.2f} s later")
        assert moved_at < datetime.fromisoformat(lapse), "before its leases would have lapsed"
        assert took < lease / 2, f"the killed worker's shops moved in {took:.1f} s"
    finally:
        crews.close()
    assert_never_worked_by_two_at_once(log)


def test_workers_shows_each_live_worker_with_its_share_and_load(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from pipeline.cli import main

    path = tmp_path / "ledger.sqlite3"
    with Ledger(path) as ledger:
        crew = [ShopHoldings(ledger, name, lease_seconds=LEASE, clock=lambda: datetime.now(UTC),
                             shops_total=5) for name in ("w1", "w2")]  # fmt: skip
        try:
            for worker in crew:
                worker.start()
            crew[0].heartbeat()  # sees w2: its share is now 3 (the first by name gets one more)
            crew[0].take_all(["a", "b", "c"])
            crew[1].take_all(["d", "e"])
            env = {
                "LOGINSIGHTS_LEDGER_PATH": str(path),
                "LOGINSIGHTS_STATE_DIR": str(tmp_path),
                "LOGINSIGHTS_SHOPS_FILE": str(tmp_path / "none.toml"),
                "COLUMNS": "160",
            }
            by_worker = CliRunner().invoke(main, ["workers", "--json", "--by-worker"], env=env)
            table = CliRunner().invoke(main, ["workers"], env=env)  # fmt: skip
        finally:
            for worker in crew:
                worker.let_go()
    rows = {row["worker"]: row for row in json.loads(by_worker.output)}
    assert (rows["w1"]["shopsHeld"], rows["w1"]["share"]) == (3, 3)
    assert (rows["w2"]["shopsHeld"], rows["w2"]["share"]) == (2, 2)
    assert "fair share" in table.output and "of a core" in table.output
    assert not rows["w1"]["lifeLock"] and "seen when its leases lapse" in table.output, "SQLite"


def test_workers_says_which_worker_is_seen_dead_at_once_by_its_life_lock(
    postgres_url: str, tmp_path: Path
) -> None:
    import json

    from click.testing import CliRunner

    from pipeline.cli import main
    from pipeline.life_lock import LifeLock

    empty_postgres_ledger(postgres_url)
    with Ledger(postgres_url) as ledger:
        locked = ShopHoldings(ledger, "w1", lease_seconds=LEASE, clock=lambda: datetime.now(UTC),
                              shops_total=2, life=LifeLock(ledger.url)).start()  # fmt: skip
        plain = ShopHoldings(ledger, "w2", lease_seconds=LEASE, clock=lambda: datetime.now(UTC),
                             shops_total=2).start()  # fmt: skip
        try:
            env = {
                "LOGINSIGHTS_LEDGER_URL": postgres_url,
                "LOGINSIGHTS_STATE_DIR": str(tmp_path),
                "LOGINSIGHTS_SHOPS_FILE": str(tmp_path / "none.toml"),
                "COLUMNS": "200",
            }
            by_worker = CliRunner().invoke(main, ["workers", "--json", "--by-worker"], env=env)
            table = CliRunner().invoke(main, ["workers"], env=env)
        finally:
            locked.let_go()
            plain.let_go()
    rows = {row["worker"]: row for row in json.loads(by_worker.output)}
    assert rows["w1"]["lifeLock"] and not rows["w2"]["lifeLock"]
    assert "seen at once (life lock)" in table.output, table.output
