"""`loginsights import | run | outbox`: getting orders in, keeping failures visible."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from pipeline.cli.group import Moment, json_option, library_errors, main, shop_zones
from pipeline.errors import ConfigurationError
from pipeline.events import Event, EventStream, Listener
from pipeline.models import zoned_time
from pipeline.notify import NotifierLoop
from pipeline.reports import ReconciliationReport, WindowReport
from pipeline.runner import RunOptions, run_forever
from pipeline.settings import Settings
from pipeline.wiring import Wiring

if TYPE_CHECKING:
    pass


def _in_zone(moment: datetime, option: str, zone_name: str) -> datetime:
    """A time without a zone is read in the shop's zone, and the reading is printed."""
    if moment.tzinfo is not None:
        return moment
    local = moment.replace(tzinfo=ZoneInfo(zone_name))
    click.echo(
        f"{option} {moment.isoformat()} has no zone: read in the shop's zone {zone_name}, "
        f"that is {local.astimezone(UTC).isoformat()}",
        err=True,
    )
    return local


class RunLog:
    """What `run` prints as it happens, a listener of the run's events: a line for each window
    with orders (empty ones, most in a quiet fleet, are only counted in /metrics) and each
    reconciliation's summary."""

    def __init__(self, zones: dict[str, str]) -> None:
        self.zones = zones

    def hear(self, event: Event) -> None:
        if isinstance(event, WindowReport) and event.seen:
            click.echo(_window_line(event, self.zones.get(event.shop, "UTC")), err=True)
        elif isinstance(event, ReconciliationReport):
            click.echo(event.summary(), err=True)


def _window_line(report: WindowReport, zone: str) -> str:
    """One window, named by its shop (several shops' lines interleave in `run`), its bounds in
    the shop's zone as every time a person reads."""
    window = report.window
    start, end = zoned_time(window.start, zone), zoned_time(window.end, zone)
    return (
        f"{report.shop}: {start} to {end}: {report.seen} seen = {report.imported} imported + "
        f"{report.already} already imported + {report.failed} new failures + "
        f"{report.unchanged} still failing"
        + (f" + {report.waiting} waiting (not orders to ship yet)" if report.waiting else "")
    )


@main.command("import")
@click.option("--shop", "shop_name", required=True, help="A shop of the shops file.")
@click.option("--from", "start", type=Moment(), help="Start of an explicit range (ISO 8601).")
@click.option("--to", "end", type=Moment(), help="End of an explicit range, exclusive (ISO 8601).")
@json_option
@click.pass_obj
@library_errors
def import_orders(
    settings: Settings,
    shop_name: str,
    start: datetime | None,
    end: datetime | None,
    as_json: bool,
) -> None:
    """Import a shop's orders once: from its checkpoint up to now, or an explicit range.

    Failed orders are recorded in the ledger and posted to logInsights; the checkpoint moves
    only past windows that were imported completely.

    \b
    Example:
      loginsights --shops-file shops.toml import --shop hc-demo
      loginsights import --shop hc-demo --from 2026-11-21T00:00:00Z --to 2026-11-22T00:00:00Z
    """
    wiring = Wiring(settings, os.environ)
    worker = wiring.worker(shop_name)
    shop, ledger = worker.shop, wiring.ledger
    reports: list[WindowReport] = []
    span: tuple[datetime, datetime] | None = None
    if start or end:  # checked before anything is said of importing
        if not (start and end):
            raise click.UsageError("--from and --to go together")
        span = (_in_zone(start, "--from", shop.time_zone), _in_zone(end, "--to", shop.time_zone))
        try:
            worker.check_range(*span)
        except ConfigurationError as err:
            raise click.BadParameter(str(err), param_hint="'--to'") from err
    with click.progressbar(length=0, label=f"importing {shop_name}", file=sys.stderr) as bar:

        def tick(_: str) -> None:
            bar.update(1)

        def said(report: WindowReport) -> None:  # each window as it ends, not all at the end
            if not as_json:
                click.echo(_window_line(report, shop.time_zone))

        if span is not None:
            reports = worker.import_range(*span, on_order=tick, on_window=said)
        else:
            reports = worker.catch_up(on_order=tick, on_window=said)
        looked = worker.look_again()
    flushed = wiring.flusher.flush()
    waiting_now = ledger.waiting_counts(shop_name).get(shop_name, {})
    waiting, dead = ledger.outbox_counts()
    totals = {
        "shop": shop_name,
        "windows": len(reports),
        "seen": sum(r.seen for r in reports),
        "imported": sum(r.imported for r in reports),
        "alreadyImported": sum(r.already for r in reports),
        "failed": sum(r.failed for r in reports),
        "failedUnchanged": sum(r.unchanged for r in reports),
        "waiting": sum(r.waiting for r in reports),
        "lookedAgain": looked.orders,
        "importedAfterWaiting": looked.imported,
        "waitingNow": waiting_now,
        "checkpoint": (cp.isoformat() if (cp := ledger.checkpoint(shop_name)) else None),
        "outboxWaiting": waiting,
        "outboxDead": dead,
        "solrDown": flushed.solr_down,
    }
    if as_json:
        click.echo(json.dumps(totals))
        return
    click.echo(
        f"{shop_name}: {totals['imported']} imported, {totals['failed']} failed, "
        f"{totals['alreadyImported']} already imported; checkpoint {totals['checkpoint']}"
    )
    if looked.orders:
        click.echo(
            f"{shop_name}: looked again at {looked.orders} waiting orders: {looked.imported} "
            f"imported, {looked.failed} failed, {looked.waiting} still waiting"
        )
    if waiting_now:
        reasons = ", ".join(f"{n} {r.replace('_', ' ')}" for r, n in sorted(waiting_now.items()))
        click.echo(
            f"{shop_name}: {sum(waiting_now.values())} orders wait, not imported ({reasons}): "
            "they are looked at again and imported once the platform shows them placed; "
            "`loginsights show ORDER --shop " + shop_name + "` says why for one",
            err=True,
        )
    if waiting:
        click.echo(
            f"{waiting} log documents wait for Solr in the outbox; they are posted by the next "
            "`loginsights import`, `loginsights run` or `loginsights outbox --flush`",
            err=True,
        )


