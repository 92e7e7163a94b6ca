"""Notifications, against a real SMTP server (aiosmtpd) and a real HTTP receiver: what people
are told right away, in digests and daily; never lost, never twice, never a secret."""

from __future__ import annotations

import email
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from conftest import JsonReceiver, free_port

from pipeline.documents import failure_renderer
from pipeline.ledger import Ledger
from pipeline.models import ErrorCode, FailedAttempt, Platform
from pipeline.notify import AppriseDelivery, Notifier, notify_plan
from pipeline.notify.notifier import period_end
from pipeline.notify.routes import NotifyPlan, Route
from pipeline.reports import OutboxState, Reason, ReasonedOrder, ReconciliationReport
from pipeline.scrub import remember_secrets

T0 = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # a Monday, 09:00 in New York
RENDER = failure_renderer("+60DAYS", ZoneInfo("America/New_York"))
CONSOLE = "https://li.example.com"


class Mailbox:
    """A real SMTP server on 127.0.0.1 keeping what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Message] = []
        self.port = free_port()
        mailbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
                mailbox.messages.append(email.message_from_bytes(envelope.content))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=loginsights@example.com&to=ops@example.com"

    def bodies(self) -> list[str]:
        return [self.text(m) for m in self.messages]

    @staticmethod
    def text(message: Message) -> str:
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                return payload.decode()
        return ""


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.controller.start()
    yield box
    box.controller.stop()


class Receiver(JsonReceiver):
    """A chat webhook: apprise's ``json://`` posts {title, message, type} to it."""

    @property
    def received(self) -> list[dict[str, Any]]:
        return self.bodies

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.close()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def notifier(ledger: Ledger, clock: Clock, *routes: Route, refusing: int = 10) -> Notifier:
    ledger.clock = clock
    plan = NotifyPlan(routes, CONSOLE, refusing)
    return Notifier(plan, ledger, AppriseDelivery(), shop_names=["hc-demo", "eu-sfcc"], clock=clock)


def fail(ledger: Ledger, shop: str, order: str, at: datetime, code: ErrorCode,
         message: str = "has no shipping address") -> None:  # fmt: skip
    attempt = FailedAttempt(
        platform=Platform.SHOPIFY, shop=shop, order_id=order, order_name=f"#{order}",
        order_created_at=at - timedelta(minutes=5), attempted_at=at, error_code=code,
        error_message=f"Order #{order} {message}",
    )  # fmt: skip
    ledger.record_failure(attempt, payload={"id": order}, render=RENDER, retry_unchanged=True)


# -- who is told what: routes, checked key by key -----------------------------------------------


def test_one_variable_sends_everything_everywhere(tmp_path: Path) -> None:
    plan = notify_plan(None, {"LOGINSIGHTS_NOTIFY_URLS": "mailtos://a@b.c, json://h:1/p"})
    assert [(r.name, r.urls) for r in plan.routes] == [
        ("everyone", ("mailtos://a@b.c", "json://h:1/p"))
    ]
    assert plan.routes[0].hears("any-shop", "any_code")


def test_routes_are_read_key_by_key_and_a_broken_one_is_named(tmp_path: Path) -> None:
    shops = tmp_path / "shops.toml"
    shops.write_text(
        '[notify]\nconsole_url = "https://li.example.com/"\n'
        '[notify.routes.eu]\nurls_env = "EU_URLS"\nshops = ["eu-sfcc"]\n'
        'error_codes = ["missing_address"]\ntime_zone = "Europe/Berlin"\n'
        '[notify.routes.us]\nurls_env = "US_URLS"\n'
    )
    plan = notify_plan(shops, {"EU_URLS": "json://127.0.0.1:9/x"})
    assert [r.name for r in plan.routes] == ["eu"] and plan.console_url == "https://li.example.com"
    eu = plan.routes[0]
    assert eu.hears("eu-sfcc", "missing_address") and not eu.hears("eu-sfcc", "bad_email")
    assert not eu.hears_shop("hc-demo")
    assert "US_URLS is not set" in plan.problems["us"]
    shops.write_text('[notify.routes.eu]\nurls_env = "EU_URLS"\ndigest_minute = 5\n')
    problem = notify_plan(shops, {}).problems["[notify]"]
    assert "digest_minute" in problem and "did you mean 'digest_minutes'" in problem
    shops.write_text('[notify.routes.eu]\nurls_env = "EU_URLS"\ndaily_at = "8am"\n')
    assert "time of day" in notify_plan(shops, {}).problems["[notify]"]


