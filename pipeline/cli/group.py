"""The ``loginsights`` group and what every command shares: its options, errors and output.

Library errors become ``click.ClickException`` here and nowhere else. Logs go to stderr so that
stdout stays data (tables, or JSON with ``--json``). Command modules import from here, and the
package's ``__init__`` imports them, so the arrows only point down.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from rich.console import Console

from pipeline.errors import LogInsightsError
from pipeline.scrub import scrub, scrub_log_handlers
from pipeline.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

console = Console(markup=False, highlight=False)
err_console = Console(stderr=True, markup=False, highlight=False)


def shop_zones(settings: Settings) -> dict[str, str]:
    """Each shop's time zone from the shops file (none when it cannot be read): times a person
    reads are written in the shop's zone."""
    from pipeline.shops import read_shops_file

    try:
        return {name: s.time_zone for name, s in read_shops_file(settings.shops_file).shops.items()}
    except LogInsightsError:
        return {}


@contextmanager
def steps(label: str) -> Iterator[Callable[[str], None]]:
    """Say each step of long work as it happens: on a terminal one live line that changes
    ("reconciling hc-demo: imported 300 of 1,200 missing"); elsewhere (a log, cron) one line
    per step, so that nothing stays silent for minutes."""
    if err_console.is_terminal:
        with err_console.status(label, spinner="dots") as status:
            yield lambda text: status.update(f"{label}: {text}")
        return
    click.echo(label, err=True)
    yield lambda text: click.echo(f"{label}: {text}", err=True)


def library_errors(command: F) -> F:
    """Turn the library's errors into one clear line and exit status 1."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except LogInsightsError as err:
            raise click.ClickException(scrub(str(err))) from err

    return wrapper  # type: ignore[return-value]


class Moment(click.ParamType):
    """An ISO 8601 time; a bad one is a usage error naming the option, never a traceback.

    A time without a zone stays naive here: the command decides whose zone it is in (an import
    reads it in the shop's zone and says so).
    """

    name = "time"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            self.fail(
                f"{value!r} is not an ISO 8601 time; write e.g. 2026-11-21T00:00:00Z "
                "(or without Z for the shop's own time zone)",
                param,
                ctx,
            )


def camel_keys(value: Any) -> Any:
    """``--json`` speaks one dialect: camelCase keys everywhere (``orderId``, ``stillFailing``),
    as the log documents and the API do."""
    if isinstance(value, dict):
        return {_camel(str(key)): camel_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [camel_keys(item) for item in value]
    return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def json_record(value: Any) -> str:
    """One ``--json`` line from a dataclass, a pydantic model or plain data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    elif hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    return json.dumps(camel_keys(value), ensure_ascii=False)


shop_option = click.option("--shop", "shop_name", required=True, help="The shop's name.")


def json_option(command: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="loginsights", message="loginsights %(version)s")
@click.option(
    "--solr-url",
    envvar="LOGINSIGHTS_SOLR_URL",
    help="Solr base URL ending in /solr [default: http://127.0.0.1:8983/solr].",
)
@click.option(
    "--zk-host",
    envvar="LOGINSIGHTS_ZK_HOST",
    help="SolrCloud's ZooKeeper (host:port[/chroot]): find the live nodes there; --solr-url "
    "stays the fallback.",
)
@click.option("--collection", envvar="LOGINSIGHTS_COLLECTION", help="[default: logInsights]")
@click.option(
    "--shops-file",
    type=click.Path(path_type=Path),
    envvar="LOGINSIGHTS_SHOPS_FILE",
    help="TOML file of shops [default: shops.toml].",
)
@click.option(
    "--ledger",
    type=click.Path(path_type=Path),
    envvar="LOGINSIGHTS_LEDGER_PATH",
    help="SQLite order store [default: ~/.local/state/loginsights/ledger.sqlite3]; "
    "LOGINSIGHTS_LEDGER_URL=postgresql+psycopg://… shares one among machines.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log progress details to stderr.")
@click.pass_context
def main(
    ctx: click.Context,
    solr_url: str | None,
    zk_host: str | None,
    collection: str | None,
    shops_file: Path | None,
    ledger: Path | None,
    verbose: bool,
) -> None:
    """Import shop orders and find every failed import in Solr's logInsights.

    \b
    Example:
      loginsights solr start
      loginsights import --shop hc-demo
      loginsights query 'docType:SHOPIFY_ORDER'
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr)
    scrub_log_handlers()
    overrides: dict[str, Any] = {}
    if solr_url:
        overrides["solr_url"] = solr_url
    if zk_host:
        overrides["zk_host"] = zk_host
    if collection:
        overrides["collection"] = collection
    if shops_file:
        overrides["shops_file"] = shops_file
    if ledger:
        overrides["ledger_path"] = ledger
    try:
        ctx.obj = Settings(**overrides)
    except ValidationError as err:
        raise click.ClickException(f"invalid settings: {err}") from err


__all__ = [
    "Moment",
    "camel_keys",
    "console",
    "err_console",
    "shop_zones",
    "steps",
    "json_option",
    "json_record",
    "library_errors",
    "main",
    "shop_option",
]