@main.command()
@click.option("--shop", "shop_names", multiple=True, help="Only these shops [default: all].")
@click.option(
    "--poll",
    type=click.FloatRange(1, 86_400),
    help="Seconds between passes of a shop, 1 to 86400 [default: 30].",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    help="Shops worked at once [default: one per shop, at most 32].",
)
@click.option("--worker-name", default="", help="Name in `loginsights workers` [host:pid].")
@click.option(
    "--lease-seconds",
    type=click.FloatRange(5, 3600),
    default=30,
    show_default=True,
    help="A shop is taken over from a worker silent this long (its heartbeat renews a quarter "
    "of this apart).",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65_535),
    help="Serve Prometheus metrics (lag, latency, calls, failures) on 127.0.0.1:PORT/metrics.",
)
@click.pass_obj
@library_errors
def run(
    settings: Settings,
    shop_names: tuple[str, ...],
    poll: float | None,
    concurrency: int | None,
    worker_name: str,
    lease_seconds: float,
    metrics_port: int | None,
) -> None:
    """Import continuously: many shops at once, pass after pass, until SIGTERM or Ctrl-C.

    Each shop is worked under a lease in the ledger, so any number of `run` processes pointed
    at one PostgreSQL ledger (LOGINSIGHTS_LEDGER_URL) share the shops; a worker that dies or
    hangs loses its shops to the others after --lease-seconds. Each shop is paced by its
    platform's own budget. Each is also reconciled once a day, just after midnight in its time
    zone (seed 002). Shops with webhooks (see `loginsights webhooks`) are imported as soon as
    a notice arrives. Each window that found orders prints a line; empty ones are counted in
    --metrics-port's loginsights_worker_windows. On SIGTERM the current windows are abandoned
    (their checkpoints do not move), the outbox is flushed, and the command exits 0.

    \b
    Example:
      loginsights --shops-file shops.toml run --poll 15
      LOGINSIGHTS_LEDGER_URL=postgresql+psycopg://li:pw@db/li loginsights run --concurrency 20
      loginsights run --metrics-port 9464
    """
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    wiring = Wiring(settings, os.environ)
    from prometheus_client import start_http_server

    from pipeline.api.metrics import ApiMetrics  # loads the web stack: only for this command

    metrics = ApiMetrics()
    if metrics_port:
        start_http_server(metrics_port, addr="127.0.0.1", registry=metrics.registry)
    notifier = wiring.notifier()
    listeners: list[Listener] = [metrics, RunLog(shop_zones(settings))]
    if notifier is not None:
        listeners.append(notifier)
        NotifierLoop(notifier, stop).start()
    events = EventStream(listeners)
    workers = wiring.workers(shop_names, stop=stop, events=events)
    click.echo(f"importing {', '.join(w.shop.name for w in workers)}; stop with SIGTERM", err=True)
    run_forever(
        workers,
        wiring.flusher,
        stop=stop,
        options=RunOptions(
            concurrency=concurrency,
            poll_seconds=poll or settings.poll_seconds,
            lease_seconds=lease_seconds,
            worker_name=worker_name,
        ),
        events=events,
        bell=wiring.notice_bell(),
        shares_bell=wiring.shares_bell(),
        life_lock=wiring.life_lock(),
    )
    click.echo("stopped cleanly", err=True)


@main.command()
@click.option("--flush", is_flag=True, help="Post waiting documents to Solr now.")
@click.option(
    "--retry-dead",
    is_flag=True,
    help="Queue the documents Solr refused again (after fixing the cause), then flush.",
)
@json_option
@click.pass_obj
@library_errors
def outbox(settings: Settings, flush: bool, retry_dead: bool, as_json: bool) -> None:
    """Show how many log documents wait for Solr (and how many Solr refused).

    A document is "refused" only when Solr named it in a per-document error; a Solr that is
    down or restarting leaves documents waiting, and they are posted when it is back.

    \b
    Example:
      loginsights outbox --flush --json
      loginsights outbox --retry-dead
    """
    wiring = Wiring(settings, os.environ)
    ledger, flusher = wiring.ledger, wiring.flusher
    requeued = ledger.outbox_requeue_dead() if retry_dead else 0
    report = flusher.flush() if flush or retry_dead else None
    waiting, dead = ledger.outbox_counts()
    result = {
        "waiting": waiting,
        "refusedBySolr": dead,
        "requeued": requeued,
        "posted": report.posted if report else 0,
        "solrDown": report.solr_down if report else None,
    }
    if as_json:
        click.echo(json.dumps(result))
    else:
        if retry_dead:
            click.echo(f"{requeued} refused documents queued again")
        click.echo(f"{waiting} waiting, {dead} refused by Solr (kept in {ledger.path})")
