"""Shopify Admin REST: orders created in a window, paged by the ``Link`` header."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import SecretStr

from pipeline.errors import SourceRequestError
from pipeline.models import Platform
from pipeline.sources.shopify_versions import DEFAULT_API_VERSION
from pipeline.sources.transport import Auth, ShopTransport, listed
from pipeline.windows import ImportWindow


def shopify_auth(access_token: SecretStr) -> Auth:
    """Shopify's Admin API credentials, REST and GraphQL alike: the app's access token."""
    return Auth(headers=lambda: {"X-Shopify-Access-Token": access_token.get_secret_value()})


class ShopifySource:
    platform = Platform.SHOPIFY

    def __init__(
        self,
        shop: str,
        base_url: str,
        access_token: SecretStr,
        *,
        api_version: str = DEFAULT_API_VERSION,
        page_size: int = 250,
        transport: ShopTransport | None = None,
    ) -> None:
        self.shop = shop
        self.api_version = api_version
        self.api = f"{base_url.rstrip('/')}/admin/api/{api_version}"
        self.page_size = page_size
        self.auth = shopify_auth(access_token)
        self.transport = transport or ShopTransport(shop)

    def list_orders(
        self, window: ImportWindow, *, fields: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every order created in the window, any status (Shopify's default hides closed ones).

        ``fields`` (e.g. ``"id,created_at"``) asks Shopify for only those keys of each order:
        the cheap listing reconciliation uses.
        """
        url: str | None = f"{self.api}/orders.json"
        first: dict[str, Any] = {
            "status": "any",
            "created_at_min": window.start.isoformat(),
            "created_at_max": window.end.isoformat(),
            "limit": self.page_size,
        }
        if fields:
            first["fields"] = fields
        params: dict[str, Any] | None = first
        seen_pages: set[str] = set()
        while url is not None:
            body, response = self.transport.get_json(url, params, auth=self.auth)
            yield from listed(body, "orders", shop=self.shop, url=url)
            next_url = response.links.get("next", {}).get("url")
            if next_url is not None and next_url in seen_pages:
                raise SourceRequestError(
                    f"{self.shop}: Shopify returned the same page cursor twice; stopping to avoid "
                    "a loop. Report this with the window " + str(window),
                    shop=self.shop,
                )
            if next_url is not None:
                seen_pages.add(next_url)
            url, params = next_url, ({"fields": fields} if fields and next_url else None)

    def list_ids(self, span: ImportWindow) -> Iterator[dict[str, Any]]:
        """Ids, creation times, cancellation and channel only: reconciliation's listing."""
        return self.list_orders(span, fields="id,created_at,cancelled_at,source_name")

    def fetch_order(self, order_id: str) -> dict[str, Any]:
        body, _ = self.transport.get_json(f"{self.api}/orders/{order_id}.json", auth=self.auth)
        order: dict[str, Any] = body["order"]
        return order

    def count_orders(self, window: ImportWindow) -> int:
        body, _ = self.transport.get_json(
            f"{self.api}/orders/count.json",
            {
                "status": "any",
                "created_at_min": window.start.isoformat(),
                "created_at_max": window.end.isoformat(),
            },
            auth=self.auth,
        )
        return int(body["count"])