# -- right away ----------------------------------------------------------------------------------


def test_a_broken_shop_is_told_at_once_and_once(ledger: Ledger, mailbox: Mailbox) -> None:
    remember_secrets("shpat_0123456789abcdef")
    clock = Clock(T0)
    tell = notifier(
        ledger, clock, Route("ops", (mailbox.url,), time_zone="America/New_York", daily_at="")
    )
    ledger.report_problem(
        "hc-demo", "HC_TOKEN is not set (Shopify said: invalid token shpat_0123456789abcdef)",
        worker="w1",
    )  # fmt: skip
    tell.tick()
    tell.tick()
    assert len(mailbox.messages) == 1, "the same news once"
    message = mailbox.messages[0]
    assert message["Subject"] == "[loginsights] hc-demo is BROKEN: its orders are not imported"
    body = mailbox.bodies()[0]
    assert "HC_TOKEN is not set" in body and "EST" in body and f"{CONSOLE}/" in body
    assert "shpat_0123456789abcdef" not in body, "no secret in any message"


def test_a_flood_of_broken_shops_is_one_message(ledger: Ledger, receiver: Receiver) -> None:
    clock = Clock(T0)
    tell = notifier(ledger, clock, Route("chat", (receiver.url,), daily_at=""))
    for n in range(30):
        ledger.report_problem(f"shop-{n:02d}", "its table has an unknown key", worker="w1")
    tell.tick()
    assert len(receiver.received) == 1
    posted = receiver.received[0]
    assert posted["title"] == "[loginsights] 30 shops are BROKEN: " + ", ".join(
        f"shop-{n:02d}" for n in range(30)
    )
    assert "and 10 more" in posted["message"]


def test_a_reconciliation_that_finds_missing_orders_is_told(
    ledger: Ledger, receiver: Receiver
) -> None:
    tell = notifier(ledger, Clock(T0), Route("chat", (receiver.url,), daily_at=""))
    report = ReconciliationReport(
        shop="hc-demo", platform="shopify", window_start=T0 - timedelta(days=1), window_end=T0,
        at_source=120, already_imported=117, imported_now=2, failed_now=1,
        orders=[ReasonedOrder(order_id="5500000000007", reason=Reason.FAILED_NOW)],
    )  # fmt: skip
    tell.hear(report)
    tell.hear(report)  # heard twice (a re-run), told once
    balanced = report.model_copy(update={"imported_now": 0, "failed_now": 0, "orders": []})
    tell.hear(balanced.model_copy(update={"window_end": T0 + timedelta(days=1)}))
    tell.send_due()
    assert [p["title"] for p in receiver.received] == [
        "[loginsights] hc-demo: the daily reconciliation found 3 missing orders (1 still failing)"
    ]
    assert "5500000000007" in receiver.received[0]["message"]
    assert f"{CONSOLE}/reconciliations" in receiver.received[0]["message"]


def test_solr_refusing_documents_for_minutes_is_told_once(
    ledger: Ledger, receiver: Receiver
) -> None:
    clock = Clock(T0)
    tell = notifier(ledger, clock, Route("chat", (receiver.url,), daily_at=""), refusing=10)
    down = OutboxState(waiting=40, dead=0, solr_down=True, error="Solr at … answered HTTP 503")
    tell.hear(down)
    clock.now = T0 + timedelta(minutes=5)
    tell.hear(down)
    tell.send_due()
    assert receiver.received == [], "a short outage is not news"
    clock.now = T0 + timedelta(minutes=11)
    tell.hear(down)
    clock.now = T0 + timedelta(minutes=12)
    tell.hear(down)
    tell.send_due()
    assert [p["title"] for p in receiver.received] == [
        "[loginsights] Solr has not taken failure documents for 11 min"
    ]
    tell.hear(OutboxState(waiting=0, dead=0))
    clock.now = T0 + timedelta(minutes=30)
    tell.hear(down)
    tell.send_due()
    assert len(receiver.received) == 1, "back up: the clock of the outage starts again"


