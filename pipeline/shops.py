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
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from pipeline.errors import ConfigurationError
from pipeline.models import Platform, validate_time_zone, validate_ttl
from pipeline.scrub import remember_secrets
from pipeline.sources import OrderSource
from pipeline.sources.pacing import SHOPIFY_CALL_LIMIT, CallBudget, LeakyBucket, LoadShedding
from pipeline.sources.sfcc import SfccSource
from pipeline.sources.shopify import ShopifySource
from pipeline.sources.shopify_graphql import ShopifyGraphQLSource
from pipeline.sources.shopify_versions import DEFAULT_API_VERSION, support_warning
from pipeline.sources.shoplazza import ShoplazzaSource
from pipeline.sources.transport import Auth, ShopTransport


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

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.window_minutes)

    @property
    def settle_lag(self) -> timedelta:
        return timedelta(seconds=self.settle_lag_seconds)

    @property
    def overlap(self) -> timedelta:
        return timedelta(seconds=self.overlap_seconds)

    def required_env(self) -> list[str]:
        if self.platform is Platform.SFCC:
            return [v for v in (self.client_id_env, self.client_secret_env) if v]
        return [self.access_token_env] if self.access_token_env else []


def load_shops(path: Path) -> dict[str, ShopConfig]:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError as err:
        raise ConfigurationError(
            f"no shops file at {path}; create one (see examples/shops.example.toml) or pass "
            "--shops-file"
        ) from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigurationError(f"{path} is not valid TOML: {err}") from err
    shops = {}
    tables = data.get("shops") or {}
    if not isinstance(tables, dict):
        raise ConfigurationError(f"{path}: 'shops' must hold [shops.<name>] tables")
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigurationError(
                f"{path}, shop {name!r}: expected a [shops.{name}] table, found {table!r}"
            )
        try:
            shops[name] = ShopConfig.model_validate({**table, "name": name})
        except ValidationError as err:
            problems = "; ".join(_problem(e) for e in err.errors())
            raise ConfigurationError(f"{path}, shop {name!r}: {problems}") from err
    if not shops:
        raise ConfigurationError(f"{path} defines no [shops.<name>] tables")
    return shops


def _problem(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        known = [name for name in ShopConfig.model_fields if name != "name"]
        near = difflib.get_close_matches(where, known, n=1, cutoff=0.6)
        hint = f"; did you mean {near[0]!r}?" if near else f"; known keys: {', '.join(known)}"
        return f"unknown key {where!r}{hint}"
    return f"{where}: {error['msg']}"


def shop_named(shops: Mapping[str, ShopConfig], name: str) -> ShopConfig:
    if name not in shops:
        raise ConfigurationError(
            f"no shop {name!r} in the shops file; known: {', '.join(sorted(shops))}"
        )
    return shops[name]


def _secret(
    shop: ShopConfig, variable: str | None, what: str, environ: Mapping[str, str]
) -> SecretStr:
    if not variable:
        raise ConfigurationError(f"shop {shop.name!r} needs {what}_env in the shops file")
    value = environ.get(variable)
    if not value:
        raise ConfigurationError(
            f"shop {shop.name!r}: environment variable {variable} (its {what}) is not set; "
            f"export it and run again"
        )
    remember_secrets(value)
    return SecretStr(value)


def call_budget(platform: Platform) -> CallBudget:
    """Each platform's own pace: Shopify's bucket (read from its header), Shoplazza's 2 calls/s
    leaky bucket, SFCC's load shedding."""
    if platform is Platform.SHOPIFY:
        return LeakyBucket(40, 2.0, header=SHOPIFY_CALL_LIMIT)
    if platform is Platform.SHOPLAZZA:
        return LeakyBucket(4, 2.0, margin=1.0)
    return LoadShedding()


def connect(shop: ShopConfig, environ: Mapping[str, str]) -> OrderSource:
    """The shop's connector, with credentials read from ``environ`` (the edge passes os.environ)."""
    transport = ShopTransport(
        shop.name,
        auth=Auth(headers=dict),
        max_attempts=shop.max_attempts,
        budget=call_budget(shop.platform),
    )
    if shop.platform is Platform.SHOPIFY and shop.api == "rest":
        return ShopifySource(
            shop.name,
            shop.base_url,
            _secret(shop, shop.access_token_env, "access_token", environ),
            api_version=shop.api_version or DEFAULT_API_VERSION,
            page_size=shop.page_size or 250,
            transport=transport,
        )
    if shop.platform is Platform.SHOPIFY:
        return ShopifyGraphQLSource(
            shop.name,
            shop.base_url,
            _secret(shop, shop.access_token_env, "access_token", environ),
            api_version=shop.api_version or DEFAULT_API_VERSION,
            page_size=shop.page_size or 20,
            transport=ShopTransport(
                shop.name, auth=Auth(headers=dict), max_attempts=shop.max_attempts
            ),
        )
    if shop.platform is Platform.SHOPLAZZA:
        return ShoplazzaSource(
            shop.name,
            shop.base_url,
            _secret(shop, shop.access_token_env, "access_token", environ),
            api_version=shop.api_version or "2026-01",
            page_size=shop.page_size or 250,
            transport=transport,
        )
    missing = [n for n in ("auth_url", "organization_id", "site_id") if not getattr(shop, n)]
    if missing:
        raise ConfigurationError(
            f"shop {shop.name!r} (sfcc) needs {', '.join(missing)} in the shops file"
        )
    return SfccSource(
        shop.name,
        shop.base_url,
        auth_url=shop.auth_url or "",
        organization_id=shop.organization_id or "",
        site_id=shop.site_id or "",
        client_id=_secret(shop, shop.client_id_env, "client_id", environ).get_secret_value(),
        client_secret=_secret(shop, shop.client_secret_env, "client_secret", environ),
        page_size=shop.page_size or 200,
        business_manager_url=shop.business_manager_url,
        transport=transport,
    )


def version_warning(shop: ShopConfig, today: date) -> str | None:
    """What to say when a Shopify shop's API version is outside Shopify's support window."""
    if shop.platform is not Platform.SHOPIFY:
        return None
    return support_warning(shop.name, shop.api_version or DEFAULT_API_VERSION, today)


@dataclass(frozen=True)
class ShopCheck:
    """Whether one shop of the shops file can be worked, and what to fix if not."""

    shop: str
    platform: str
    api_version: str
    ready: bool
    problem: str | None
    warning: str | None


def check_shops(
    shops: Mapping[str, ShopConfig], environ: Mapping[str, str], today: date
) -> list[ShopCheck]:
    """Every shop's connector built as ``run`` would build it, without calling the platform."""
    checks = []
    for shop in shops.values():
        problem = None
        try:
            source = connect(shop, environ)
            version = str(getattr(source, "api_version", "") or shop.api_version or "")
        except ConfigurationError as err:
            problem, version = str(err), shop.api_version or ""
        checks.append(
            ShopCheck(
                shop=shop.name,
                platform=shop.platform.value,
                api_version=version,
                ready=problem is None,
                problem=problem,
                warning=version_warning(shop, today),
            )
        )
    return checks


__all__ = [
    "ShopCheck",
    "ShopConfig",
    "check_shops",
    "connect",
    "load_shops",
    "shop_named",
    "version_warning",
]
