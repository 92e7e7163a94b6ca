"""How the simulated Shopify renders an order: its REST JSON (also what an orders/create webhook
carries) and its GraphQL Admin API object, from the catalog's facts and the shop's time zone."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.contracts import Contracts
from pipeline.simulators.catalog import SimOrder, total
from pipeline.simulators.variety import (
    SHOPIFY_ENUMS,
    SHOPIFY_REST_FULFILLMENT,
    chosen,
    shopify_values,
    value,
)

ID_BASE = 5_500_000_000_000


class ShopifyOrderViews:
    """Rendering for ShopifySimulator (needs its ``zone`` and ``shop``)."""

    zone: ZoneInfo
    shop: str
    contracts: Contracts

    def _states(self, order: SimOrder) -> dict[str, str | None]:
        """The order's GraphQL status words: plain, or drawn from the schema's whole enums."""
        states: dict[str, str | None] = {
            "displayFinancialStatus": "PAID",
            "displayFulfillmentStatus": "FULFILLED" if order.fulfilled else "UNFULFILLED",
        }
        for name, enum in SHOPIFY_ENUMS.items():
            key = f"shopify.{name}"
            if chosen(order, key):
                optional = (None,) if name == "displayFinancialStatus" else ()
                states[name] = value(order, key, (*optional, *shopify_values(self.contracts, enum)))
        return states

    def _time(self, moment: datetime | None) -> str | None:
        if moment is None:
            return None
        return moment.astimezone(self.zone).replace(microsecond=0).isoformat()

    def order_id(self, order: SimOrder) -> int:
        return ID_BASE + order.number

    def order_refs(self, order: SimOrder) -> set[str]:
        return {str(self.order_id(order)), f"#{1001 + order.number}", str(1001 + order.number)}

    def graphql_time(self, moment: datetime) -> str:
        """GraphQL's DateTime: UTC, to the second, with Z."""
        return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")

    def render_graphql(self, order: SimOrder) -> dict[str, Any]:
        """The order as the GraphQL Admin API returns it (the published schema picks fields)."""
        rest = self.render(order)
        address = rest["shipping_address"]

        def mailing(value: dict[str, Any] | None) -> dict[str, Any] | None:
            if value is None:
                return None
            return {
                "firstName": value["first_name"], "lastName": value["last_name"],
                "name": value["name"], "address1": value["address1"],
                "address2": value.get("address2"), "city": value["city"],
                "province": value.get("province"), "provinceCode": value["province_code"],
                "zip": value["zip"], "country": value["country"],
                "countryCodeV2": value["country_code"], "phone": value["phone"],
            }  # fmt: skip

        fulfilled, cancelled = order.fulfilled, order.cancelled
        states = self._states(order)
        return {
            "id": f"gid://shopify/Order/{rest['id']}",
            "legacyResourceId": str(rest["id"]),
            "name": rest["name"],
            "createdAt": self.graphql_time(order.created_at),
            "updatedAt": self.graphql_time(order.updated_at),
            "processedAt": self.graphql_time(order.created_at),
            "cancelledAt": self.graphql_time(order.updated_at) if cancelled else None,
            "closedAt": self.graphql_time(order.updated_at) if fulfilled else None,
            "email": order.email,
            "phone": order.phone,
            "displayFinancialStatus": states["displayFinancialStatus"],
            "displayFulfillmentStatus": states["displayFulfillmentStatus"],
            "statusPageUrl": rest["order_status_url"],
            "sourceName": order.source,
            "note": order.note,
            "tags": list(order.extra.get("tags", [])),
            "currencyCode": "USD",
            "totalPriceSet": {"shopMoney": {"amount": rest["total_price"], "currencyCode": "USD"}},
            "customer": {
                "id": f"gid://shopify/Customer/{rest['customer']['id']}",
                "email": order.email,
                "phone": order.phone,
                "defaultEmailAddress": {"emailAddress": order.email} if order.email else None,
                "defaultPhoneNumber": {"phoneNumber": order.phone} if order.phone else None,
                "firstName": order.first_name,
                "lastName": order.last_name,
            },  # fmt: skip
            "shippingAddress": mailing(address),
            "billingAddress": mailing(rest["billing_address"]),
            "lineItems": {
                "nodes": [
                    {
                        "id": f"gid://shopify/LineItem/{item['id']}",
                        "title": item["title"],
                        "sku": item["sku"],
                        "quantity": item["quantity"],
                        "requiresShipping": item["requires_shipping"],
                        "originalUnitPriceSet": {
                            "shopMoney": {"amount": item["price"], "currencyCode": "USD"}
                        },
                    }
                    for item in rest["line_items"]
                ]
            },  # fmt: skip
        }

    def render(self, order: SimOrder) -> dict[str, Any]:
        order_id = ID_BASE + order.number
        token = hashlib.md5(f"{self.shop}:{order_id}".encode()).hexdigest()
        key = hashlib.sha1(f"key:{self.shop}:{order_id}".encode()).hexdigest()[:32]
        address = None
        if order.address is not None:
            address = {
                **order.address,
                "name": f"{order.address['first_name']} {order.address['last_name']}",
                "phone": order.phone,
                "country": "United States",
            }
        customer = {
            "id": 7_100_000_000_000 + order.number,
            "email": order.email,
            "first_name": order.first_name,
            "last_name": order.last_name,
            "phone": order.phone,
        }
        return {
            "id": order_id,
            "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
            "name": f"#{1001 + order.number}",
            "order_number": 1001 + order.number,
            "email": order.email,
            "contact_email": order.email,
            "phone": order.phone,
            "created_at": self._time(order.created_at),
            "updated_at": self._time(order.updated_at),
            "processed_at": self._time(order.created_at),
            "cancelled_at": self._time(order.updated_at) if order.cancelled else None,
            "closed_at": self._time(order.updated_at) if order.fulfilled else None,
            "financial_status": (self._states(order)["displayFinancialStatus"] or "").lower()
            or None,
            "fulfillment_status": value(
                order, "shopify.fulfillment_status", SHOPIFY_REST_FULFILLMENT
            )
            if chosen(order, "shopify.fulfillment_status")
            else ("fulfilled" if order.fulfilled else None),
            "currency": "USD",
            "total_price": total(order),
            "subtotal_price": total(order),
            "total_tax": "0.00",
            "note": order.note,
            "tags": ", ".join(order.extra.get("tags", [])),
            "source_name": order.source,
            "token": token,
            "order_status_url": (
                f"https://{self.shop}.myshopify.com/83950764316/orders/{token}/authenticate?key={key}"
            ),
            "customer": customer,
            "shipping_address": address,
            "billing_address": address,
            "line_items": [
                {
                    "id": 13_000_000_000_000 + order.number * 10 + index,
                    "title": item["title"],
                    "sku": item["sku"],
                    "quantity": item["quantity"],
                    "price": item["price"],
                    "requires_shipping": True,
                }
                for index, item in enumerate(order.items)
            ],
        }


__all__ = ["ID_BASE", "ShopifyOrderViews"]
