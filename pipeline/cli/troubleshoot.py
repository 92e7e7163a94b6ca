"""`loginsights reimport | refresh | stuck | failures | retry | show`: seed 001's
troubleshooting flows, as commands (`reconcile`, seed 002, is in cli/reconcile.py).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import click
from rich.table import Table

from pipeline.cli.group import (
    Moment,
    camel_keys,
    console,
    json_option,
    json_record,
    library_errors,
    main,
    shop_option,
    shop_zones,
)
from pipeline.corrections import audit as audit_orders
from pipeline.errors import ConfigurationError
from pipeline.models import DocType, ErrorCode, Platform, zoned_time
from pipeline.reports import Outcome
from pipeline.settings import Settings
from pipeline.shops import read_shops_file
from pipeline.troubleshooting import (
    OrderOutcome,
    describe_order,
    find_stuck,
    retry_outstanding,
)
from pipeline.troubleshooting import (
    refresh as refresh_order,
)
from pipeline.troubleshooting import (
    reimport as reimport_order,
)
from pipeline.wiring import Wiring

order_option = click.option("--order-id", required=True, help="The platform's order id.")


def _outcome(result: OrderOutcome, as_json: bool) -> None:
    if as_json:
        click.echo(json_record(result))
    else:
        click.echo(f"{result.shop} order {result.order_id}: {result.outcome}. {result.detail}")
    if result.outcome in (Outcome.FAILED, Outcome.NOT_FOUND):
        sys.exit(1)


@main.command()
@shop_option
@order_option
@json_option
@click.pass_obj
@library_errors
def reimport(settings: Settings, shop_name: str, order_id: str, as_json: bool) -> None:
    """Fetch one order now and import it (after the merchant fixed it on the platform).

    Success resolves the order's failure document; another failure updates it. Exits 1 if the
    order still fails or is not found.

    \b
    Example:
      loginsights reimport --shop hc-demo --order-id 450789469
    """
    _outcome(reimport_order(Wiring(settings, os.environ).context(shop_name), order_id), as_json)


@main.command()
@shop_option
@order_option
@json_option
@click.pass_obj
@library_errors
def refresh(settings: Settings, shop_name: str, order_id: str, as_json: bool) -> None:
    """Store the platform's current state of an order as a new version (seed 001).

    The previous version is cancelled and tagged 'old version'.

    \b
    Example:
      loginsights refresh --shop hc-demo --order-id 450789469
    """
    _outcome(refresh_order(Wiring(settings, os.environ).context(shop_name), order_id), as_json)


@main.command()
@shop_option
@click.option("--fix", is_flag=True, help="Read each suspect order again and correct it.")
@json_option
@click.pass_obj
@library_errors
def audit(settings: Settings, shop_name: str, fix: bool, as_json: bool) -> None:
    """Find orders stored wrong before loginsights knew better, and correct them with --fix.

    Shopify orders stored with only their first 20 line items (read before line items were
    paged), and orders stored as live though their statuses say they are not orders to ship
    (an SFCC order whose payment failed). Each is read again from the platform: a cut order gets
    a new version with every line item; an order taken live gets a cancelled version tagged
    'withdrawn' and waits until the platform shows it placed. Exits 1 if any is left to correct.

    \b
    Example:
      loginsights audit --shop hc-demo
      loginsights audit --shop hc-demo --fix --json
    """
    report = audit_orders(Wiring(settings, os.environ).context(shop_name), fix=fix)
    if as_json:
        click.echo(json_record({**asdict(report), "summary": report.summary()}))
    else:
        for correction in report.corrections:
            click.echo(
                f"{correction.order_id}: {correction.kind}: {correction.found}; {correction.done}"
            )
        click.echo(report.summary())
    if report.corrections and not fix:
        sys.exit(1)


@main.command()
@shop_option
@click.option("--refresh", "fix", is_flag=True, help="Refresh each stuck order.")
@click.option("--limit", default=500, show_default=True, help="Check at most this many orders.")
@json_option
@click.pass_obj
@library_errors
def stuck(settings: Settings, shop_name: str, fix: bool, limit: int, as_json: bool) -> None:
    """Orders still 'created' in the store that the platform has fulfilled or cancelled.

    \b
    Example:
      loginsights stuck --shop hc-demo
      loginsights stuck --shop hc-demo --refresh --json
    """
    shop = Wiring(settings, os.environ).context(shop_name)
    total = len(shop.ledger.latest_orders(shop_name, status="created")[:limit])
    with click.progressbar(length=total, label="checking", file=sys.stderr) as bar:
        report = find_stuck(shop, fix=fix, limit=limit, on_order=lambda: bar.update(1))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "checked": report.checked,
                    "stuck": [camel_keys(asdict(o)) for o in report.stuck],
                    "refreshed": [camel_keys(asdict(o)) for o in report.refreshed],
                }
            )
        )
        return
    for outcome in report.stuck:
        click.echo(f"{outcome.order_id}: {outcome.detail}")
    for outcome in report.refreshed:
        click.echo(f"{outcome.order_id}: {outcome.outcome}. {outcome.detail}")
    click.echo(f"{len(report.stuck)} stuck of {report.checked} checked", err=True)


def _since(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        click.echo(f"--since {value.isoformat()} has no zone: read as UTC", err=True)
        return value.replace(tzinfo=UTC)
    return value


def _platform(doc_type: str | None) -> str | None:
    if doc_type is None:
        return None
    for platform in Platform:
        if DocType.for_platform(platform).value == doc_type:
            return platform.value
    raise click.BadParameter(f"{doc_type!r} is not an order docType", param_hint="--doc-type")


ORDER_DOC_TYPES = [DocType.for_platform(p).value for p in Platform]


def _known_shop(ctx: click.Context, _: click.Parameter, name: str | None) -> str | None:
    """An unknown shop is an error everywhere, never "0 of 0": it must be in the shops file or
    in the ledger."""
    if name is None:
        return None
    settings: Settings = ctx.obj
    known: set[str] = set()
    with contextlib.suppress(ConfigurationError):  # a reader without the shops file
        known |= set(read_shops_file(settings.shops_file).names)
    known |= set(Wiring(settings, os.environ).ledger.checkpoints())
    if name not in known:
        raise click.BadParameter(
            f"no shop {name!r} in the shops file or the ledger; known: "
            f"{', '.join(sorted(known)) or 'none yet'}",
            param_hint="'--shop'",
        )
    return name


filter_options = [
    click.option("--shop", "shop_name", callback=_known_shop, help="Only this shop."),
    click.option(
        "--error-code",
        type=click.Choice([c.value for c in ErrorCode]),
        help="Only failures with this error code.",
    ),
]


@main.command()
@filter_options[0]
@click.option("--doc-type", type=click.Choice(ORDER_DOC_TYPES), help="Only this docType.")
@filter_options[1]
@click.option("--since", type=Moment(), help="Last attempt at or after this time (ISO 8601).")
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV for spreadsheets.")
@click.pass_obj
@library_errors
def failures(
    settings: Settings,
    shop_name: str | None,
    doc_type: str | None,
    error_code: str | None,
    since: datetime | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Outstanding (unresolved) failed orders, newest first.

    \b
    Example:
      loginsights failures --shop hc-demo --error-code missing_address
      loginsights failures --since 2026-11-20T00:00:00Z --csv > failures.csv
    """
    ledger = Wiring(settings, os.environ).ledger
    found = ledger.outstanding_failures(
        shop=shop_name, platform=_platform(doc_type), error_code=error_code, since=_since(since)
    )
    rows: list[dict[str, Any]] = [
        {
            "shop": f.shop,
            "orderId": f.order_id,
            "name": f.name,
            "errorCode": f.error_code,
            "attempts": f.attempts,
            "firstAttemptAt": f.first_attempt_at.isoformat(),
            "lastAttemptAt": f.last_attempt_at.isoformat(),
            "lastError": f.last_error,
        }
        for f in found
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
    elif as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["shop"])
        writer.writeheader()
        writer.writerows(rows)
    else:
        table = Table("shop", "order", "name", "error code", "attempts", "last attempt", "error")
        for row in rows:
            table.add_row(
                row["shop"],
                row["orderId"],
                row["name"],
                row["errorCode"],
                str(row["attempts"]),
                zoned_time(row["lastAttemptAt"], settings.time_zone),
                row["lastError"],  # whole, wrapped at words by the table
            )
        console.print(table)
        click.echo(f"{len(rows)} outstanding", err=True)


