"""`loginsights notify`: try the destinations, see what was sent and what waits."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

import click

from pipeline.cli.group import console, json_option, json_record, library_errors, main
from pipeline.models import zoned_time
from pipeline.notify import AppriseDelivery
from pipeline.notify.delivery import scheme_of
from pipeline.notify.news import test_message
from pipeline.settings import Settings
from pipeline.wiring import Wiring


@main.group()
def notify() -> None:
    """Notifications: who is told what (LOGINSIGHTS_NOTIFY_URLS, [notify] in the shops file).

    \b
    Example:
      LOGINSIGHTS_NOTIFY_URLS='mailtos://user:pass@example.com' loginsights notify test
      loginsights notify list --json
    """


@notify.command("test")
@json_option
@click.pass_obj
@library_errors
def notify_test(settings: Settings, as_json: bool) -> None:
    """Send one message to each configured route now and say what happened to it (nothing is
    kept in the ledger); exits 1 when a route is broken or a message did not go.

    \b
    Example:
      loginsights notify test
      LOGINSIGHTS_NOTIFY_URLS='json://127.0.0.1:9000/hook' loginsights notify test --json
    """
    plan = Wiring(settings, os.environ).notify_plan
    delivery, now = AppriseDelivery(), datetime.now(UTC)
    results: list[dict[str, Any]] = [
        {"route": where, "destinations": [], "sent": False, "detail": problem}
        for where, problem in plan.problems.items()
    ]
    for route in plan.routes:
        note = test_message(route, now)
        outcome = delivery.send(route.urls, note.subject, note.body)
        results.append({"route": route.name, "destinations": [scheme_of(u) for u in route.urls],
                        "sent": outcome.ok, "detail": outcome.detail})  # fmt: skip
    if not results:
        raise click.ClickException(
            "no destination is configured: set LOGINSIGHTS_NOTIFY_URLS (apprise URLs, e.g. "
            "mailtos://user:pass@example.com) or add [notify.routes.<name>] to the shops file"
        )
    if as_json:
        click.echo(json.dumps(results))
    else:
        for result in results:
            where = ", ".join(result["destinations"]) or "-"
            state = "sent" if result["sent"] else "NOT SENT"
            click.echo(f"{result['route']} ({where}): {state}"
                       + (f": {result['detail']}" if result["detail"] else ""))  # fmt: skip
    if not all(result["sent"] for result in results):
        raise SystemExit(1)


@notify.command("list")
@click.option("--limit", default=30, show_default=True, help="How many, newest first.")
@json_option
@click.pass_obj
@library_errors
def notify_list(settings: Settings, limit: int, as_json: bool) -> None:
    """What was sent, when and to which route, and what waits (with why it has not gone).

    \b
    Example:
      loginsights notify list
      loginsights notify list --limit 200 --json
    """
    with Wiring(settings, os.environ) as wiring:
        kept = wiring.ledger.recent_notifications(limit)
        waiting, sent = wiring.ledger.notification_counts()
    if as_json:
        click.echo(json_record([
            {"route": n.route, "kind": n.kind, "subject": n.subject, "createdAt": n.created_at,
             "sentAt": n.sent_at, "tries": n.tries, "lastError": n.last_error}
            for n in kept
        ]))  # fmt: skip
        return
    from rich.table import Table

    table = Table("kept", "route", "kind", "subject", "sent")
    for n in kept:
        state = (
            zoned_time(n.sent_at, settings.time_zone)
            if n.sent_at
            else f"waiting ({n.tries} tries: {n.last_error or 'not yet tried'})"
        )
        table.add_row(zoned_time(n.created_at, settings.time_zone), n.route, n.kind, n.subject,
                      state)  # fmt: skip
    console.print(table)
    click.echo(f"{sent} sent, {waiting} waiting")
