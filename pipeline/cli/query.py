"""`loginsights query` and `loginsights demo`: finding failed imports."""

from __future__ import annotations

import json
import os
import sys
from typing import Any
from zoneinfo import ZoneInfo

import click
from rich.table import Table

from pipeline import demo
from pipeline.cli.group import console, err_console, json_option, library_errors, main
from pipeline.documents import failure_renderer
from pipeline.models import LOG_DOCUMENT_FIELDS
from pipeline.query import compact_json, documented_request
from pipeline.settings import Settings
from pipeline.wiring import Wiring

# -- query -----------------------------------------------------------------------------------


@main.command()
@click.argument("q", default="*:*")
@click.option("--fq", multiple=True, help="Filter query; repeat for several.")
@click.option("--rows", type=int, help="How many documents [Solr's default: 10].")
@click.option("--sort", help="For example 'timestamp desc'.")
@click.option(
    "--fl",
    help="Fields to show, e.g. 'shopifyOrderName,errorCode,attempts' [the documented fields]; "
    "the extra fields (orderId, platform, attempts, errorCode, resolved, ...) only when asked.",
)
@click.option("--core", default="logInsights", show_default=True, help="The coreName.")
@json_option
@click.pass_obj
@library_errors
def query(
    settings: Settings,
    q: str,
    fq: tuple[str, ...],
    rows: int | None,
    sort: str | None,
    fl: str | None,
    core: str,
    as_json: bool,
) -> None:
    """Run the documented logInsights request and show the failed imports it finds.

    \b
    Example:
      loginsights query 'docType:SHOPIFY_ORDER'
      loginsights query 'docType:SHOPIFY_ORDER' --fq 'timestamp:[NOW-1DAY TO *]' --json
      loginsights query 'errorCode:missing_address' --fl shopifyOrderName,errorCode,attempts
    """
    request = documented_request(q, fq=fq, rows=rows, sort=sort, fl=fl)
    answer = Wiring(settings, os.environ).search.run(request, core)
    if as_json:
        click.echo(answer.text.strip())
    else:
        if not answer.ok:
            raise click.ClickException(
                f"Solr refused the query (HTTP {answer.status}): {answer.reason()}"
            )
        body = answer.json()
        err_console.print(
            f"request: {compact_json({'json': request, 'coreName': core})}", soft_wrap=True
        )
        _print_documents(body)
    if not answer.ok:
        sys.exit(1)


def _print_documents(body: dict[str, Any]) -> None:
    """One row per document on a wide terminal; one block per document on a narrow one."""
    found = body["response"]["numFound"]
    docs = body["response"]["docs"]
    title = f"{found} found, {len(docs)} shown"
    if console.width >= 180:
        table = Table(title=title, show_lines=True)
        for name in LOG_DOCUMENT_FIELDS:
            table.add_column(name, overflow="fold")
        for doc in docs:
            table.add_row(*(str(doc.get(name, "")) for name in LOG_DOCUMENT_FIELDS))
        console.print(table)
        return
    console.print(title)
    for doc in docs:
        block = Table(show_header=False, box=None, padding=(0, 1))
        block.add_column(style="bold")
        block.add_column(overflow="fold")
        for name in LOG_DOCUMENT_FIELDS:
            block.add_row(name, str(doc.get(name, "")))
        console.rule(str(doc.get("shopifyOrderName", "")))
        console.print(block)


# -- demo ------------------------------------------------------------------------------------


@main.command("demo")
@json_option
@click.pass_obj
@library_errors
def demo_command(settings: Settings, as_json: bool) -> None:
    """Record a few failed import attempts (one order failing twice) into logInsights.

    They go the way every failure goes: facts into the ledger, documents through its outbox.

    \b
    Example:
      loginsights solr start && loginsights demo && loginsights query 'docType:SHOPIFY_ORDER'
    """
    attempts = demo.sample_failed_attempts()
    wiring = Wiring(settings, os.environ)
    ledger, flusher = wiring.ledger, wiring.flusher
    with ledger:
        render = failure_renderer(settings.ttl_for, ZoneInfo(settings.time_zone))
        recorded = ledger.record_failures(attempts, render=render)
        report = flusher.flush()
    result = {"recorded": recorded, "posted": report.posted, "refused": report.refused,
              "waiting": report.waiting, "solrDown": report.solr_down}  # fmt: skip
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"recorded {recorded} failed attempts; {report.posted} log documents posted")
    if report.waiting:
        click.echo(f"{report.waiting} wait for Solr: {report.error}", err=True)
