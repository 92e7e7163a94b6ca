"""The shops file: shops by name, credentials from the environment, never in messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.connectors import connect, http_session
from pipeline.errors import ConfigurationError
from pipeline.shops import load_shops, shop_named
from pipeline.sources.sfcc import SfccSource
from pipeline.sources.shopify import ShopifySource
from pipeline.sources.shopify_graphql import ShopifyGraphQLSource

SHOPS = """
[shops.hc-demo]
platform = "shopify"
base_url = "https://hc-demo.myshopify.com"
access_token_env = "HC_DEMO_TOKEN"
time_zone = "America/New_York"
ttl = "+30DAYS"

[shops.eu]
platform = "sfcc"
base_url = "https://fd4gt8.api.commercecloud.salesforce.com"
auth_url = "https://account.demandware.com"
organization_id = "f_ecom_zzxy_prd"
site_id = "RefArch"
client_id_env = "EU_ID"
client_secret_env = "EU_SECRET"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "shops.toml"
    path.write_text(text)
    return path


def test_shops_load_and_connect_with_credentials_from_the_environment(tmp_path: Path) -> None:
    shops = load_shops(write(tmp_path, SHOPS))
    assert set(shops) == {"hc-demo", "eu"}
    assert shops["hc-demo"].ttl == "+30DAYS"
    shopify = connect(shops["hc-demo"], {"HC_DEMO_TOKEN": "shpat_x"})
    sfcc = connect(shops["eu"], {"EU_ID": "id", "EU_SECRET": "s3cr3t"})
    assert isinstance(shopify, ShopifyGraphQLSource), "GraphQL is Shopify's default"
    assert isinstance(sfcc, SfccSource)
    rest = shops["hc-demo"].model_copy(update={"api": "rest"})
    assert isinstance(connect(rest, {"HC_DEMO_TOKEN": "shpat_x"}), ShopifySource)
    assert "s3cr3t" not in repr(sfcc.__dict__)


def test_a_missing_variable_is_named_and_no_secret_is_shown(tmp_path: Path) -> None:
    shops = load_shops(write(tmp_path, SHOPS))
    with pytest.raises(ConfigurationError, match="environment variable EU_SECRET .* is not set"):
        connect(shops["eu"], {"EU_ID": "id"})


def test_bad_files_are_refused_with_the_place_of_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no shops file"):
        load_shops(tmp_path / "missing.toml")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load_shops(write(tmp_path, "[shops.x"))
    with pytest.raises(ConfigurationError, match=r"shop 'x': platform: Input should be"):
        load_shops(write(tmp_path, '[shops.x]\nplatform = "ebay"\nbase_url = "http://x"\n'))
    with pytest.raises(ConfigurationError, match=r"ttl: Value error, ttl '30DAYS'"):
        load_shops(
            write(
                tmp_path, '[shops.x]\nplatform = "shopify"\nbase_url = "http://x"\nttl = "30DAYS"\n'
            )
        )
    with pytest.raises(ConfigurationError, match="known: eu, hc-demo"):
        shop_named(load_shops(write(tmp_path, SHOPS)), "nope")


# -- issue 17: API versions as a policy --------------------------------------------------------


def test_shopify_shops_default_to_a_supported_version_and_old_ones_are_warned_about(
    tmp_path: Path,
) -> None:
    from datetime import date

    from pipeline.connectors import check_shops
    from pipeline.sources.shopify_versions import DEFAULT_API_VERSION

    pinned = SHOPS.replace('time_zone = "America/New_York"', 'api_version = "2025-10"')
    shops = load_shops(write(tmp_path, pinned))
    env = {"HC_DEMO_TOKEN": "shpat_x"}
    checks = {c.shop: c for c in check_shops(shops, env, date(2026, 12, 1))}
    assert checks["hc-demo"].ready and checks["hc-demo"].api_version == "2025-10"
    assert "left Shopify's support window on 2026-10-01" in str(checks["hc-demo"].warning)
    assert DEFAULT_API_VERSION in str(checks["hc-demo"].warning), "names what to move to"
    assert not checks["eu"].ready and "EU_ID" in str(checks["eu"].problem)
    assert checks["eu"].warning is None, "SFCC has no such window"
    default = load_shops(write(tmp_path, SHOPS))
    (fresh,) = [c for c in check_shops(default, env, date(2026, 12, 1)) if c.shop == "hc-demo"]
    assert fresh.api_version == DEFAULT_API_VERSION and fresh.warning is None


def test_shops_check_exits_1_when_a_shop_cannot_run(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from pipeline.cli import main

    path = write(tmp_path, SHOPS)
    result = CliRunner().invoke(
        main, ["--shops-file", str(path), "shops", "check", "--json"], env={"HC_DEMO_TOKEN": "x"}
    )
    assert result.exit_code == 1
    checks = {c["shop"]: c for c in json.loads(result.output)}
    assert checks["hc-demo"]["ready"] and not checks["eu"]["ready"]


# -- the HTTP session each connector gets ------------------------------------------------------


def test_a_connectors_session_reads_the_proxy_and_ca_bundle_once_from_the_given_environment() -> (
    None
):
    environ = {"HTTPS_PROXY": "http://proxy.internal:3128", "REQUESTS_CA_BUNDLE": "/etc/ca.pem"}
    session = http_session("https://hc-demo.myshopify.com", environ)
    assert session.trust_env is False, "nothing read from os.environ or ~/.netrc per call"
    assert session.proxies == {"https": "http://proxy.internal:3128"}
    assert session.verify == "/etc/ca.pem"
    bypassed = http_session(
        "https://hc-demo.myshopify.com", {**environ, "NO_PROXY": ".myshopify.com"}
    )
    assert bypassed.proxies == {}, "NO_PROXY names the shop's host"
    assert http_session("https://hc-demo.myshopify.com", {}).proxies == {}
