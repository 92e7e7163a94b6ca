"""Shoplazza OpenAPI: orders created in a window, in the shop's dated API version.

- 2026-01 (the default, current): ``page_size`` (<= 250) and ``cursor``; the answer is
  ``{orders, cursor, has_more}``.
- 2022-01 (seed 003's, for shops pinned to it): ``limit`` and ``next_token``; the answer is
  ``{count, next_token, orders}``.
Header ``Access-Token``; a 2 calls/s leaky bucket (paced by the transport's budget) and 429.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import SecretStr

from pipeline.errors import ConfigurationError, SourceRequestError
from pipeline.models import Platform
from pipeline.sources.transport import Auth, ShopTransport, listed
from pipeline.windows import ImportWindow, before_end

SUPPORTED_VERSIONS = ("2026-01", "2022-01")


class ShoplazzaSource:
    platform = Platform.SHOPLAZZA

    def __init__(
        self,
        shop: str,
        base_url: str,
        access_token: SecretStr,
        *,
        api_version: str = "2026-01",
        page_size: int = 250,
        transport: ShopTransport | None = None,
    ) -> None:
        if api_version not in SUPPORTED_VERSIONS:
            raise ConfigurationError(
                f"shop {shop!r}: Shoplazza API version {api_version!r} is not supported; use "
                f"one of {list(SUPPORTED_VERSIONS)}"
            )
        self.shop = shop
        self.api_version = api_version
        self.api = f"{base_url.rstrip('/')}/openapi/{api_version}"
        self.page_size = page_size
        self.auth = Auth(headers=lambda: {"Access-Token": access_token.get_secret_value()})
        self.transport = transport or ShopTransport(shop)

    def list_orders(self, window: ImportWindow) -> Iterator[dict[str, Any]]:
        current = self.api_version == "2026-01"
        size_name, token_name = ("page_size", "cursor") if current else ("limit", "next_token")
        params: dict[str, Any] = {
            "created_at_min": window.start.isoformat(),
            "created_at_max": window.end.isoformat(),
            size_name: self.page_size,
        }
        seen: set[str] = set()
        while True:
            url = f"{self.api}/orders"
            body, _ = self.transport.get_json(url, params, auth=self.auth)
            for order in listed(body, "orders", shop=self.shop, url=url):
                if before_end(window, order.get("created_at")):  # created_at_max is inclusive
                    yield order
            token = body.get(token_name) or ""
            if not token or (current and not body.get("has_more")):
                return
            if token in seen:
                raise SourceRequestError(
                    f"{self.shop}: Shoplazza returned the same next_token twice; stopping to "
                    f"avoid a loop in window {window}",
                    shop=self.shop,
                )
            seen.add(token)
            # 2022-01: "requires submission of the previous query conditions" with next_token
            params = {**params, token_name: token} if not current else {
                size_name: self.page_size, token_name: token}  # fmt: skip

    def fetch_order(self, order_id: str) -> dict[str, Any]:
        body, _ = self.transport.get_json(f"{self.api}/orders/{order_id}", auth=self.auth)
        order: dict[str, Any] = body["order"]
        return order
