"""`loginsights contracts`: the platforms' pinned published contracts, fetched into a cache."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from pipeline.cli.group import json_option, library_errors, main
from pipeline.contracts import ARTIFACTS, Contracts, version_calendar
from pipeline.settings import Settings


@main.group()
def contracts() -> None:
    """The platforms' published contracts the simulators serve and the tests hold to.

    \b
    Example:
      loginsights contracts fetch
      LOGINSIGHTS_CONTRACTS_DIR=/srv/cache loginsights contracts fetch --json
    """


@contracts.command("fetch")
@json_option
@click.pass_obj
@library_errors
def contracts_fetch(settings: Settings, as_json: bool) -> None:
    """Fetch every pinned artifact not yet cached (npm pack; needs npm and the npm registry).

    \b
    Example:
      loginsights contracts fetch
    """
    store = Contracts(settings.contracts_dir)
    fetched = store.fetch()
    pinned = [f"{artifact.name}@{artifact.version}" for artifact in ARTIFACTS]
    if as_json:
        click.echo(json.dumps({"dir": str(store.root), "pinned": pinned, "fetched": fetched}))
        return
    for name in pinned:
        click.echo(f"{name}: {'fetched' if name in fetched else 'cached'} in {store.root}")


@contracts.command("versions")
@json_option
@click.pass_obj
@library_errors
def contracts_versions(settings: Settings, as_json: bool) -> None:
    """Shopify's Admin API versions in the pinned schemas, by Shopify's calendar (released the
    first day of a quarter at 17:00 UTC, supported twelve months), with the artifact's own flags
    beside them as a hint.

    \b
    Example:
      loginsights contracts versions
      loginsights contracts versions --json
    """
    rows = version_calendar(Contracts(settings.contracts_dir), datetime.now(UTC))
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        flags = f"  (the artifact says: {', '.join(row['flags'])})" if row["flags"] else ""
        mark = "  <- the default" if row["default"] else ""
        click.echo(f"{row['version']:<10} {row['state']:<28}{mark}{flags}")
