"""Which shops one ``run`` process holds, and for how long: the runner's side of the leases.

A shop's lease (``pipeline.ledger.leases``) is kept from one pass to the next, and a heartbeat
thread renews every lease the process holds in one statement, a quarter of a lease period
apart; so a lease can be short (a killed worker's shops are free after ``lease_seconds``) while
costing nothing per pass. A worker that is refused a shop learns until when its holder has it
and asks again just after that, not sooner.

Each live worker holds its fair share of the shops. Its heartbeat is also its presence in the
ledger (``worker_presence``), written before it holds anything; from the live workers, ordered by
name, each computes the same shares (shops ÷ workers, the first ``shops mod workers`` one more).
A worker above its share lets the excess go at once (a shop in a pass, when the pass ends) and
does not ask for them again for a lease period; a worker below its share asks for free shops, and
one at its share asks for none. So a worker that joins, leaves or dies moves the shares within a
lease period, and nothing flaps: a share changes only when the set of live workers does.

On PostgreSQL a worker that joins, stops or hands shops over also rings the shares bell
(``pipeline.notice_bell``): the others work out their shares at once and ask for the shops let
go, so a handover takes a moment, not a heartbeat plus a lease. A worker that dies is seen at
the others' next heartbeat by its life lock (``pipeline.life_lock``), which frees its shops;
without one (SQLite) its shops wait for its leases to lapse.

``keep_seconds`` (off by default) also lets a shop go after that long, to rotate shops.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from pipeline.errors import LeaseLostError, RetryLaterError, SkipError, StopError
from pipeline.ledger import HeldElsewhere, Lease, Ledger, WorkerPresence
from pipeline.life_lock import LifeLock
from pipeline.notice_bell import NoticeBell
from pipeline.shares import FreeSince, fair_share
from pipeline.windows import Clock
from pipeline.worker_load import WorkerLoad

log = logging.getLogger(__name__)

REST_SHARE = 0.1  # of a lease: how much later than the others a worker asks for a shop it let go
ASK_MARGIN_SECONDS = 0.2  # after a holder's lease lapses, before asking for the shop
LAST_PASS_BEFORE = timedelta(seconds=1)  # a shop let go is worked until its lease is this near
BELL_START_SECONDS = 5.0  # at most, for the shares bell to listen before the worker is present


@dataclass
class _Hold:
    lease: Lease
    since: float  # monotonic: when this worker took the shop
    running: bool = False
    leaving: bool = False  # over this worker's share: let go when its pass ends
    rescued: bool = False  # free for a lease with nobody taking it: held beyond the share


class ShopHoldings:
    """The leases one process holds; thread-safe (passes, the loop and the heartbeat use it)."""

    def __init__(
        self,
        ledger: Ledger,
        worker: str,
        *,
        lease_seconds: float,
        keep_seconds: float = math.inf,
        clock: Clock,
        shops_total: int = 0,
        shops_key: str = "",
        bell: NoticeBell | None = None,
        life: LifeLock | None = None,
    ) -> None:
        self.ledger, self.worker, self.clock = ledger, worker, clock
        self.bell = bell  # the shares bell: another worker joined, left or let shops go
        self.life = life  # held while this process lives: the others see at once that it died
        self.rings = 0  # how often it rang: the runner asks again for shops refused
        self.duration = timedelta(seconds=lease_seconds)
        self.keep_seconds = keep_seconds
        self.shops_total = shops_total  # 0: no share (a worker alone, tests)
        self.shops_key = shops_key
        self._free_since = FreeSince(self.duration)  # shops beyond the share seen free
        self._free_read: tuple[float, set[str]] = (-math.inf, set())  # (monotonic, held)
        self.target: int | None = None  # this worker's share, as of its last heartbeat
        self._live_seen: set[str] = set()  # the live workers as of the last heartbeat
        self.started_at: datetime | None = None  # set by start()
        self.load = WorkerLoad()
        self._holds: dict[str, _Hold] = {}
        self._resting: dict[str, datetime] = {}  # shops let go: not asked for until then
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(target=self._beat, name="leases", daemon=True)

    def start(self) -> ShopHoldings:
        """Present in the ledger (with a share) before holding anything, then the heartbeat."""
        if self.bell is not None:  # listening before the others hear of this worker
            self.bell.start().listening(timeout=BELL_START_SECONDS)
        if self.life is not None:  # held before the presence says so
            self.life.hold(self.worker)
        now = self.clock()
        self.started_at = self.started_at or now
        self._present(now)
        self._ring()
        self._heartbeat.start()
        return self

    def counted(self, *, notices: bool) -> None:
        """A pass began (for the worker's load: passes and notice passes a minute)."""
        self.load.counted(notices=notices)

    def take(self, shop: str) -> Lease | HeldElsewhere:
        return self.take_all([shop])[shop]

    def take_all(self, shops: Sequence[str]) -> dict[str, Lease | HeldElsewhere]:
        """Each shop's lease for a pass: the one held already (no statement while the heartbeat
        keeps it fresh), else a new one if nobody holds the shop: the shops held by nobody
        known here are asked for in one statement."""
        now = self.clock()
        answers: dict[str, Lease | HeldElsewhere] = {}
        ask: list[str] = []
        for shop in shops:
            with self._lock:
                hold = self._holds.get(shop)
                resting = self._resting.get(shop)
            if resting is not None and now < resting:
                answers[shop] = HeldElsewhere(shop, resting)
            elif hold is None:
                ask.append(shop)
            else:
                kept = self._kept(shop, hold, now)
                if kept is None:
                    ask.append(shop)
                else:
                    answers[shop] = kept
        ask, later, rescue = self._within_share(ask)
        answers.update({shop: HeldElsewhere(shop, now + self.duration / 4) for shop in later})
        if not ask:
            return answers
        try:
            taken = self.ledger.acquire_leases(ask, self.worker, duration=self.duration, now=now)
        except (RetryLaterError, SkipError) as err:
            return {**answers, **{shop: self._cannot(shop, err) for shop in ask}}
        for shop, lease in taken.items():
            if isinstance(lease, Lease):
                with self._lock:
                    self._resting.pop(shop, None)
                self._free_since.forget(shop)
                if shop in rescue:
                    log.warning("%s: free for a lease with no worker taking it; worked here "
                                "beyond this worker's share", shop)  # fmt: skip
                hold = _Hold(lease, time.monotonic(), rescued=shop in rescue)
                answers[shop] = self._running(shop, hold)
            else:
                answers[shop] = lease
        return answers

    def _within_share(self, ask: list[str]) -> tuple[list[str], list[str], set[str]]:
        """The shops this worker may ask for, the others (asked for again later, should the
        share grow), and those of the first asked for beyond the share (rescued): a shop left
        free for a whole lease period. Shares count the workers with the same shops, but a
        worker elsewhere may work other shops than it says, and no shop goes unworked."""
        if self.target is None or not self.shops_total:
            return ask, [], set()
        with self._lock:
            held = sum(1 for h in self._holds.values() if not (h.leaving or h.rescued))
        room = max(0, self.target - held)
        if room >= len(ask):
            return ask, [], set()
        taken = self._held_anywhere(fresh=room > 0)
        ask = sorted(ask, key=lambda shop: shop in taken)  # free shops first: just handed over
        rescue = self._free_since.free_for_a_lease(ask[room:], taken, now=self.clock())
        later = [shop for shop in ask[room:] if shop not in rescue]
        return ask[:room] + rescue, later, set(rescue)

    def _held_anywhere(self, *, fresh: bool) -> set[str]:
        """The shops some worker holds now; read again at most every quarter lease unless
        ``fresh`` (this worker has room, and which shops are free decides what it asks for)."""
        read_at, held = self._free_read
        if fresh or time.monotonic() - read_at > self.duration.total_seconds() / 4:
            held = {row["shop"] for row in self.ledger.leases(now=self.clock())}
            self._free_read = (time.monotonic(), held)
        return held

    def _kept(self, shop: str, hold: _Hold, now: datetime) -> Lease | HeldElsewhere | None:
        """A held shop's lease for one more pass; None: lost meanwhile, ask like anyone."""
        left = hold.lease.expires_at - now
        if left > self.duration / 2 or (self._letting_go(hold) and left > LAST_PASS_BEFORE):
            return self._running(shop, hold)
        if self._letting_go(hold):
            return self._rest(shop, hold.lease.expires_at)
        try:
            renewed = self.ledger.renew_lease(hold.lease, duration=self.duration, now=now)
            return self._running(shop, replace(hold, lease=renewed))
        except LeaseLostError:
            self._forget(shop)  # taken over while this worker rested
            return None
        except (RetryLaterError, SkipError) as err:
            return self._cannot(shop, err)

    def wait_seconds(self, refused: HeldElsewhere) -> float:
        """How long until the shop is worth asking for again: just after its holder's lease
        lapses, and at most a lease period (a holder that stopped releases early)."""
        left = (refused.until - self.clock()).total_seconds()
        return min(max(left, 0.0), self.duration.total_seconds()) + ASK_MARGIN_SECONDS

    def done(self, shop: str, lease: Lease | None) -> None:
        """A pass ended: its lease (None: lost or released) is held for the next one."""
        with self._lock:
            hold = self._holds.get(shop)
            if lease is None or hold is None or hold.lease.token != lease.token:
                self._holds.pop(shop, None)
                return
            newest = max(hold.lease.expires_at, lease.expires_at)
            hold.lease, hold.running = replace(lease, expires_at=newest), False
            leaving = hold.leaving
        if leaving:
            self._hand_over(shop, hold)

    def heartbeat(self) -> None:
        """Renew every lease held (and not being let go) in one statement, a lease the ledger no
        longer gives back being forgotten; then be present, with this worker's share, and let
        go of what is over it."""
        self._renew()
        self._reshare()

    def _present(self, now: datetime) -> None:
        dead = self.ledger.break_dead_leases(now=now, observer=self.worker)
        if dead:
            log.warning("%s died (life lock free): their shops are free now", ", ".join(dead))
            self._ring()
        if self.shops_total:
            rows = self.ledger.live_workers(now=now)
            live = [row["worker"] for row in rows if row["shops_key"] == self.shops_key]
            target = fair_share(self.shops_total, live, self.worker)
            if self.target is not None and target > self.target:  # the shops let go are wanted
                with self._lock:
                    self._resting.clear()
            self.target = target
            gone = self._live_seen - set(live) - {self.worker}
            self._live_seen = set(live)
            if gone:  # died (its presence lapsed): the first to see it tells the others
                self._ring()
        with self._lock:
            held = sum(1 for h in self._holds.values() if not h.leaving)
        load = self.load.since_last()
        self.ledger.worker_present(
            WorkerPresence(
                self.worker, self.started_at or now, now, held, self.target or 0,
                passes_per_minute=load.passes_per_minute,
                notices_per_minute=load.notices_per_minute,
                cpu_share=load.cpu_share,
                shops_key=self.shops_key,
                alive_lock=self.life.held() if self.life is not None else None,
            ),
            duration=self.duration,
        )  # fmt: skip

    def _over_share(self) -> None:
        """Let go of the shops over this worker's share: those between passes now, the most
        recently taken first; a shop in a pass when its pass ends."""
        if self.target is None or not self.shops_total:
            return
        with self._lock:
            kept = [(s, h) for s, h in self._holds.items() if not (h.leaving or h.rescued)]
            excess = len(kept) - self.target
            if excess <= 0:
                return
            chosen = sorted(kept, key=lambda item: (item[1].running, -item[1].since))[:excess]
            for _, hold in chosen:
                hold.leaving = True
        released = [self._hand_over(shop, hold, ring=False) for shop, hold in chosen]
        if any(released):
            self._ring()

    def _hand_over(self, shop: str, hold: _Hold, *, ring: bool = True) -> bool:
        """Release a shop over the share and leave it to the others for a lease period."""
        with self._lock:
            if self._holds.get(shop) is not hold or hold.running:
                return False
            self._holds.pop(shop, None)
            self._resting[shop] = self.clock() + self.duration
        try:
            self.ledger.release_lease(hold.lease)
        except (RetryLaterError, SkipError, StopError) as err:
            log.warning("%s: lease not released (it expires by itself): %s", shop, err)
            return False
        if ring:
            self._ring()
        return True

    def _ring(self) -> None:
        try:
            self.ledger.ring_workers(self.worker)
        except (RetryLaterError, SkipError, StopError) as err:
            log.warning("the other workers were not told (they see it at a heartbeat): %s", err)

    def _renew(self) -> None:
        with self._lock:
            holds = {shop: h for shop, h in self._holds.items() if not self._letting_go(h)}
        if not holds:
            return
        try:
            renewed = self.ledger.renew_leases(
                [h.lease for h in holds.values()], duration=self.duration, now=self.clock()
            )
        except (RetryLaterError, SkipError, StopError) as err:
            log.warning("leases not renewed (they are tried again shortly): %s", err)
            return
        fresh = {lease.shop: lease for lease in renewed}
        with self._lock:
            for shop, hold in holds.items():
                if self._holds.get(shop) is not hold:
                    continue
                if shop in fresh:
                    hold.lease = replace(hold.lease, expires_at=fresh[shop].expires_at)
                elif not hold.running:  # a running pass finds out at its next write
                    del self._holds[shop]

    def let_go(self) -> None:
        """Stopping: every lease is released and the presence ended, so the others take their
        larger share at once."""
        self._stop.set()
        if self.bell is not None:
            self.bell.ring()  # wakes the heartbeat thread to see the stop
        if self._heartbeat.is_alive():
            self._heartbeat.join(timeout=10)
        if self.bell is not None:
            self.bell.close()
        try:
            self.ledger.worker_gone(self.worker)
        except (RetryLaterError, SkipError, StopError) as err:
            log.warning("presence not ended (it lapses by itself): %s", err)
        if self.life is not None:
            self.life.close()
        with self._lock:
            holds, self._holds = list(self._holds.values()), {}
        for hold in holds:
            try:
                self.ledger.release_lease(hold.lease)
            except (RetryLaterError, SkipError, StopError) as err:
                log.warning(
                    "%s: lease not released (it expires by itself): %s", hold.lease.shop, err
                )
        self._ring()

    def _beat(self) -> None:
        """A heartbeat a quarter of a lease apart; between them, when the shares bell rings,
        the shares are worked out again (and what is over this worker's share let go)."""
        period = self.duration.total_seconds() / 4
        beat_at = time.monotonic() + period
        while not self._stop.is_set():
            left = max(0.0, beat_at - time.monotonic())
            rang = self.bell.wait(left) if self.bell is not None else self._stop.wait(left)
            if self._stop.is_set():
                return
            if time.monotonic() >= beat_at:
                self.heartbeat()
                beat_at = time.monotonic() + period
            elif rang:
                self._reshare()
            if rang:
                self.rings += 1

    def _reshare(self) -> None:
        try:
            self._present(self.clock())
        except (RetryLaterError, SkipError, StopError) as err:
            log.warning("presence not written (tried again shortly): %s", err)
            return
        self._over_share()

    def _letting_go(self, hold: _Hold) -> bool:
        return time.monotonic() - hold.since >= self.keep_seconds

    def _running(self, shop: str, hold: _Hold) -> Lease:
        with self._lock:
            hold.running = True
            self._holds[shop] = hold
        return hold.lease

    def _rest(self, shop: str, lapses: datetime) -> HeldElsewhere:
        until = lapses + self.duration * REST_SHARE
        with self._lock:
            self._holds.pop(shop, None)
            self._resting[shop] = until
        return HeldElsewhere(shop, until)

    def _forget(self, shop: str) -> None:
        with self._lock:
            self._holds.pop(shop, None)

    def _cannot(self, shop: str, err: Exception) -> HeldElsewhere:
        log.warning("%s: could not take the shop's lease: %s", shop, err)
        return HeldElsewhere(shop, self.clock() + self.duration)


__all__ = ["ShopHoldings"]