@main.command()
@filter_options[0]
@filter_options[1]
@json_option
@click.pass_obj
@library_errors
def retry(settings: Settings, shop_name: str | None, error_code: str | None, as_json: bool) -> None:
    """Re-import every outstanding failed order and report how many pass now.

    \b
    Example:
      loginsights retry --shop hc-demo --error-code missing_phone
    """
    wiring = Wiring(settings, os.environ)
    outstanding = wiring.ledger.outstanding_failures(shop=shop_name, error_code=error_code)
    shops = {
        name: wiring.context(name) for name in {f.shop for f in outstanding} if name in wiring.shops
    }
    with click.progressbar(length=len(outstanding), label="retrying", file=sys.stderr) as bar:
        report = retry_outstanding(shops, outstanding, on_order=lambda _: bar.update(1))
    summary = {
        "retried": report.retried,
        "passed": report.passed,
        "stillFailing": report.still_failing,
        "notFound": report.not_found,
        "skippedUnknownShop": len(outstanding) - report.retried,
    }
    if as_json:
        click.echo(json_record({**summary, "orders": [asdict(o) for o in report.outcomes]}))
    else:
        click.echo(
            f"{report.passed} of {report.retried} now pass; {report.still_failing} still fail, "
            f"{report.not_found} not found at the platform"
        )


