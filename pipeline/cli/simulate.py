"""`loginsights simulate`: a simulated shop API on 127.0.0.1, for trying loginsights out."""

from __future__ import annotations

import json
import signal
import sys
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from pipeline.cli.group import main
from pipeline.contracts import Contracts
from pipeline.settings import Settings


@main.command()
@click.argument("platform", type=click.Choice(["shopify", "shoplazza", "sfcc"]))
@click.option("--port", default=0, show_default=True, help="0 picks a free port.")
@click.option("--orders", default=1000, show_default=True, help="How many orders the shop holds.")
@click.option("--seed", default=1, show_default=True, help="Same seed, same orders.")
@click.option("--hours", default=24.0, show_default=True, help="Orders spread over the last HOURS.")
@click.option(
    "--until",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S"]),
    help="The HOURS end at this UTC time, not now: with the same --seed and --orders, the same "
    "orders come back after a restart (the demo prints its own).",
)
@click.option("--shop", default="hc-demo", show_default=True, help="The shop's name in URLs.")
@click.option(
    "--token",
    default=None,
    help="Access token it accepts [default: shpat_simulated for Shopify, shoplazza_simulated "
    "for Shoplazza]. SFCC accepts client id sfcc-client and secret sfcc-secret, organization "
    "f_ecom_zzxy_prd, site RefArch.",
)
@click.option(
    "--rate", default="40:2", show_default=True, help="REST bucket SIZE:LEAK_PER_S (Shopify)."
)
@click.option(
    "--cost",
    default="2000:100",
    show_default=True,
    help="GraphQL cost bucket MAXIMUM:RESTORE_PER_S (Shopify; Standard plan by default).",
)
@click.option("--fault", "faults", multiple=True, help="A fault, e.g. burst5xx:0.05 (repeat).")
@click.option(
    "--webhook-secret",
    help="Shopify, Shoplazza: the app's client secret; orders placed with POST /_sim/place "
    "send a signed orders/create webhook to each subscription (loginsights webhooks register).",
)
@click.option(
    "--envelope",
    type=click.Choice(["seed", "oas"]),
    default="seed",
    show_default=True,
    help="SFCC listings: seed 004's {limit, offset, total, data}, or the OAS's {data} alone.",
)
@click.option(
    "--dates",
    type=click.Choice(["datetime", "days"]),
    default="datetime",
    show_default=True,
    help="SFCC: read creationDateFrom/To as datetimes (seed 004) or as days (commerce-sdk 6.6.0).",
)
@click.pass_obj
def simulate(
    settings: Settings,
    platform: str,
    port: int,
    orders: int,
    seed: int,
    hours: float,
    until: datetime | None,
    shop: str,
    token: str | None,
    rate: str,
    cost: str,
    faults: tuple[str, ...],
    webhook_secret: str | None,
    envelope: str,
    dates: str,
) -> None:
    """Serve a simulated shop API on 127.0.0.1 until stopped (Ctrl-C or SIGTERM).

    Faults: outage:START-END, outage-requests:A-B, burst5xx:SHARE, storm429:START-END,
    storm429-requests:A-B, latency:SECONDS, late:SHARE:SECONDS, missing-address:SHARE,
    missing-phone:SHARE, bad-email:SHARE, unicode:SHARE, many-lines:SHARE (21-300 line
    items), states:SHARE (statuses drawn from the contract's every value), extremes:SHARE,
    webhook-drop:SHARE, webhook-duplicate:SHARE, webhook-delay:SECONDS (times in seconds after
    start-up).

    Change the shop as a merchant or customer would, while it runs:

    \b
      POST /_sim/place             a new order now; {"address": null} makes it fail
      POST /_sim/orders/<number>   change order <number>: fix it, fulfil it, cancel it, e.g.
                                   {"address": {"first_name": "Ada", "last_name": "Lovelace",
                                   "address1": "1 Main Rd.", "city": "Boston",
                                   "province_code": "MA", "zip": "02110",
                                   "country_code": "US"}}, {"phone": "+16175550100"},
                                   {"fulfilled": true}, {"cancelled": true}
      GET  /_sim/stats             calls made, faults answered, orders held

    Then `loginsights reimport --shop S --order-id ID` (or the console's Re-import) imports it
    again.

    \b
    Example:
      loginsights simulate shopify --port 8701 --orders 500 --fault missing-address:0.03
      curl -X POST localhost:8701/_sim/orders/1042 -d '{"phone": "+16175550100"}'
    """
    from pipeline.simulators import (  # here: the simulators load only for this command
        Faults,
        OrderCatalog,
        SfccSimulator,
        ShopifySimulator,
        ShoplazzaSimulator,
    )

    try:
        parsed = Faults.parse(faults)
        size, _, leak = rate.partition(":")
        maximum, _, restore = cost.partition(":")
        now = until.replace(tzinfo=UTC) if until is not None else datetime.now(UTC)
        catalog = OrderCatalog.generate(
            orders, seed=seed, start=now - timedelta(hours=hours), end=now, faults=parsed
        )
    except (ValueError, Exception) as err:
        raise click.ClickException(str(err)) from err
    server: Any
    if platform == "shopify":
        server = ShopifySimulator(
            catalog,
            shop=shop,
            access_token=token or "shpat_simulated",
            bucket_size=int(size),
            leak_rate=float(leak),
            graphql_maximum=float(maximum),
            graphql_restore_rate=float(restore),
            contracts=Contracts(settings.contracts_dir),
            webhook_secret=webhook_secret,
            faults=parsed,
            port=port,
            seed=seed,
        )
    elif platform == "shoplazza":
        server = ShoplazzaSimulator(
            catalog,
            shop=shop,
            access_token=token or "shoplazza_simulated",
            webhook_secret=webhook_secret,
            faults=parsed,
            port=port,
        )
    else:
        server = SfccSimulator(
            catalog,
            envelope=envelope,
            dates=dates,
            contracts=Contracts(settings.contracts_dir),
            faults=parsed,
            port=port,
            seed=seed,
        )
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.stop).start())
    click.echo(f"{platform} simulator with {orders} orders at {server.url}", err=True)
    click.echo(json.dumps({"platform": platform, "url": server.url, "port": server.port}))
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()
