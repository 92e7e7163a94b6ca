"""`loginsights webhooks register|status`: the push path's subscriptions at the platforms."""

from __future__ import annotations

import os
from dataclasses import asdict
from urllib.parse import urlsplit

import click

from pipeline.cli.group import json_option, json_record, library_errors, main
from pipeline.settings import Settings
from pipeline.webhooks import WebhookState
from pipeline.wiring import Wiring


@main.group()
def webhooks() -> None:
    """Order webhooks: the platforms announce new orders, `serve` imports them at once.

    Shops with webhook_secret_env (Shopify, Shoplazza) receive them at
    <your serve URL>/webhooks/shopify or /webhooks/shoplazza. Polling and the daily
    reconciliation keep running: a lost webhook costs latency, never an order.

    \b
    Example:
      loginsights webhooks register --url https://loginsights.example.com
      loginsights webhooks status --json
    """


def _public_url(_: click.Context, __: click.Parameter, value: str) -> str:
    parts = urlsplit(value)
    local = parts.hostname in ("127.0.0.1", "localhost")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise click.BadParameter(
            f"{value!r}: platforms deliver only to a public https address (e.g. "
            "https://loginsights.example.com, where `loginsights serve` answers)"
        )
    return value.rstrip("/")


@webhooks.command("register")
@click.option(
    "--url",
    required=True,
    callback=_public_url,
    help="The public https address of `loginsights serve`; /webhooks/<platform> is added.",
)
@json_option
@click.pass_obj
@library_errors
def register(settings: Settings, url: str, as_json: bool) -> None:
    """Subscribe each webhook shop's orders/create to this server (once; repeat safely).

    \b
    Example:
      loginsights webhooks register --url https://loginsights.example.com
    """
    _print(Wiring(settings, os.environ).webhook_states(register_at=url), as_json)


@webhooks.command("status")
@json_option
@click.pass_obj
@library_errors
def status(settings: Settings, as_json: bool) -> None:
    """Where each webhook shop's orders/create goes, the notices waiting, the last one received.

    \b
    Example:
      loginsights webhooks status
    """
    _print(Wiring(settings, os.environ).webhook_states(), as_json)


def _print(states: list[WebhookState], as_json: bool) -> None:
    if as_json:
        click.echo(json_record([asdict(state) for state in states]))
    else:
        for state in states:
            where = ", ".join(state.subscribed) or "not subscribed"
            made = " (subscribed now)" if state.created_now else ""
            click.echo(f"{state.shop} ({state.platform}): {where}{made}")
            last = state.last_received_at or "never"
            click.echo(f"  {state.pending} notices waiting; last delivery received {last}")
            if state.problem:
                click.echo(f"  {state.problem}")
    if any(state.problem for state in states):
        raise SystemExit(1)