@main.command()
@click.argument("order")
@click.option("--shop", "shop_name", help="Only this shop (when ids repeat across shops).")
@json_option
@click.pass_obj
@library_errors
def show(settings: Settings, order: str, shop_name: str | None, as_json: bool) -> None:
    """The failure history and raw payload of an order, by id or name (#1001).

    \b
    Example:
      loginsights show '#1001'
      loginsights show 450789469 --shop hc-demo --json
    """
    wiring = Wiring(settings, os.environ)
    ledger = wiring.ledger
    stories = describe_order(ledger, order, shop=shop_name)
    if not stories and shop_name is not None and shop_name not in ledger.checkpoints():
        known = sorted(set(ledger.checkpoints()))
        raise click.ClickException(
            f"no shop {shop_name!r} in the ledger ({ledger.path}); "
            + (f"its shops are {', '.join(known)}" if known else "it holds no shop yet")
        )
    if not stories:
        raise click.ClickException(
            f"no order {order!r} in the ledger ({ledger.path}); check the id or name, or import "
            "it with `loginsights reimport --shop S --order-id ID`"
        )
    if as_json:
        click.echo(json.dumps(stories, ensure_ascii=False))
        return
    zones = shop_zones(settings)
    for story in stories:
        zone = zones.get(story["shop"], settings.time_zone)
        click.echo(f"{story['shop']} order {story['orderId']} {story['name']}")
        failure = story["failure"]
        if failure:
            resolved = failure["resolvedAt"]
            state = f"resolved {zoned_time(resolved, zone)}" if resolved else "outstanding"
            attempts = failure["attempts"]
            click.echo(f"  failure: {attempts} attempt{'' if attempts == 1 else 's'}, {state}")
        if story["waiting"]:
            click.echo(f"  waiting: {story['waiting']['sentence']}")
        for attempt in story["history"]:
            when = zoned_time(attempt["at"], zone)
            click.echo(f"  {when}  {attempt['errorCode']}: {attempt['error']}")
        for version in story["versions"]:
            tags = f" (tagged {', '.join(version['tags'])})" if version["tags"] else ""
            imported = zoned_time(version["importedAt"], zone) if version.get("importedAt") else ""
            click.echo(
                f"  version {version['version']}: {version['status']}{tags}, imported {imported}"
            )
        if story["payload"] is not None:
            click.echo("  payload as the platform sent it:")
            click.echo(json.dumps(story["payload"], indent=2, ensure_ascii=False))
