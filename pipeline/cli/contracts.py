"""`loginsights contracts`: the platforms' pinned published contracts, fetched into a cache."""

from __future__ import annotations

import json

import click

from pipeline.cli.group import json_option, library_errors, main
from pipeline.contracts import ARTIFACTS, Contracts
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
