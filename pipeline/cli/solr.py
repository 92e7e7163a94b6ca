"""`loginsights solr …`: run a local Solr 9 or prepare any Solr 9."""

from __future__ import annotations

import json
import sys

import click

from pipeline.cli import err_console, json_option, library_errors, main
from pipeline.settings import Settings
from pipeline.solr.install import ConfigsetInstaller
from pipeline.solr.local import LocalSolr


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
