"""`loginsights db` and `loginsights workers`: the shared ledger and who works which shop."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import click
from sqlalchemy import create_engine

from pipeline.cli.group import console, json_option, library_errors, main, shop_zones
from pipeline.errors import ConfigurationError
from pipeline.ledger import ledger_url
from pipeline.ledger.migrations import current_revision, head_revision, upgrade
from pipeline.models import zoned_time
from pipeline.settings import Settings
from pipeline.shop_lag import duration_words, shop_lag_report, worker_report
from pipeline.shops import read_shops_file
from pipeline.wiring import Wiring


@main.group()
def db() -> None:
    """The ledger's schema: see where it stands, apply migrations.

    \b
    Example:
      LOGINSIGHTS_LEDGER_URL=postgresql+psycopg://li:pw@db/loginsights loginsights db upgrade
    """


@db.command("upgrade")
@json_option
@click.pass_obj
@library_errors
def db_upgrade(settings: Settings, as_json: bool) -> None:
    """Apply every migration the ledger lacks (an existing SQLite ledger is kept, row for row).

    Run it once per upgrade of loginsights against a shared PostgreSQL ledger; a SQLite ledger
    is also upgraded by itself the first time a command opens it.

    \b
    Example:
      loginsights db upgrade
      loginsights --ledger /var/lib/loginsights/ledger.sqlite3 db upgrade --json
    """
    url = ledger_url(settings.ledger_location)
    engine = create_engine(url)
    try:
        before, after = upgrade(engine)
    finally:
        engine.dispose()
    result = {"ledger": url.render_as_string(), "from": before, "to": after}
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(f"{result['ledger']}: schema {before or 'none'} -> {after}")


@db.command("status")
@json_option
@click.pass_obj
@library_errors
def db_status(settings: Settings, as_json: bool) -> None:
    """Say which schema revision the ledger is at and which one this loginsights needs.

    \b
    Example:
      loginsights db status --json
    """
    url = ledger_url(settings.ledger_location)
    engine = create_engine(url)
    try:
        current = current_revision(engine)
    finally:
        engine.dispose()
    result = {"ledger": url.render_as_string(), "current": current, "head": head_revision()}
    if as_json:
        click.echo(json.dumps(result))
    else:
        state = "up to date" if current == result["head"] else "run `loginsights db upgrade`"
        click.echo(f"{result['ledger']}: at {current or 'none'}, needs {result['head']}: {state}")


@main.command()
@click.option("--by-worker", is_flag=True, help="With --json: one row per live worker instead.")
@json_option
@click.pass_obj
@library_errors
def workers(settings: Settings, by_worker: bool, as_json: bool) -> None:
    """Show each live worker with its share and load, then which worker holds which shop and how
    far each shop's checkpoint is behind now.

    \b
    Example:
      loginsights workers
      loginsights workers --json               # one row per shop, with its worker
      loginsights workers --json --by-worker   # one row per worker, with its share
    """
    try:
        names = read_shops_file(settings.shops_file).names
    except ConfigurationError:
        names = []  # no shops file here: show what the ledger knows
    zones = shop_zones(settings)
    now = datetime.now(UTC)
    with Wiring(settings, os.environ) as wiring:
        rows = shop_lag_report(wiring.ledger, names, now=now)
        crew = worker_report(wiring.ledger, now=now)
    if as_json:
        click.echo(json.dumps(crew if by_worker else rows))
        return
    from rich.table import Table

    if crew:
        workers_table = Table("worker", "since", "shops held", "fair share", "passes a minute",
                              "notice passes a minute", "CPU", "if it dies")  # fmt: skip
        for worker in crew:
            workers_table.add_row(
                worker["worker"], zoned_time(worker["startedAt"], settings.time_zone),
                str(worker["shopsHeld"]), str(worker["share"]), f"{worker['passesPerMinute']:g}",
                f"{worker['noticesPerMinute']:g}", f"{worker['cpuShare']:.0%} of a core",
                "seen at once (life lock)" if worker["lifeLock"] else "seen when its leases lapse",
            )  # fmt: skip
        console.print(workers_table)

    table = Table(
        "shop",
        "worker",
        "lease until",
        "checkpoint",
        "behind by",
        "orders of the last hour waited",
        "problem",
    )
    for row in rows:
        lag, p50, p99 = row["lagSeconds"], row["latencyP50Seconds"], row["latencyP99Seconds"]
        table.add_row(
            row["shop"],
            row["worker"] or "-",
            zoned_time(row["leaseExpiresAt"], zones.get(row["shop"], "UTC"))
            if row["leaseExpiresAt"]
            else "-",
            zoned_time(row["checkpoint"], zones.get(row["shop"], "UTC"))
            if row["checkpoint"]
            else "never imported",
            "-" if lag is None else duration_words(lag),
            "-"
            if p50 is None or p99 is None
            else f"half under {duration_words(p50)}, 99 in 100 under {duration_words(p99)}",
            f"BROKEN: {row['problem']}" if row["problem"] else "-",
        )
    console.print(table)
