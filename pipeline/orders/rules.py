"""What an order needs before the order store accepts it, and what to tell the merchant if not.

Defaults (DESIGN.md): a shipping address for orders that ship, a phone number to reach the
customer, a well-formed email. Each problem names the order, the field, and how to re-import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from pipeline.models import ErrorCode, Platform
from pipeline.orders.canonical import Order

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
    elif (error := email_error(order.email)) is not None:
        found.append(
            Problem(
                ErrorCode.BAD_EMAIL, "email", f"has a malformed email {order.email!r} ({error})"
            )
        )
    return found


_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
PLAIN_EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}")


# email-validator refuses a domain that is, or ends in, one of these names.
_SPECIAL_USE_TLDS = frozenset(name for name in SPECIAL_USE_DOMAIN_NAMES if "." not in name)
_SPECIAL_USE_MULTI_LABEL = any("." in name for name in SPECIAL_USE_DOMAIN_NAMES)


def email_error(address: str) -> str | None:
    """Why an email is malformed, or None; email-validator's verdict, computed faster.

    Most addresses are plain ASCII ``local@domain.tld``; those are accepted by a strict
    pattern that only ever accepts what email-validator accepts (no special-use domains, no
    IDNA labels, within the length limits). Anything else is asked of email-validator itself.
    """
    if _plainly_valid(address):
        return None
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as err:
        return str(err)
    return None


def _plainly_valid(address: str) -> bool:
    if len(address) > 254 or not PLAIN_EMAIL.fullmatch(address):
        return False
    local, domain = address.rsplit("@", 1)
    if len(local) > 64 or len(domain) > 253:
        return False
    labels = domain.lower().split(".")
    if any(len(label) > 3 and label[2:4] == "--" for label in labels):
        return False  # IDNA's reserved labels (xn--…): email-validator's own checks decide
    return labels[-1] not in _SPECIAL_USE_TLDS and not _SPECIAL_USE_MULTI_LABEL


def explain(order: Order, found: list[Problem]) -> str:
    """One message a person can act on."""
    what = "; ".join(problem.detail for problem in found)
    return (
        f"Order {order.name} ({order.order_id}) of shop {order.shop} {what}. "
        f"Fix it in {ADMIN[order.platform]}, then re-import it with "
        f"`loginsights reimport --shop {order.shop} --order-id {order.order_id}`"
    )