# -- never lost ----------------------------------------------------------------------------------


def test_a_message_that_cannot_be_sent_is_kept_and_sent_later(ledger: Ledger) -> None:
    box = Mailbox()  # not started yet: the mail server is down
    clock = Clock(T0)
    tell = notifier(ledger, clock, Route("ops", (box.url,), daily_at=""))
    ledger.report_problem("hc-demo", "HC_TOKEN is not set", worker="w1")
    tell.tick()
    kept = ledger.recent_notifications()
    assert len(kept) == 1 and kept[0].sent_at is None and kept[0].tries == 1
    assert kept[0].last_error, "why it did not go is kept"
    box.controller.start()
    try:
        tell.send_due()
        assert box.messages == [], "not before its next try"
        clock.now = T0 + timedelta(minutes=3)
        assert tell.send_due() == 1
        assert len(box.messages) == 1
        assert ledger.notification_counts() == (0, 1)
    finally:
        box.controller.stop()


# -- digests -------------------------------------------------------------------------------------


def test_a_digest_groups_what_changed_and_is_quiet_when_nothing_did(
    ledger: Ledger, mailbox: Mailbox
) -> None:
    clock = Clock(T0 + timedelta(minutes=1))
    route = Route("ops", (mailbox.url,), time_zone="America/New_York", digest_minutes=15,
                  daily_at="")  # fmt: skip
    tell = notifier(ledger, clock, route)
    tell.tick()  # the period before had nothing
    for n in range(4):
        fail(ledger, "hc-demo", f"10{n}", T0 + timedelta(minutes=2 + n), ErrorCode.MISSING_ADDRESS)
    fail(ledger, "eu-sfcc", "77", T0 + timedelta(minutes=3), ErrorCode.BAD_EMAIL,
         "has a malformed email")  # fmt: skip
    clock.now = T0 + timedelta(minutes=16)
    tell.tick()
    tell.tick()
    assert len(mailbox.messages) == 1, "one digest for the period, however many looks"
    assert mailbox.messages[0]["Subject"] == (
        "[loginsights] 5 new failures in 2 shops, 0 resolved, 5 open (15 min digest)"
    )
    body = mailbox.bodies()[0]
    assert "- hc-demo, missing_address: 4 new" in body
    assert "- eu-sfcc, bad_email: 1 new" in body
    assert "#103: Order #103 has no shipping address" in body, "the latest messages"
    assert f"{CONSOLE}/?q=shop%3Ahc-demo&f=errorCode%3Amissing_address" in body
    assert "09:00:00 EST" in body and "09:15:00 EST" in body
    clock.now = T0 + timedelta(minutes=31)
    tell.tick()
    assert len(mailbox.messages) == 1, "quiet when nothing changed"


def test_routes_hear_only_their_shops_and_error_codes(ledger: Ledger, receiver: Receiver) -> None:
    clock = Clock(T0 + timedelta(minutes=1))
    eu = Route("eu", (receiver.url,), shops=frozenset({"eu-sfcc"}), daily_at="")
    tell = notifier(ledger, clock, eu)
    fail(ledger, "hc-demo", "1", T0 + timedelta(minutes=2), ErrorCode.MISSING_ADDRESS)
    clock.now = T0 + timedelta(minutes=16)
    tell.tick()
    assert receiver.received == [], "hc-demo's failure is not the EU team's"


def test_the_daily_digest_comes_at_its_hour_in_the_routes_zone(
    ledger: Ledger, receiver: Receiver
) -> None:
    route = Route("ny", (receiver.url,), time_zone="America/New_York", digest_minutes=1440,
                  daily_at="08:00")  # fmt: skip
    clock = Clock(datetime(2026, 12, 7, 12, 30, tzinfo=UTC))  # 07:30 in New York
    tell = notifier(ledger, clock, route)
    fail(ledger, "hc-demo", "1", clock.now - timedelta(hours=3), ErrorCode.MISSING_PHONE,
         "has no phone")  # fmt: skip
    tell.tick()
    assert not [p for p in receiver.received if "daily digest" in p["title"]]
    clock.now = datetime(2026, 12, 7, 13, 5, tzinfo=UTC)  # 08:05
    tell.tick()
    tell.tick()
    daily = [p for p in receiver.received if "daily digest" in p["title"]]
    assert len(daily) == 1
    assert "- hc-demo, missing_phone: 1 open, the oldest open for" in daily[0]["message"]


