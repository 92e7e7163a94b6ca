"""A shop's connector, built from its table in the shops file and the environment.

Part of the composition root (``pipeline.wiring`` and ``loginsights shops check`` use it; no
domain module does): each connector gets its transport, with the platform's budget, and its
credentials, read here from the environment and registered with the scrubber.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

import requests
from pydantic import SecretStr
from requests.utils import should_bypass_proxies

from pipeline.errors import ConfigurationError
from pipeline.models import Platform
from pipeline.scrub import remember_secrets
from pipeline.shops import ShopConfig, version_warning
from pipeline.sources import OrderSource
from pipeline.sources.pacing import (
    SHOPIFY_CALL_LIMIT,
    CallBudget,
    CostBudget,
    LeakyBucket,
    LoadShedding,
)
from pipeline.sources.sfcc import SfccSource
from pipeline.sources.shopify import ShopifySource
from pipeline.sources.shopify_graphql import ShopifyGraphQLSource
from pipeline.sources.shopify_versions import DEFAULT_API_VERSION
from pipeline.sources.shoplazza import ShoplazzaSource
from pipeline.sources.subscriptions import ShopifySubscriptions, ShoplazzaSubscriptions
from pipeline.sources.transport import ShopTransport
from pipeline.webhooks import WebhookShop


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


def call_budget(shop: ShopConfig) -> CallBudget:
    """Each platform's own pace: Shopify REST's bucket (read from its header), Shoplazza's 2
    calls/s leaky bucket, SFCC's load shedding. Shopify GraphQL is paced by query cost, which
    only the connector can read (its ``CostBudget``): its calls themselves are not limited."""
    platform = shop.platform
    if platform is Platform.SHOPIFY and shop.api == "rest":
        return LeakyBucket(40, 2.0, header=SHOPIFY_CALL_LIMIT)
    if platform is Platform.SHOPIFY:
        return CallBudget()
    if platform is Platform.SHOPLAZZA:
        return LeakyBucket(4, 2.0, margin=1.0)
    return LoadShedding()


def http_session(base_url: str, environ: Mapping[str, str]) -> requests.Session:
    """A session that reads the environment once, here: the proxy for the shop's URL (HTTPS_PROXY,
    HTTP_PROXY, ALL_PROXY, NO_PROXY) and a CA bundle (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE).
    requests would otherwise look them up, and ~/.netrc, on every call (7 % of a notice pass)."""
    session = requests.Session()
    session.trust_env = False
    scheme = urlsplit(base_url).scheme or "https"

    def variable(name: str) -> str | None:
        return environ.get(name.lower()) or environ.get(name.upper())

    proxy = variable(f"{scheme}_proxy") or variable("all_proxy")
    if proxy and not should_bypass_proxies(base_url, no_proxy=variable("no_proxy")):
        session.proxies = {scheme: proxy}
    bundle = variable("requests_ca_bundle") or variable("curl_ca_bundle")
    if bundle:
        session.verify = bundle
    return session


def connect(shop: ShopConfig, environ: Mapping[str, str]) -> OrderSource:
    """The shop's connector, with credentials read from ``environ`` (the edge passes os.environ)."""
    transport = ShopTransport(
        shop.name,
        session=http_session(shop.base_url, environ),
        max_attempts=shop.max_attempts,
        budget=call_budget(shop),
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
            transport=transport,
            cost=CostBudget(),
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


def webhook_shop(shop: ShopConfig, environ: Mapping[str, str]) -> WebhookShop | None:
    """The shop as the webhook inbox knows it, if it receives webhooks (its secret set)."""
    if not shop.webhook_secret_env:
        return None
    secret = _secret(shop, shop.webhook_secret_env, "webhook_secret", environ)
    return WebhookShop(shop.name, shop.platform, shop.domain, secret, aliases=shop.domains)


def webhook_subscriptions(
    shop: ShopConfig, environ: Mapping[str, str]
) -> ShopifySubscriptions | ShoplazzaSubscriptions:
    """Where the shop's webhook subscriptions are read and made: Shopify's GraphQL Admin API
    (whichever API the shop imports through), Shoplazza's REST API."""
    if shop.platform is Platform.SHOPLAZZA:
        source = connect(shop, environ)
        assert isinstance(source, ShoplazzaSource)
        return ShoplazzaSubscriptions(source)
    if shop.platform is not Platform.SHOPIFY:
        raise ConfigurationError(
            f"shop {shop.name!r} ({shop.platform.value}): the platform sends no order webhooks"
        )
    graphql = shop if shop.api == "graphql" else shop.model_copy(update={"api": "graphql"})
    source = connect(graphql, environ)
    assert isinstance(source, ShopifyGraphQLSource)
    return ShopifySubscriptions(source)


__all__ = [
    "ShopCheck",
    "call_budget",
    "check_shops",
    "connect",
    "http_session",
    "webhook_shop",
    "webhook_subscriptions",
]
