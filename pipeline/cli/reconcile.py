"""`loginsights reconcile`: seed 002's daily reconciliation of one shop, as a command."""

from __future__ import annotations

import csv
import os
import sys

import click
from rich.table import Table

from pipeline.cli.group import (
    console,
    json_option,
    json_record,
    library_errors,
    main,
    shop_option,
    steps,
)
from pipeline.reconcile import reconcile as run_reconciliation
from pipeline.settings import Settings
from pipeline.wiring import Wiring


@main.command()
@shop_option
@click.option(
    "--hours",
    type=click.FloatRange(0, 24 * 400, min_open=True),
    default=24.0,
    show_default=True,
    help="Orders created this far back (more than 0, up to 400 days).",
)
@click.option("--dry-run", is_flag=True, help="Count and list what is missing; import nothing.")
@click.option("--csv", "as_csv", is_flag=True, help="Write the orders by reason as CSV.")
@json_option
@click.pass_obj
@library_errors
def reconcile(
    settings: Settings,
    shop_name: str,
    hours: float,
    dry_run: bool,
    as_csv: bool,
    as_json: bool,
) -> None:
    """Import every order the platform created in the last HOURS that the store lacks.

    The report (at the source, already imported, imported now, failed now) is kept in the
    ledger and indexed in logInsights as docType ORDER_RECONCILIATION. `loginsights run`
    does this daily at midnight in each shop's time zone; from cron instead (CRON_TZ set to
    the shop's zone): `5 0 * * * loginsights --shops-file /etc/loginsights/shops.toml
    reconcile --shop hc-demo`.

    Beside the counts it lists the orders to act on, by reason: missing in the store (imported
    now, or failed now), cancelled at the platform but open in the store, cancelled in the
    store but open at the platform. `reconcile_exclude = ["pos", "cancelled"]` in the shops
    file leaves such orders out.

    \b
    Example:
      loginsights reconcile --shop hc-demo --dry-run
      loginsights reconcile --shop hc-demo --hours 48 --json
      loginsights reconcile --shop hc-demo --csv > reconciliation.csv
    """
    shop = Wiring(settings, os.environ).context(shop_name)
    with steps(f"reconciling {shop_name}") as step:
        report = run_reconciliation(shop, hours=hours, dry_run=dry_run, progress=step)
    if as_json:
        click.echo(json_record(report))
        return
    if as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(["shop", "orderId", "reason"])
        for order in report.orders:
            writer.writerow([report.shop, order.order_id, order.reason.value])
        for order_id in report.missing_ids if report.dry_run else []:
            writer.writerow([report.shop, order_id, "missing"])
        return
    table = Table("at the source", "already imported", "imported now", "failed now", "missing")
    table.add_row(
        *(
            str(n)
            for n in (
                report.at_source,
                report.already_imported,
                report.imported_now,
                report.failed_now,
                report.missing,
            )
        )
    )
    console.print(table)
    reasons = Table("reason", "orders")
    for reason, count in report.by_reason().items():
        reasons.add_row(reason, str(count))
    reasons.add_row("excluded by reconcile_exclude", str(report.excluded))
    console.print(reasons)
    console.print(report.summary())
