"""Which shops one ``run`` process holds, and for how long: the runner's side of the leases.

A shop's lease (``pipeline.ledger.leases``) is kept from one pass to the next, and a heartbeat
thread renews every lease the process holds in one statement, a quarter of a lease period
apart; so a lease can be short (a killed worker's shops are free after ``lease_seconds``) while
costing nothing per pass. A worker that is refused a shop learns until when its holder has it
and asks again just after that, not sooner.

After ``keep_seconds`` a shop is let go: its lease is no longer renewed, and when it lapses this
worker waits a moment longer (``REST_SHARE`` of a lease) before asking again, so that a worker
that asked in vain meanwhile (it asks just after the lapse) takes it. That is how shops spread
over workers started later; a worker alone takes its shop straight back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from pipeline.errors import LeaseLostError, RetryLaterError, SkipError, StopError
from pipeline.ledger import HeldElsewhere, Lease, Ledger
from pipeline.windows import Clock

log = logging.getLogger(__name__)

REST_SHARE = 0.1  # of a lease: how much later than the others a worker asks for a shop it let go
ASK_MARGIN_SECONDS = 0.2  # after a holder's lease lapses, before asking for the shop
LAST_PASS_BEFORE = timedelta(seconds=1)  # a shop let go is worked until its lease is this near


@dataclass
class _Hold:
    lease: Lease
    since: float  # monotonic: when this worker took the shop
    running: bool = False


class ShopHoldings:
    """The leases one process holds; thread-safe (passes, the loop and the heartbeat use it)."""

    def __init__(
        self,
        ledger: Ledger,
        worker: str,
        *,
        lease_seconds: float,
        keep_seconds: float,
        clock: Clock,
    ) -> None:
        self.ledger, self.worker, self.clock = ledger, worker, clock
        self.duration = timedelta(seconds=lease_seconds)
        self.keep_seconds = keep_seconds
        self._holds: dict[str, _Hold] = {}
        self._resting: dict[str, datetime] = {}  # shops let go: not asked for until then
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(target=self._beat, name="leases", daemon=True)

    def start(self) -> ShopHoldings:
        self._heartbeat.start()
        return self

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
                answers[shop] = self._running(shop, _Hold(lease, time.monotonic()))
            else:
                answers[shop] = lease
        return answers

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

    def heartbeat(self) -> None:
        """Renew every lease held (and not being let go) in one statement; a lease the ledger
        no longer gives back was taken over, and is forgotten."""
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
        """Stopping: every lease is released, so the others take the shops at once."""
        self._stop.set()
        if self._heartbeat.is_alive():
            self._heartbeat.join(timeout=10)
        with self._lock:
            holds, self._holds = list(self._holds.values()), {}
        for hold in holds:
            try:
                self.ledger.release_lease(hold.lease)
            except (RetryLaterError, SkipError, StopError) as err:
                log.warning(
                    "%s: lease not released (it expires by itself): %s", hold.lease.shop, err
                )

    def _beat(self) -> None:
        period = self.duration.total_seconds() / 4
        while not self._stop.wait(period):
            self.heartbeat()

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


class PassLease:
    """One pass's hold on a shop: renewed (when a third of it has passed) page after page, so a
    long catch-up keeps its shop even when the heartbeat is late; released if the pass fails."""

    def __init__(self, lease: Lease, ledger: Ledger, duration: timedelta, clock: Clock) -> None:
        self.lease: Lease | None = lease
        self.ledger, self.duration, self.clock = ledger, duration, clock

    def renew(self) -> None:
        """Raises ``LeaseLostError`` if another worker took the shop meanwhile."""
        if self.lease is None:
            return
        left = (self.lease.expires_at - self.clock()).total_seconds()
        if left < self.duration.total_seconds() * 2 / 3:
            self.lease = self.ledger.renew_lease(
                self.lease, duration=self.duration, now=self.clock()
            )

    def release(self) -> None:
        lease, self.lease = self.lease, None
        if lease is None:
            return
        try:
            self.ledger.release_lease(lease)
        except (RetryLaterError, SkipError, StopError) as err:
            log.warning("%s: lease not released (it expires by itself): %s", lease.shop, err)


__all__ = ["PassLease", "ShopHoldings"]
