"""`loginsights solr …`: run a local Solr 9 or prepare any Solr 9."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from pipeline.cli.group import err_console, json_option, library_errors, main
from pipeline.settings import Settings
from pipeline.solr.accounts import SolrRole, accounts_or_new, write_private
from pipeline.solr.install import ConfigsetInstaller
from pipeline.solr.local import LocalSolr
from pipeline.solr.people import People, people_in, people_security, together
from pipeline.solr.zookeeper import put_security_json, read_security_json


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
@click.option("--shards", default=1, show_default=True, help="Shards of a new collection.")
@click.option(
    "--replication-factor",
    type=int,
    help="Replicas per shard of a new collection [default: one per node].",
)
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
    shards: int,
    replication_factor: int | None,
    auto_delete_seconds: int | None,
    as_json: bool,
) -> None:
    """Start a real Solr 9 on 127.0.0.1 in the background, with logInsights installed.

    Builds it first if needed, waits until it is healthy, and returns. Running it again while
    it runs re-installs the configset and brings back a node stopped with `solr stop --node`.

    \b
    Example:
      loginsights solr start                 # SolrCloud, embedded ZooKeeper, port 8983
      loginsights solr start --nodes 2 --shards 2 --replication-factor 2 --port 18983
      loginsights solr start --standalone --port 8984
    """
    if auto_delete_seconds is not None:
        settings = settings.model_copy(update={"auto_delete_period_seconds": auto_delete_seconds})
    local = LocalSolr.from_settings(settings)
    mode = "standalone" if standalone else "cloud"
    with err_console.status(f"starting Solr ({mode}) on port {port}…"):
        running, installed = local.start(
            mode=mode,
            nodes=nodes,
            port=port,
            shards=shards,
            replication_factor=replication_factor,
        )
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
@click.option("--port", default=8983, show_default=True, help="Port of the node to ask.")
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
@click.option("--port", default=8983, show_default=True, help="Port of the first node.")
@click.option(
    "--node",
    "node_port",
    type=int,
    help="Stop only the node on this port (node loss, by hand); `solr start` brings it back.",
)
@click.pass_obj
@library_errors
def solr_stop(settings: Settings, port: int, node_port: int | None) -> None:
    """Stop the local Solr on PORT (or one of its nodes); its documents stay for the next start.

    \b
    Example:
      loginsights solr stop --port 8983
      loginsights solr stop --port 18983 --node 18984     # one node of a two-node cluster
    """
    local = LocalSolr.from_settings(settings)
    if node_port is not None:
        local.stop_node(port, node_port)
        click.echo(f"stopped the node on port {node_port}; `loginsights solr start` restarts it")
        return
    stopped = local.stop(port)
    click.echo("stopped" if stopped else f"no local Solr was running on port {port}")


@solr.command("secure")
@click.option("--zk-host", "zk_host", help="Write /security.json into this ZooKeeper "
              "(host:port[/chroot]) [default: --zk-host of loginsights].")  # fmt: skip
@click.option("--write", "path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write security.json to this file (a standalone node's home).")  # fmt: skip
@click.option("--standalone", is_flag=True, help="Rules for a standalone node (paths only).")
@json_option
@click.pass_obj
@library_errors
def solr_secure(
    settings: Settings, zk_host: str | None, path: Path | None, standalone: bool, as_json: bool
) -> None:
    """Make Solr ask for credentials: the indexer may only /update logInsights, the reader only
    /search the allowed cores, the admin everything (security.json, salted hashes only).

    Passwords come from LOGINSIGHTS_SOLR_<INDEXER|READER|ADMIN>_PASSWORD, else the credentials
    file (generated, 0600, when missing). They are never printed. `solr start` does this itself.
    People's operator accounts (`solr users`) are kept: those of people.json and those the
    installed security.json holds already (added from another machine).

    \b
    Example:
      loginsights solr secure --zk-host zookeeper:2181        # before the nodes start
      loginsights solr secure --standalone --write /var/solr/data/security.json
    """
    target = zk_host or settings.zk_host
    if (target is None) == (path is None):
        raise click.UsageError("give exactly one of --zk-host or --write")
    accounts = accounts_or_new(settings.solr_accounts(), settings.credentials_path)
    people = People(settings.people_path, None, None).all()
    if path is None:
        assert target is not None
        installed = read_security_json(target, credentials=settings.zk_credentials())
        people = together(people_in(installed), people)
    security = accounts.security_json(
        collection=settings.collection,
        searchable=settings.api_allowed_cores,
        standalone=standalone,
        people=people_security(people),
    )
    if path is not None:
        write_private(path, json.dumps(security, indent=2))
        where = str(path)
    else:
        assert target is not None
        put_security_json(target, security, credentials=settings.zk_credentials())
        where = f"{target} /security.json"
    users = {account.role.value: account.user for account in accounts}
    if as_json:
        click.echo(json.dumps({"written": where, "users": users}))
    else:
        click.echo(f"security.json written to {where}; users: " +
                   ", ".join(f"{role} {user}" for role, user in users.items()))  # fmt: skip


@solr.command("credentials")
@json_option
@click.pass_obj
@library_errors
def solr_credentials(settings: Settings, as_json: bool) -> None:
    """Say which Solr users loginsights logs in as and where their passwords come from (the
    environment, or the credentials file of the local Solr); never the passwords themselves.

    \b
    Example:
      loginsights solr credentials --json
    """
    accounts = settings.solr_accounts()
    from_env = {
        SolrRole.INDEXER: settings.solr_indexer_password is not None,
        SolrRole.READER: settings.solr_reader_password is not None,
        SolrRole.ADMIN: settings.solr_admin_password is not None,
    }
    rows = [
        {
            "role": account.role.value,
            "user": account.user,
            "passwordFrom": (
                f"LOGINSIGHTS_SOLR_{account.role.name}_PASSWORD"
                if from_env[account.role]
                else str(settings.credentials_path)
            ),
        }  # fmt: skip
        for account in accounts or ()
    ]
    if as_json:
        click.echo(json.dumps({"credentialsFile": str(settings.credentials_path), "users": rows}))
        return
    if not rows:
        click.echo(
            f"no Solr credentials: none in the environment and no {settings.credentials_path}; "
            "`loginsights solr start` generates them, or set LOGINSIGHTS_SOLR_*_PASSWORD"
        )
        return
    for row in rows:
        click.echo(f"{row['role']}: {row['user']} (password from {row['passwordFrom']})")


@solr.command("init")
@click.option(
    "--replication-factor",
    "--replicas",
    "replicas",
    type=int,
    help="Replicas per shard [default: live nodes, up to 3].",
)
@click.option("--shards", default=1, show_default=True, help="Shards of a new collection.")
@json_option
@click.pass_obj
@library_errors
def solr_init(settings: Settings, replicas: int | None, shards: int, as_json: bool) -> None:
    """Install the logInsights configset and create the collection on any Solr 9.

    SolrCloud gets the configset uploaded; a standalone node on this machine gets it copied
    into its configsets folder. Safe to run again: it refreshes and reloads.

    \b
    Example:
      loginsights --solr-url http://solr:8983/solr solr init
      loginsights --solr-url http://solr1:8983/solr solr init --shards 2 --replication-factor 2
    """
    installer = ConfigsetInstaller(
        settings.solr_url,
        configset_dir=settings.configset_dir,
        collection=settings.collection,
        account=settings.solr_account(SolrRole.ADMIN),
    )
    done = installer.install(replication_factor=replicas, shards=shards)
    if as_json:
        click.echo(json.dumps(done.__dict__))
    else:
        verb = "created" if done.created else "refreshed"
        click.echo(f"{done.collection} {verb} on Solr {done.solr_version} ({done.mode})")
    if done.needs_reindex:
        err_console.print(
            f"the new configset gives docValues to {', '.join(done.needs_reindex)}; documents "
            "indexed before lack them (/export, streaming expressions and SQL need them): run "
            "`loginsights solr reindex` to post every failure again from the ledger"
        )


@solr.command("reindex")
@click.option("--shop", help="Only this shop's documents.")
@click.option(
    "--fresh",
    is_flag=True,
    help="With --shop: delete the shop's failure documents in Solr first, so Solr holds exactly "
    "the failures the ledger knows (after the ledger was reset).",
)
@json_option
@click.pass_obj
@library_errors
def solr_reindex(settings: Settings, shop: str | None, fresh: bool, as_json: bool) -> None:
    """Post every failure document again, rendered from the ledger's facts (after a schema change
    that needs a reindex, or a lost collection). Versions move forward; nothing is lost.

    \b
    Example:
      loginsights solr reindex
      loginsights solr reindex --shop hc-demo --fresh    # Solr as the ledger says, no more
    """
    from zoneinfo import ZoneInfo

    from pipeline.documents import failure_renderer
    from pipeline.wiring import Wiring

    if fresh and shop is None:
        raise click.UsageError("--fresh deletes documents: name the shop with --shop")
    wiring = Wiring(settings, os.environ)
    ledger, flusher = wiring.ledger, wiring.flusher
    with ledger, err_console.status("queueing failure documents again…"):
        if fresh:
            assert shop is not None
            flusher.index.forget_shop_failures(shop)
        render = failure_renderer(settings.ttl_for, ZoneInfo(settings.time_zone))
        queued = ledger.requeue_all_documents(render=render, shop=shop)
        report = flusher.flush()
    result = {"queued": queued, "posted": report.posted, "waiting": report.waiting,
              "refused": report.refused, "deletedFirst": fresh}  # fmt: skip
    if as_json:
        click.echo(json.dumps(result))
    else:
        first = f"{shop}'s failure documents deleted in Solr; " if fresh else ""
        click.echo(f"{first}{queued} documents queued, {report.posted} posted, "
                   f"{report.waiting} waiting")  # fmt: skip
