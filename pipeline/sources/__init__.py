"""Shop connectors: each lists the orders created in a window and fetches one order by id.

They only fetch (the worker maps, validates and stores) and never retry on their own: the
policy lives in ``transport``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from pipeline.models import Platform
from pipeline.sources.transport import ShopTransport
from pipeline.windows import ImportWindow


class OrderSource(Protocol):
    platform: Platform
    shop: str
    transport: ShopTransport

    def list_orders(self, window: ImportWindow) -> Iterator[dict[str, Any]]: ...

    def fetch_order(self, order_id: str) -> dict[str, Any]: ...


__all__ = ["OrderSource"]
