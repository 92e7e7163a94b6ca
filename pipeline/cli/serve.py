"""`loginsights serve`: the HTTP API, optionally with the import worker in the same process."""

from __future__ import annotations

import logging
import os
import threading

import click

from pipeline.cli.group import library_errors, main
from pipeline.events import EventStream, Listener
from pipeline.notify import NotifierLoop
from pipeline.runner import RunOptions, run_forever
from pipeline.settings import Settings
from pipeline.wiring import Wiring


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, help="Port to listen on.")
@click.option("--worker", is_flag=True, help="Also run the import worker (like `run`) here.")
@click.option("--shop", "shop_names", multiple=True, help="With --worker: only these shops.")
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="Log each request (path and status, never the query string).",
)
@click.pass_obj
@library_errors
def serve(
    settings: Settings,
    host: str,
    port: int,
    worker: bool,
    shop_names: tuple[str, ...],
    access_log: bool,
) -> None:
    """Serve the failure console at /, /api/solr-query (seed 000), /healthz, /metrics.

    Shops of the shops file with webhook_secret_env also receive their platform's order
    webhooks at POST /webhooks/shopify and /webhooks/shoplazza (see `loginsights webhooks`).

    Callers send 'Authorization: Bearer <token>' with one of LOGINSIGHTS_API_TOKENS
    (comma-separated); the console logs in with the same tokens, and those of
    LOGINSIGHTS_API_ADMIN_TOKENS may also re-import, refresh and retry. Without a token the
    API is served on a loopback address only.
    Stops cleanly on SIGTERM or Ctrl-C.

    \b
    Example:
      LOGINSIGHTS_API_TOKENS=s3cret loginsights serve --port 8080
      curl -X GET -H 'Authorization: Bearer s3cret' -H 'Content-Type: application/json' \\
        -d '{"json":{"params":{"q":"docType:SHOPIFY_ORDER"}},"coreName":"logInsights"}' \\
        http://127.0.0.1:8080/api/solr-query
    """
    import uvicorn  # the web stack loads only for this command, keeping the others quick

    from pipeline.api.serving import server_config

    logging.getLogger("loginsights.access").setLevel(logging.INFO)

    from pipeline.api import ApiMetrics, create_app, exposure_warning

    warning = exposure_warning(settings, host)
    if warning:
        click.secho(warning, err=True, fg="red", bold=True)
    metrics = ApiMetrics()
    stop = threading.Event()
    thread = None
    wiring = Wiring(settings, os.environ)  # one ledger and one flusher for the whole process
    has_shops = settings.shops_file.is_file()
    if worker:
        notifier = wiring.notifier()
        listeners: list[Listener] = [metrics]
        if notifier is not None:
            listeners.append(notifier)
            NotifierLoop(notifier, stop).start()
        events = EventStream(listeners)
        workers = wiring.workers(shop_names, stop=stop, events=events)
        thread = threading.Thread(
            target=run_forever,
            args=(workers, wiring.flusher),
            kwargs={
                "stop": stop,
                "options": RunOptions(poll_seconds=settings.poll_seconds),
                "events": events,
                "bell": wiring.notice_bell(),
            },
            name="import-worker",
            daemon=True,
        )
        thread.start()
    # the console's actions act through the shop's context; without a shops file they say so
    app = create_app(
        settings, metrics=metrics, access_log=access_log, ledger=wiring.ledger,
        shop_context=wiring.context, webhooks=wiring.webhook_inbox() if has_shops else None,
    )  # fmt: skip
    config = server_config(app, settings, host=host, port=port)
    try:
        uvicorn.Server(config).run()
    finally:
        stop.set()
        if thread:
            thread.join(timeout=60)
