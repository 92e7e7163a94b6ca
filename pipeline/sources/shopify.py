"""Shopify Admin REST: orders created in a window, paged by the ``Link`` header.

``created_at_max`` is inclusive: an order created exactly at a window's end belongs to the next
window, so it is left to it (windows are half-open everywhere). Without the ``read_all_orders``
scope Shopify answers a window older than 60 days with nothing: as over GraphQL, such a window
is an error naming the scope, never an empty window taken as complete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr

from pipeline.errors import SourceRequestError
from pipeline.models import Platform
from pipeline.sources.shopify_versions import DEFAULT_API_VERSION
from pipeline.sources.transport import Auth, ShopTransport, listed
from pipeline.windows import ImportWindow, before_end

RECENT_DAYS = 60  # what Shopify shows without read_all_orders


def shopify_auth(access_token: SecretStr) -> Auth:
    """Shopify's Admin API credentials, REST and GraphQL alike: the app's access token."""
    return Auth(headers=lambda: {"X-Shopify-Access-Token": access_token.get_secret_value()})


def beyond_reach(shop: str, window: ImportWindow, cutoff: datetime) -> SourceRequestError:
    """A window older than Shopify shows without ``read_all_orders``: the one message for both
    APIs."""
    return SourceRequestError(
        f"{shop}: {window} starts more than {RECENT_DAYS} days ago, and without the "
        "read_all_orders scope Shopify returns only the last 60 days of orders (the "
        "window would look empty, not complete). Request the read_all_orders scope for "
        f"the app, or import from {cutoff:%Y-%m-%d} on",
        shop=shop,
        status=403,
    )


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
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.shop = shop
        self.api_version = api_version
        self.base_url = base_url.rstrip("/")
        self.api = f"{self.base_url}/admin/api/{api_version}"
        self.page_size = page_size
        self.auth = shopify_auth(access_token)
        self.transport = transport or ShopTransport(shop)
        self.clock = clock
        self._scopes: set[str] | None = None

    def _check_reach(self, window: ImportWindow) -> None:
        cutoff = self.clock() - timedelta(days=RECENT_DAYS)
        if window.start >= cutoff:
            return
        if self._scopes is None:
            body, _ = self.transport.get_json(
                f"{self.base_url}/admin/oauth/access_scopes.json", auth=self.auth
            )
            found = body.get("access_scopes") if isinstance(body, dict) else None
            self._scopes = {str(s.get("handle")) for s in found or [] if isinstance(s, dict)}
        if "read_all_orders" not in self._scopes:
            raise beyond_reach(self.shop, window, cutoff)

    def list_orders(
        self, window: ImportWindow, *, fields: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every order created in the window, any status (Shopify's default hides closed ones).

        ``fields`` (e.g. ``"id,created_at"``) asks Shopify for only those keys of each order:
        the cheap listing reconciliation uses.
        """
        self._check_reach(window)
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
            for order in listed(body, "orders", shop=self.shop, url=url):
                if before_end(window, order.get("created_at")):
                    yield order
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
        return self.list_orders(span, fields="id,created_at,updated_at,cancelled_at,source_name")

    def fetch_order(self, order_id: str) -> dict[str, Any]:
        body, _ = self.transport.get_json(f"{self.api}/orders/{order_id}.json", auth=self.auth)
        order: dict[str, Any] = body["order"]
        return order

    def count_orders(self, window: ImportWindow) -> int:
        self._check_reach(window)
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
