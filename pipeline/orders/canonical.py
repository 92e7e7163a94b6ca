"""The canonical order: what the order store keeps, whatever platform the order came from."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from pipeline.models import Platform


class OrderStatus(StrEnum):
    """The order store's lifecycle (seed 001): created, then completed or cancelled."""

    CREATED = "created"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Address(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = ""
    line1: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country_code: str = ""
    phone: str | None = None


class LineItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str = ""
    title: str = ""
    quantity: int = Field(1, ge=0)
    price: Decimal = Decimal("0")
    requires_shipping: bool = True


class Order(BaseModel):
    """One order as imported; ``platform_fulfilled`` is the platform's view, for ``stuck``."""

    model_config = ConfigDict(frozen=True)

    platform: Platform
    shop: str
    order_id: str
    name: str
    created_at: AwareDatetime
    updated_at: AwareDatetime | None = None
    email: str | None = None
    phone: str | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    line_items: list[LineItem] = Field(default_factory=list)
    total: Decimal = Decimal("0")
    currency: str = ""
    status: OrderStatus = OrderStatus.CREATED
    platform_fulfilled: bool = False
    channel: str = "web"
    tags: list[str] = Field(default_factory=list)
    note: str = ""
    site_url: str = ""

    @property
    def needs_shipping(self) -> bool:
        """POS sales leave the store with the customer; cancelled and completed orders (the
        platform fulfilled them, or nothing needed fulfilling) ship nothing more."""
        if self.status is not OrderStatus.CREATED or self.channel == "pos":
            return False
        return any(item.requires_shipping for item in self.line_items)

    def contact_phone(self) -> str | None:
        if self.phone:
            return self.phone
        for address in (self.shipping_address, self.billing_address):
            if address is not None and address.phone:
                return address.phone
        return None


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
