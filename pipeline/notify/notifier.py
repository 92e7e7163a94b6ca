"""Telling people without their opening anything: a listener of the run's events and a tick.

Right away: a shop BROKEN (from the ledger, whichever process found it), a reconciliation that
found orders missing (its event), Solr refusing documents for N minutes (the outbox events).
Every N minutes per route: a digest of what changed, quiet when nothing did. Once a day at a set
hour in each route's zone: the daily digest. Each is kept in the ledger under a key before it
is sent, so a fleet of workers sends each piece of news once, and a message that cannot be sent
is sent when it can.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from pipeline.events import Event
from pipeline.ledger import Ledger
from pipeline.ledger.notifications import Notification
from pipeline.notify.delivery import Sent
from pipeline.notify.news import (
    DAILY,
    DIGEST,
    broken_shops,
    digest,
    reconciliation_found,
    solr_refusing,
)
from pipeline.notify.routes import NotifyPlan, Route
from pipeline.reports import OutboxState, ReconciliationReport
from pipeline.shop_lag import duration_words, shop_lag_report
from pipeline.windows import Clock, utc_now

log = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Delivery(Protocol):
    def send(self, urls: Sequence[str], subject: str, body: str) -> Sent: ...


def period_end(now: datetime, minutes: int) -> datetime:
    """The end of the digest period ``now`` is in, on the wall clock's multiples of ``minutes``
    (so every process of a fleet names the same period, and keeps its digest once)."""
    step = timedelta(minutes=minutes)
    return EPOCH + ((now - EPOCH) // step) * step


class Notifier:
    def __init__(
        self,
        plan: NotifyPlan,
        ledger: Ledger,
        delivery: Delivery,
        *,
        shop_names: Sequence[str] = (),
        clock: Clock = utc_now,
    ) -> None:
        self.plan, self.ledger, self.delivery = plan, ledger, delivery
        self.shop_names, self.clock = list(shop_names), clock
        self._refusing_since: datetime | None = None
        self._lock = threading.Lock()
        # per route, the last digest period and daily digest looked at here: asked once each
        self._digested: dict[str, datetime] = {}
        self._dailied: dict[str, datetime] = {}

    # -- the run's events -----------------------------------------------------------------

    def hear(self, event: Event) -> None:
        if isinstance(event, ReconciliationReport):
            for route in self.plan.routes:
                if route.hears_shop(event.shop):
                    self._keep(reconciliation_found(route, event, self.plan.console_url))
        elif isinstance(event, OutboxState):
            self._outbox(event)

    def _outbox(self, state: OutboxState) -> None:
        now = self.clock()
        with self._lock:
            if not state.solr_down:
                self._refusing_since = None
                return
            since = self._refusing_since = self._refusing_since or now
        minutes = (now - since).total_seconds() / 60
        if minutes >= self.plan.solr_refusing_minutes:
            for route in self.plan.routes:
                self._keep(solr_refusing(route, since, minutes, state.error))

    # -- the tick: what the ledger says, digests, sending ---------------------------------

    def tick(self) -> None:
        """One look: broken shops, digests and daily digests due, then everything unsent."""
        now = self.clock()
        self._broken()
        lag = self._late(now)
        for route in self.plan.routes:
            self._digest(route, now, lag)
            self._daily(route, now, lag)
        self.send_due()

    def _broken(self) -> None:
        problems = self.ledger.shop_problems()
        for route in self.plan.routes:
            broken = sorted(
                (shop, row["problem"], row["since"])
                for shop, row in problems.items()
                if route.hears_shop(shop)
            )
            if broken:
                self._keep(broken_shops(route, broken, self.plan.console_url))

    def _late(self, now: datetime) -> list[dict[str, Any]]:
        rows = shop_lag_report(self.ledger, self.shop_names, now=now)
        late = []
        for row in rows:
            if row["problem"]:
                late.append({"shop": row["shop"], "state": f"BROKEN: {row['problem']}",
                             "lag": None})  # fmt: skip
            elif row["lagSeconds"] is not None:
                late.append({"shop": row["shop"], "lag": row["lagSeconds"],
                             "state": f"{duration_words(row['lagSeconds'])} behind"})  # fmt: skip
        return late

    def _late_for(self, route: Route, lag: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            row for row in lag
            if row["lag"] is None or row["lag"] > route.late_minutes * 60
        ]  # fmt: skip

    def _digest(self, route: Route, now: datetime, lag: list[dict[str, Any]]) -> None:
        until = period_end(now, route.digest_minutes)
        if self._digested.get(route.name) == until:
            return
        self._digested[route.name] = until
        last = self.ledger.last_notification(route.name, DIGEST)
        since = (
            datetime.fromisoformat(last.facts["until"])
            if last and "until" in last.facts
            else until - timedelta(minutes=route.digest_minutes)
        )
        if since >= until:
            return
        facts = self.ledger.failure_news(since, until)
        self._keep(
            digest(
                route,
                facts,
                self._late_for(route, lag),
                since=since,
                until=until,
                console=self.plan.console_url,
            )  # fmt: skip
        )

    def _daily(self, route: Route, now: datetime, lag: list[dict[str, Any]]) -> None:
        if not route.daily_at:
            return
        zone = ZoneInfo(route.time_zone)
        local = now.astimezone(zone)
        hour, minute = (int(part) for part in route.daily_at.split(":"))
        at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if local < at:
            return
        until = at.astimezone(UTC)
        if self._dailied.get(route.name) == until:
            return
        self._dailied[route.name] = until
        facts = self.ledger.failure_news(until - timedelta(days=1), until)
        note = digest(
            route, facts, self._late_for(route, lag), since=until - timedelta(days=1),
            until=until, console=self.plan.console_url, kind=DAILY,
            reconciliations=self._reconciliations(route, until),
        )  # fmt: skip
        self._keep(note)

    def _reconciliations(self, route: Route, until: datetime) -> list[dict[str, Any]]:
        found = []
        for shop in self.shop_names:
            if not route.hears_shop(shop):
                continue
            kept = self.ledger.reconciliations(shop)
            if not kept:
                continue
            report = ReconciliationReport.model_validate(kept[-1])
            if until - report.window_end <= timedelta(hours=30):
                found.append({"shop": shop, "summary": report.summary()})
        return found

    def _keep(self, note: Notification | None) -> None:
        if note is not None and self.ledger.keep_notification(note):
            log.info("notification kept for %s: %s", note.route, note.subject)

    def send_due(self) -> int:
        """Send what waits; a failure is kept with its reason for the next try. Returns the
        number sent."""
        routes = {route.name: route for route in self.plan.routes}
        sent = 0
        for note in self.ledger.notifications_due():
            route = routes.get(note.route)
            if route is None:
                self.ledger.notification_failed(
                    note.id, f"route {note.route!r} is not configured here", note.tries
                )
                continue
            outcome = self.delivery.send(route.urls, note.subject, note.body)
            if outcome.ok:
                self.ledger.notification_sent(note.id)
                sent += 1
            else:
                log.warning("notification to %s not sent (%s); kept", route.name, outcome.detail)
                self.ledger.notification_failed(note.id, outcome.detail, note.tries)
        return sent


class NotifierLoop:
    """The notifier's tick every ``seconds`` in a thread of `run` or `serve --worker`, until
    ``stop``; a failed tick is logged and the next one tried."""

    def __init__(self, notifier: Notifier, stop: threading.Event, seconds: float = 30.0) -> None:
        self.notifier, self.stop, self.seconds = notifier, stop, seconds
        self.thread = threading.Thread(target=self._run, name="notifier", daemon=True)

    def start(self) -> NotifierLoop:
        self.thread.start()
        return self

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                self.notifier.tick()
            except Exception:  # noqa: BLE001  (telling people never stops the import)
                log.exception("notifications: this look failed; the next one is tried")
            self.stop.wait(self.seconds)


def notifier_for(
    plan: NotifyPlan,
    ledger: Ledger,
    delivery_factory: Callable[[], Delivery],
    shop_names: Sequence[str],
    clock: Clock = utc_now,
) -> Notifier | None:
    """A notifier when some route can be used; the problems of the others are logged."""
    for where, problem in plan.problems.items():
        log.error("notifications: %s cannot be used: %s", where, problem)
    if not plan.active:
        return None
    return Notifier(plan, ledger, delivery_factory(), shop_names=shop_names, clock=clock)


__all__ = ["Delivery", "Notifier", "NotifierLoop", "notifier_for", "period_end"]