def test_digest_periods_are_the_wall_clocks() -> None:
    assert period_end(datetime(2026, 12, 7, 14, 29, 59, tzinfo=UTC), 15) == datetime(
        2026, 12, 7, 14, 15, tzinfo=UTC
    )


# -- the command ---------------------------------------------------------------------------------


def test_notify_test_sends_to_each_route_and_says_what_happened(
    receiver: Receiver, tmp_path: Path
) -> None:
    from pipeline.cli import main

    env = {"LOGINSIGHTS_NOTIFY_URLS": receiver.url, "LOGINSIGHTS_STATE_DIR": str(tmp_path),
           "LOGINSIGHTS_SHOPS_FILE": str(tmp_path / "none.toml")}  # fmt: skip
    result = CliRunner().invoke(main, ["notify", "test", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {"route": "everyone", "destinations": ["json"], "sent": True, "detail": ""}
    ]
    assert receiver.received[0]["title"] == "[loginsights] a test notification"
    env["LOGINSIGHTS_NOTIFY_URLS"] = "nosuchscheme://x"
    bad = CliRunner().invoke(main, ["notify", "test"], env=env)
    assert bad.exit_code == 1 and "not a destination apprise knows: nosuchscheme" in bad.output


# -- wired into `run` ----------------------------------------------------------------------------


def test_run_tells_its_routes_a_broken_shop_and_keeps_the_others_going(
    tmp_path: Path, receiver: Receiver, solr: Any
) -> None:
    """The real command: one shop whose token variable is unset, one that works; the route of
    LOGINSIGHTS_NOTIFY_URLS hears about the broken one while the other is imported."""
    import os
    import signal
    import subprocess
    import sys

    from conftest import past_day, simulator, wait_for

    from pipeline.simulators import OrderCatalog

    start, end = past_day(hours=1)
    with simulator(Platform.SHOPIFY, OrderCatalog.generate(8, seed=9, start=start, end=end)) as sim:
        shops = tmp_path / "shops.toml"
        shops.write_text(
            f'[shops.works]\nplatform = "shopify"\nbase_url = "{sim.url}"\n'
            f'access_token_env = "WORKS_TOKEN"\nstart = "{start.isoformat()}"\n'
            f'[shops.no-token]\nplatform = "shopify"\nbase_url = "{sim.url}"\n'
            'access_token_env = "NO_TOKEN_SET"\n'
            f'[notify]\nconsole_url = "{CONSOLE}"\n'
        )
        env = {
            **os.environ,
            "LOGINSIGHTS_SOLR_URL": solr.url,
            "WORKS_TOKEN": "shpat_simulated",
            "LOGINSIGHTS_LEDGER_PATH": str(tmp_path / "ledger.sqlite3"),
            "LOGINSIGHTS_NOTIFY_URLS": receiver.url,
            "LOGINSIGHTS_STATE_DIR": str(tmp_path),
        }
        env.pop("NO_TOKEN_SET", None)  # fmt: skip
        run = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "--shops-file", str(shops), "run",
             "--poll", "1"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            told = wait_for(lambda: [p for p in receiver.received if "BROKEN" in p["title"]],
                            seconds=60)  # fmt: skip
            assert told, run.stderr.read(4000) if run.poll() is not None else "nothing told"
            assert (
                told[0]["title"] == "[loginsights] no-token is BROKEN: its orders are not imported"
            )
            assert "NO_TOKEN_SET" in told[0]["message"] and f"{CONSOLE}/" in told[0]["message"]
            with Ledger(tmp_path / "ledger.sqlite3") as ledger:
                assert wait_for(lambda: ledger.count_orders("works") > 0, seconds=60)
        finally:
            run.send_signal(signal.SIGTERM)
            run.wait(timeout=60)
