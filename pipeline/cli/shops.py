"""`loginsights shops check`: can every shop of the shops file be worked, and on what version."""

from __future__ import annotations

import os
from dataclasses import asdict
from datetime import UTC, datetime

import click

from pipeline.cli.group import json_option, json_record, library_errors, main
from pipeline.connectors import ShopCheck, check_shops
from pipeline.notify import AppriseDelivery, NotifyPlan
from pipeline.notify.delivery import scheme_of
from pipeline.settings import Settings
from pipeline.shops import read_shops_file
from pipeline.wiring import Wiring


def notify_checks(plan: NotifyPlan) -> list[ShopCheck]:
    """Each notification route as a line of the check: ready, or what is wrong with it."""
    checks = [
        ShopCheck(shop=f"notify {where}", platform="notifications", api_version="", ready=False,
                  problem=problem, warning=None)
        for where, problem in plan.problems.items()
    ]  # fmt: skip
    delivery = AppriseDelivery()
    for route in plan.routes:
        unknown = delivery.check(route.urls)
        problem = f"not a destination apprise knows: {', '.join(unknown)}" if unknown else None
        checks.append(
            ShopCheck(
                shop=f"notify {route.name}",
                platform=", ".join(scheme_of(url) for url in route.urls),
                api_version="",
                ready=not unknown,
                problem=problem,
                warning=None,
            )  # fmt: skip
        )
    return checks


@main.group()
def shops() -> None:
    """The shops file.

    \b
    Example:
      loginsights --shops-file shops.toml shops check
    """


@shops.command("check")
@json_option
@click.pass_obj
@library_errors
def shops_check(settings: Settings, as_json: bool) -> None:
    """Build every shop's connector as `run` would (credentials, settings, API version) without
    calling a platform; exits 1 when a shop cannot be worked.

    \b
    Example:
      loginsights shops check
      loginsights --shops-file /etc/loginsights/shops.toml shops check --json
    """
    shops_file = read_shops_file(settings.shops_file)
    checks = check_shops(shops_file.shops, os.environ, datetime.now(UTC).date())
    checks += [
        ShopCheck(shop=name, platform=shops_file.platforms.get(name, "?"), api_version="",
                  ready=False, problem=problem, warning=None)
        for name, problem in shops_file.broken.items()
    ]  # fmt: skip
    checks += notify_checks(Wiring(settings, os.environ).notify_plan)
    if as_json:
        click.echo(json_record([asdict(check) for check in checks]))
    else:
        for check in checks:
            state = "ready" if check.ready else "cannot run"
            version = f" api {check.api_version}" if check.api_version else ""
            click.echo(f"{check.shop} ({check.platform}{version}): {state}")
            for line in (check.problem, check.warning):
                if line:
                    click.echo(f"  {line}")
    if not all(check.ready for check in checks):
        raise SystemExit(1)
