"""Shoplazza OpenAPI 2022-01: orders created in a window, paged by ``next_token``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import SecretStr

from pipeline.errors import SourceRequestError
from pipeline.models import Platform
from pipeline.sources.transport import Auth, ShopTransport, listed
from pipeline.windows import ImportWindow


class ShoplazzaSource:
    platform = Platform.SHOPLAZZA

    def __init__(
        self,
        shop: str,
        base_url: str,
        access_token: SecretStr,
        *,
        page_size: int = 250,
        transport: ShopTransport | None = None,
    ) -> None:
        self.shop = shop
        self.api = f"{base_url.rstrip('/')}/openapi/2022-01"
        self.page_size = page_size
        auth = Auth(headers=lambda: {"Access-Token": access_token.get_secret_value()})
        self.transport = transport or ShopTransport(shop, auth=auth)
        self.transport.auth = auth

    def list_orders(self, window: ImportWindow) -> Iterator[dict[str, Any]]:
        params: dict[str, Any] = {
            "created_at_min": window.start.isoformat(),
            "created_at_max": window.end.isoformat(),
            "limit": self.page_size,
        }
        seen: set[str] = set()
        while True:
            url = f"{self.api}/orders"
            body, _ = self.transport.get_json(url, params)
            yield from listed(body, "orders", shop=self.shop, url=url)
            token = body.get("next_token") or ""
            if not token:
                return
            if token in seen:
                raise SourceRequestError(
                    f"{self.shop}: Shoplazza returned the same next_token twice; stopping to "
                    f"avoid a loop in window {window}",
                    shop=self.shop,
                )
            seen.add(token)
            params = {"limit": self.page_size, "next_token": token}

    def fetch_order(self, order_id: str) -> dict[str, Any]:
        body, _ = self.transport.get_json(f"{self.api}/orders/{order_id}")
        order: dict[str, Any] = body["order"]
        return order
