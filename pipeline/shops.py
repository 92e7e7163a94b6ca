"""The shops file: which shops to import, from where, and under which credentials.

TOML, one table per shop; credentials are never written in it, only the names of the
environment variables that hold them, resolved once at the edge (CLI)::

    [shops.hc-demo]
    platform = "shopify"
    base_url = "https://hc-demo.myshopify.com"
    access_token_env = "HC_DEMO_SHOPIFY_TOKEN"
    time_zone = "America/New_York"

    [shops.eu-sfcc]
    platform = "sfcc"
    base_url = "https://fd4gt8.api.commercecloud.salesforce.com"
    auth_url = "https://account.demandware.com"
    organization_id = "f_ecom_zzxy_prd"
    site_id = "RefArch"
    client_id_env = "EU_SFCC_CLIENT_ID"
    client_secret_env = "EU_SFCC_CLIENT_SECRET"
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from pipeline.errors import ConfigurationError
from pipeline.models import Platform, validate_time_zone, validate_ttl
from pipeline.sources.shopify_versions import DEFAULT_API_VERSION, support_warning


class ShopConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, never ignored

    name: str
    platform: Platform
    base_url: str
    time_zone: str = "UTC"
    ttl: str | None = Field(None, description="Overrides the docType's default ttl.")
    start: AwareDatetime | None = Field(None, description="Where the first window begins.")
    window_minutes: int = Field(60, ge=1, le=7 * 24 * 60, description="At most a week.")
    settle_lag_seconds: int = Field(120, ge=0, le=86_400)
    overlap_seconds: int = Field(0, ge=0, le=86_400)
    page_size: int | None = Field(None, ge=1, le=250)
    api: Literal["graphql", "rest"] = Field(
        "graphql",
        description="Shopify: the GraphQL Admin API (default), or REST for existing custom apps.",
    )
    api_version: str | None = Field(None, description="The platform's dated API version.")
    access_token_env: str | None = None
    auth_url: str | None = None
    organization_id: str | None = None
    site_id: str | None = None
    business_manager_url: str | None = Field(
        None, description="SFCC: the instance's Business Manager, for links to an order."
    )
    client_id_env: str | None = None
    client_secret_env: str | None = None
    reconcile_exclude: list[Literal["pos", "cancelled"]] = Field(
        default_factory=list,
        description='Orders the daily reconciliation leaves out, e.g. ["pos", "cancelled"].',
    )
    max_attempts: int = Field(
        8, ge=1, le=100, description="Tries per API call before the window waits."
    )
    webhook_secret_env: str | None = Field(
        None,
        description="Shopify, Shoplazza: the variable holding the app's client secret, which "
        "signs the order webhooks; set it to receive them (loginsights serve).",
    )
    shop_domain: str | None = Field(
        None,
        description="The domain the platform names in a webhook (X-Shopify-Shop-Domain); by "
        "default base_url's host.",
    )

    @field_validator("base_url", "auth_url", "business_manager_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"{value!r} is not an http(s) URL; write e.g. https://my-shop.myshopify.com"
            )
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return validate_time_zone(value)

    @field_validator("ttl")
    @classmethod
    def _ttl(cls, value: str | None) -> str | None:
        return None if value is None else validate_ttl(value)

    @model_validator(mode="after")
    def _webhooks_where_sent(self) -> ShopConfig:
        if self.webhook_secret_env and self.platform is Platform.SFCC:
            raise ValueError(
                "webhook_secret_env: SFCC sends no order webhooks; its shops are polled alone, "
                "remove the key"
            )
        return self

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.window_minutes)

    @property
    def settle_lag(self) -> timedelta:
        return timedelta(seconds=self.settle_lag_seconds)

    @property
    def overlap(self) -> timedelta:
        return timedelta(seconds=self.overlap_seconds)

    @property
    def domain(self) -> str:
        """The shop's domain as a platform's webhooks name it."""
        return (self.shop_domain or urlsplit(self.base_url).hostname or "").lower()

    @property
    def domains(self) -> tuple[str, ...]:
        """Every domain a webhook of this shop may name: ``shop_domain`` and base_url's host
        (Shoplazza's sources disagree on which of the two X-Shoplazza-Shop-Domain carries)."""
        host = (urlsplit(self.base_url).hostname or "").lower()
        return tuple(dict.fromkeys(d for d in (self.domain, host) if d))

    def required_env(self) -> list[str]:
        if self.platform is Platform.SFCC:
            return [v for v in (self.client_id_env, self.client_secret_env) if v]
        return [self.access_token_env] if self.access_token_env else []


@dataclass(frozen=True)
class ShopsFile:
    """The shops file as read: the shops that can be worked, and each table that cannot be read
    with what is wrong with it (one misspelt key stops that shop, never the others)."""

    shops: dict[str, ShopConfig]
    broken: dict[str, str] = field(default_factory=dict)
    platforms: dict[str, str] = field(default_factory=dict)  # of the broken, where readable

    @property
    def names(self) -> list[str]:
        return [*self.shops, *self.broken]


def read_shops_file(path: Path) -> ShopsFile:
    """Every table of the shops file; a file that cannot be read at all is an error, a table
    that cannot be read is a broken shop."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError as err:
        raise ConfigurationError(
            f"no shops file at {path}; create one (see examples/shops.example.toml) or pass "
            "--shops-file"
        ) from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigurationError(f"{path} is not valid TOML: {err}") from err
    shops: dict[str, ShopConfig] = {}
    broken: dict[str, str] = {}
    platforms: dict[str, str] = {}
    tables = data.get("shops") or {}
    if not isinstance(tables, dict):
        raise ConfigurationError(f"{path}: 'shops' must hold [shops.<name>] tables")
    for name, table in tables.items():
        if not isinstance(table, dict):
            broken[name] = (
                f"{path}, shop {name!r}: expected a [shops.{name}] table, found {table!r}"
            )
            continue
        try:
            shops[name] = ShopConfig.model_validate({**table, "name": name})
        except ValidationError as err:
            problems = "; ".join(_problem(e) for e in err.errors())
            broken[name] = f"{path}, shop {name!r}: {problems}"
            platforms[name] = str(table.get("platform", "?"))
    if not shops and not broken:
        raise ConfigurationError(f"{path} defines no [shops.<name>] tables")
    return ShopsFile(shops, broken, platforms)


def load_shops(path: Path) -> dict[str, ShopConfig]:
    """The shops that can be worked (a broken table is left out: ``read_shops_file`` says
    why); a file without one that can be worked is an error naming what is wrong."""
    found = read_shops_file(path)
    if not found.shops:
        raise ConfigurationError(next(iter(found.broken.values())))
    return found.shops


def _problem(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        known = [name for name in ShopConfig.model_fields if name != "name"]
        near = difflib.get_close_matches(where, known, n=1, cutoff=0.6)
        hint = f"; did you mean {near[0]!r}?" if near else f"; known keys: {', '.join(known)}"
        return f"unknown key {where!r}{hint}"
    return f"{where}: {error['msg']}"


def shop_named(
    shops: Mapping[str, ShopConfig], name: str, broken: Mapping[str, str] | None = None
) -> ShopConfig:
    if broken and name in broken:
        raise ConfigurationError(f"shop {name!r} cannot be worked: {broken[name]}")
    if name not in shops:
        raise ConfigurationError(
            f"no shop {name!r} in the shops file; known: {', '.join(sorted(shops))}"
        )
    return shops[name]


def version_warning(shop: ShopConfig, today: date) -> str | None:
    """What to say when a Shopify shop's API version is outside Shopify's support window."""
    if shop.platform is not Platform.SHOPIFY:
        return None
    return support_warning(shop.name, shop.api_version or DEFAULT_API_VERSION, today)


__all__ = [
    "ShopConfig",
    "ShopsFile",
    "load_shops",
    "read_shops_file",
    "shop_named",
    "version_warning",
]
