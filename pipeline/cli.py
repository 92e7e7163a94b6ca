"""The ``loginsights`` command: parse, call one library function, print.

Library errors become ``click.ClickException`` here and nowhere else. Logs go to stderr so that
stdout stays data (tables, or JSON with ``--json``).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from pipeline import demo
from pipeline.errors import LogInsightsError
from pipeline.indexing import IndexReport, LogInsightsIndex
from pipeline.models import LOG_DOCUMENT_FIELDS
from pipeline.query import LogInsightsQuery, compact_json, documented_request
from pipeline.settings import Settings
from pipeline.solr.install import ConfigsetInstaller
from pipeline.solr.local import LocalSolr

F = TypeVar("F", bound=Callable[..., Any])

console = Console(markup=False, highlight=False)
err_console = Console(stderr=True, markup=False, highlight=False)


def library_errors(command: F) -> F:
    """Turn the library's errors into one clear line and exit status 1."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except LogInsightsError as err:
            raise click.ClickException(str(err)) from err

    return wrapper  # type: ignore[return-value]


def json_option(command: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--solr-url",
    envvar="LOGINSIGHTS_SOLR_URL",
    help="Solr base URL ending in /solr [default: http://127.0.0.1:8983/solr].",
)
@click.option("--collection", envvar="LOGINSIGHTS_COLLECTION", help="[default: logInsights]")
@click.option("-v", "--verbose", is_flag=True, help="Log progress details to stderr.")
@click.pass_context
def main(ctx: click.Context, solr_url: str | None, collection: str | None, verbose: bool) -> None:
    """Import shop orders and find every failed import in Solr's logInsights.

    \b
    Example:
      loginsights solr start
      loginsights demo
      loginsights query 'docType:SHOPIFY_ORDER'
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr)
    logging.getLogger("pysolr").setLevel(logging.CRITICAL)  # its errors reach us as exceptions
    overrides: dict[str, Any] = {}
    if solr_url:
        overrides["solr_url"] = solr_url
    if collection:
        overrides["collection"] = collection
    try:
        ctx.obj = Settings(**overrides)
    except ValidationError as err:
        raise click.ClickException(f"invalid settings: {err}") from err


# -- solr ------------------------------------------------------------------------------------


@main.group()
def solr() -> None:
    """Run a local Solr 9 (built from Maven Central) or prepare any Solr 9 for logInsights."""


@solr.command("build")
@click.option("--force", is_flag=True, help="Rebuild even if an up-to-date build exists.")
@click.pass_obj
@library_errors
def solr_build(settings: Settings, force: bool) -> None:
    """Build the local Solr launcher with Maven (cached; only the first build downloads).

    \b
    Example:
      loginsights solr build
    """
    with err_console.status("building Solr from Maven Central artifacts…"):
        classpath = LocalSolr.from_settings(settings).build(force=force)
    click.echo(f"built: {classpath.split(':')[0]}")


@solr.command("start")
@click.option("--standalone", is_flag=True, help="One standalone node instead of SolrCloud.")
@click.option("--nodes", default=1, show_default=True, help="SolrCloud nodes (ports P, P+1, …).")
@click.option("--port", default=8983, show_default=True, help="Port of the first node.")
@click.option(
    "--auto-delete-seconds",
    type=int,
    help="How often Solr deletes expired documents [default: 300].",
)
@json_option
@click.pass_obj
@library_errors
def solr_start(
    settings: Settings,
    standalone: bool,
    nodes: int,
    port: int,
    auto_delete_seconds: int | None,
    as_json: bool,
) -> None:
    """Start a real Solr 9 on 127.0.0.1 in the background, with logInsights installed.

    Builds it first if needed, waits until it is healthy, and returns. Running it again while
    it runs only re-installs the configset.

    \b
    Example:
      loginsights solr start                 # SolrCloud, embedded ZooKeeper, port 8983
      loginsights solr start --nodes 2 --port 18983
      loginsights solr start --standalone --port 8984
    """
    if auto_delete_seconds is not None:
        settings = settings.model_copy(update={"auto_delete_period_seconds": auto_delete_seconds})
    local = LocalSolr.from_settings(settings)
    mode = "standalone" if standalone else "cloud"
    with err_console.status(f"starting Solr ({mode}) on port {port}…"):
        running, installed = local.start(mode=mode, nodes=nodes, port=port)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "mode": running.mode,
                    "pid": running.pid,
                    "urls": list(running.urls),
                    "zkHost": running.zk_host,
                    "collection": installed.collection,
                    "solrVersion": installed.solr_version,
                    "log": str(running.log_path),
                }
            )
        )
        return
    click.echo(f"Solr {installed.solr_version} ({running.mode}) is up: {running.solr_url}")
    click.echo(f"collection {installed.collection}: {'created' if installed.created else 'ready'}")
    click.echo(f"log: {running.log_path}")
    if running.solr_url != settings.solr_url:
        click.echo(f"use it with: export LOGINSIGHTS_SOLR_URL={running.solr_url}")


@solr.command("status")
@click.option("--port", default=8983, show_default=True)
@json_option
@click.pass_obj
@library_errors
def solr_status(settings: Settings, port: int, as_json: bool) -> None:
    """Say whether the local Solr on PORT runs, answers, and how many documents it holds.

    Exits with status 1 when it is not healthy.

    \b
    Example:
      loginsights solr status --json
    """
    status = LocalSolr.from_settings(settings).status(port)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "port": status.port,
                    "running": status.running,
                    "healthy": status.healthy,
                    "documents": status.documents,
                    "urls": list(status.solr.urls) if status.solr else [],
                    "mode": status.solr.mode if status.solr else None,
                    "detail": status.detail,
                }
            )
        )
    elif status.solr is None:
        click.echo(f"no local Solr on port {port}; start one with `loginsights solr start`")
    else:
        click.echo(f"{status.solr.mode} Solr pid {status.solr.pid}: {status.detail}")
        click.echo(f"urls: {', '.join(status.solr.urls)}")
        if status.documents is not None:
            click.echo(f"{settings.collection}: {status.documents} documents")
        click.echo(f"log: {status.solr.log_path}")
    if not status.healthy:
        sys.exit(1)


@solr.command("stop")
@click.option("--port", default=8983, show_default=True)
@click.pass_obj
@library_errors
def solr_stop(settings: Settings, port: int) -> None:
    """Stop the local Solr on PORT; its documents stay for the next start.

    \b
    Example:
      loginsights solr stop --port 8983
    """
    stopped = LocalSolr.from_settings(settings).stop(port)
    click.echo("stopped" if stopped else f"no local Solr was running on port {port}")


@solr.command("init")
@click.option("--replicas", type=int, help="Replication factor [default: live nodes, up to 3].")
@json_option
@click.pass_obj
@library_errors
def solr_init(settings: Settings, replicas: int | None, as_json: bool) -> None:
    """Install the logInsights configset and create the collection on any Solr 9.

    SolrCloud gets the configset uploaded; a standalone node on this machine gets it copied
    into its configsets folder. Safe to run again: it refreshes and reloads.

    \b
    Example:
      loginsights --solr-url http://solr:8983/solr solr init
    """
    installer = ConfigsetInstaller(
        settings.solr_url, configset_dir=settings.configset_dir, collection=settings.collection
    )
    done = installer.install(replication_factor=replicas)
    if as_json:
        click.echo(json.dumps(done.__dict__))
    else:
        verb = "created" if done.created else "refreshed"
        click.echo(f"{done.collection} {verb} on Solr {done.solr_version} ({done.mode})")


# -- query -----------------------------------------------------------------------------------


@main.command()
@click.argument("q", default="*:*")
@click.option("--fq", multiple=True, help="Filter query; repeat for several.")
@click.option("--rows", type=int, help="How many documents [Solr's default: 10].")
@click.option("--sort", help="For example 'timestamp desc'.")
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
    core: str,
    as_json: bool,
) -> None:
    """Run the documented logInsights request and show the failed imports it finds.

    \b
    Example:
      loginsights query 'docType:SHOPIFY_ORDER'
      loginsights query 'docType:SHOPIFY_ORDER' --fq 'timestamp:[NOW-1DAY TO *]' --json
    """
    request = documented_request(q, fq=fq, rows=rows, sort=sort)
    answer = LogInsightsQuery.from_settings(settings).run(request, core)
    if as_json:
        click.echo(answer.text.strip())
    else:
        body = answer.json()
        if not answer.ok:
            raise click.ClickException(
                f"Solr refused the query (HTTP {answer.status}): "
                f"{body.get('error', {}).get('msg', answer.text[:200])}"
            )
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

    \b
    Example:
      loginsights solr start && loginsights demo && loginsights query 'docType:SHOPIFY_ORDER'
    """
    attempts = demo.sample_failed_attempts()
    index = LogInsightsIndex.from_settings(settings)
    with click.progressbar(length=len(attempts), label="indexing", file=sys.stderr) as bar:
        report = index.record_failures(attempts, on_progress=bar.update)
    index.refresh()
    _print_report(report, as_json)


def _print_report(report: IndexReport, as_json: bool) -> None:
    if as_json:
        click.echo(
            json.dumps(
                {
                    "indexed": report.indexed,
                    "refused": [r.__dict__ for r in report.refused],
                }
            )
        )
        return
    click.echo(f"indexed {len(report.indexed)} log documents")
    for refused in report.refused:
        click.echo(f"refused {refused.document_id}: {refused.reason}", err=True)
