"""What an order needs before the order store accepts it, and what to tell the merchant if not.

Defaults (DESIGN.md): a shipping address for orders that ship, a phone number to reach the
customer, a well-formed email. Each problem names the order, the field, and how to re-import.
"""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from pipeline.models import ErrorCode, Platform
from pipeline.orders.model import Order

ADMIN = {
    Platform.SHOPIFY: "the Shopify admin",
    Platform.SHOPLAZZA: "the Shoplazza admin",
    Platform.SFCC: "Business Manager",
}


@dataclass(frozen=True)
class Problem:
    code: ErrorCode
    field: str
    detail: str


def problems(order: Order) -> list[Problem]:
    found: list[Problem] = []
    address = order.shipping_address
    if order.needs_shipping and (address is None or not address.line1 or not address.city):
        found.append(
            Problem(ErrorCode.MISSING_ADDRESS, "shipping_address", "has no shipping address")
        )
    if not order.contact_phone():
        found.append(Problem(ErrorCode.MISSING_PHONE, "phone", "has no phone number"))
    if not order.email:
        found.append(Problem(ErrorCode.BAD_EMAIL, "email", "has no email"))
    else:
        try:
            validate_email(order.email, check_deliverability=False)
        except EmailNotValidError as err:
            found.append(
                Problem(
                    ErrorCode.BAD_EMAIL, "email", f"has a malformed email {order.email!r} ({err})"
                )
            )
    return found


def explain(order: Order, found: list[Problem]) -> str:
    """One message a person can act on."""
    what = "; ".join(problem.detail for problem in found)
    return (
        f"Order {order.name} ({order.order_id}) of shop {order.shop} {what}. "
        f"Fix it in {ADMIN[order.platform]}, then re-import it with "
        f"`loginsights reimport --shop {order.shop} --order-id {order.order_id}`"
    )
