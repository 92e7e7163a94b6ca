"""Who is told what: the ``[notify]`` table of the shops file, and LOGINSIGHTS_NOTIFY_URLS.

The simplest setup is one environment variable, ``LOGINSIGHTS_NOTIFY_URLS``: destination URLs in
apprise's forms (``mailtos://…``, ``slack://…``, ``json://host:port/path``), space or comma
separated, that receive everything. Routes in the shops file send some shops or error codes to
some destinations, each in its own time zone:

    [notify]
    console_url = "https://loginsights.example.com"   # links in messages go there
    solr_refusing_minutes = 10

    [notify.routes.eu-team]
    urls_env = "EU_TEAM_NOTIFY_URLS"     # the destinations' credentials stay in the environment
    shops = ["eu-sfcc"]                  # none: every shop
    error_codes = ["missing_address"]    # none: every error code
    time_zone = "Europe/Berlin"
    digest_minutes = 15
    daily_at = "08:00"                   # "" for no daily digest

Every key is checked by name, as the shops' tables are: a misspelt one is an error naming it.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.errors import ConfigurationError
from pipeline.models import ErrorCode, validate_time_zone

EVERYONE = "everyone"
URLS_ENV = "LOGINSIGHTS_NOTIFY_URLS"
CLOCK = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


class RouteTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    urls_env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$")
    shops: list[str] = []
    error_codes: list[ErrorCode] = []
    time_zone: str = "UTC"
    digest_minutes: int = Field(15, ge=1, le=1440)
    daily_at: str = "08:00"
    late_minutes: int = Field(60, ge=1)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return validate_time_zone(value)

    @field_validator("daily_at")
    @classmethod
    def _clock(cls, value: str) -> str:
        if value and not CLOCK.fullmatch(value):
            raise ValueError(f"{value!r} is not a time of day like '08:00' (or '' for none)")
        return value


class NotifyTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    console_url: str = Field("", pattern=r"^(https?://[^\s/]+(/[^\s]*)?)?$")
    solr_refusing_minutes: int = Field(10, ge=1)
    routes: dict[str, RouteTable] = {}


@dataclass(frozen=True)
class Route:
    """One destination set and what it hears."""

    name: str
    urls: tuple[str, ...]
    shops: frozenset[str] = frozenset()
    error_codes: frozenset[str] = frozenset()
    time_zone: str = "UTC"
    digest_minutes: int = 15
    daily_at: str = "08:00"
    late_minutes: int = 60

    def hears_shop(self, shop: str) -> bool:
        return not self.shops or shop in self.shops

    def hears(self, shop: str, error_code: str) -> bool:
        return self.hears_shop(shop) and (not self.error_codes or error_code in self.error_codes)


@dataclass(frozen=True)
class NotifyPlan:
    """The routes that can be used, and what is wrong with the others."""

    routes: tuple[Route, ...] = ()
    console_url: str = ""
    solr_refusing_minutes: int = 10
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.routes)


def split_urls(text: str) -> tuple[str, ...]:
    return tuple(part for part in re.split(r"[\s,]+", text.strip()) if part)


def notify_plan(
    shops_file: Path | None, environ: Mapping[str, str], *, default_zone: str = "UTC"
) -> NotifyPlan:
    """The routes from LOGINSIGHTS_NOTIFY_URLS and the shops file's [notify] table. A route that
    cannot be used (a misspelt key, its variable unset) is a problem named, never a stop: the
    import goes on, and the other routes are told."""
    routes: list[Route] = []
    problems: dict[str, str] = {}
    everyone = split_urls(environ.get(URLS_ENV, ""))
    if everyone:
        routes.append(Route(EVERYONE, everyone, time_zone=default_zone))
    table = _notify_table(shops_file)
    if table is None:
        return NotifyPlan(tuple(routes))
    try:
        config = NotifyTable.model_validate(table)
    except ValidationError as err:
        return NotifyPlan(
            tuple(routes), problems={"[notify]": "; ".join(_problem(e) for e in err.errors())}
        )
    for name, route in config.routes.items():
        urls = split_urls(environ.get(route.urls_env, ""))
        if not urls:
            problems[name] = (
                f"[notify.routes.{name}]: {route.urls_env} is not set; put the route's "
                "destination URLs in it (apprise's forms, e.g. mailtos://…, slack://…)"
            )
            continue
        routes.append(
            Route(
                name,
                urls,
                frozenset(route.shops),
                frozenset(c.value for c in route.error_codes),
                route.time_zone,
                route.digest_minutes,
                route.daily_at,
                route.late_minutes,
            )  # fmt: skip
        )
    return NotifyPlan(
        tuple(routes), config.console_url.rstrip("/"), config.solr_refusing_minutes, problems
    )


def _notify_table(shops_file: Path | None) -> dict[str, Any] | None:
    if shops_file is None or not shops_file.is_file():
        return None
    try:
        data = tomllib.loads(shops_file.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigurationError(f"{shops_file} is not valid TOML: {err}") from err
    table = data.get("notify")
    if table is not None and not isinstance(table, dict):
        return {"routes": "not a table"}
    return table


def _problem(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        known = list(RouteTable.model_fields if "routes" in where else NotifyTable.model_fields)
        last = where.rsplit(".", 1)[-1]
        near = difflib.get_close_matches(last, known, n=1, cutoff=0.6)
        hint = f"; did you mean {near[0]!r}?" if near else f"; known keys: {', '.join(known)}"
        return f"[notify] unknown key {where!r}{hint}"
    return f"[notify] {where}: {error['msg']}"


__all__ = ["EVERYONE", "URLS_ENV", "NotifyPlan", "Route", "notify_plan", "split_urls"]
