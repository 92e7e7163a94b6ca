"""Salesforce Commerce Cloud, Checkout Orders v1 (seed 004), with its OAuth2 token endpoint.

- ``POST /dwsso/oauth2/access_token`` (Account Manager: client credentials, HTTP basic auth,
  ``scope=SALESFORCE_COMMERCE_API:{tenant} sfcc.orders``) returns a bearer token that expires
  after ``token_ttl_seconds`` (~30 min); an expired or unknown token gets 401, a missing scope
  400 ``invalid_scope``.
- Load shedding: calls in ``shed_load_calls`` answer 503 with ``sfdc_load`` and
  ``sfdc_load_status: THROTTLE``.
- ``GET /checkout/orders/v1/organizations/{organizationId}/orders``: ``siteId`` (required),
  ``creationDateFrom`` (>=), ``creationDateTo`` (<), ``offset``, ``limit`` (default 100, at most
  200), ``sortBy`` / ``sortOrder`` (default creation date, descending); ``offset + limit`` may
  not exceed 10000 (400). Body ``{"limit", "offset", "total", "data"}`` as seed 004 shows it
  (``envelope="seed"``), or ``{"data"}`` alone as Salesforce's OAS declares ``OrdersResponse``
  (``envelope="oas"``; an empty result then has no ``data``); ``total_cap`` / ``total_shift``
  make the count capped or wrong. ``dates="days"`` reads ``creationDateFrom``/``To`` as dates
  (commerce-sdk 6.6.0 says ``date-only``): from the start of From's day to the start of To's.
  Orders carry only the properties commerce-sdk's ``Order`` type declares
  (tests/test_contracts.py holds it to them).
- ``GET …/orders/{orderNo}?siteId=…``. Times in UTC with milliseconds.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from pipeline.contracts import Contracts
from pipeline.simulators.catalog import OrderCatalog, SimOrder, total
from pipeline.simulators.faults import Faults
from pipeline.simulators.server import Call, Reply, SimulatorServer
from pipeline.simulators.variety import SFCC_ENUMS, chosen, sfcc_values, value

ENVELOPES = ("seed", "oas")
DATE_READINGS = ("datetime", "days")  # seed 004 and older SDKs; commerce-sdk 6.6.0 (date-only)
ERROR_TYPE = "https://api.commercecloud.salesforce.com/documentation/error/v1/errors/"


def problem(status: int, kind: str, title: str, detail: str) -> Reply:
    return Reply(status, {"type": ERROR_TYPE + kind, "title": title, "detail": detail})


def order_no(number: int) -> str:
    return f"{number + 1:08d}"


class SfccSimulator(SimulatorServer):
    def order_refs(self, order: SimOrder) -> set[str]:
        return {order_no(order.number)}

    platform = "sfcc"

    def __init__(
        self,
        catalog: OrderCatalog,
        *,
        organization_id: str = "f_ecom_zzxy_prd",
        site_id: str = "RefArch",
        client_id: str = "sfcc-client",
        client_secret: str = "sfcc-secret",
        token_ttl_seconds: float = 1799.0,
        shed_load_calls: tuple[int, int] | None = None,
        envelope: str = "seed",
        total_cap: int | None = None,
        total_shift: int = 0,
        max_depth: int = 10_000,
        dates: str = "datetime",
        faults: Faults | None = None,
        port: int = 0,
        seed: int = 1,
        listen: bool = True,
        contracts: Contracts | None = None,
    ) -> None:
        super().__init__(catalog, faults=faults, port=port, seed=seed, listen=listen)
        self.contracts = contracts or Contracts()
        self.organization_id = organization_id
        self.site_id = site_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl_seconds = token_ttl_seconds
        self.shed_load_calls = shed_load_calls  # API calls A..B answer 503 THROTTLE
        if envelope not in ENVELOPES:
            raise ValueError(f"envelope must be one of {ENVELOPES}")
        self.envelope = envelope
        self.total_cap = total_cap  # a count that stops at a cap
        self.total_shift = total_shift  # a count that is simply wrong
        self.max_depth = max_depth  # offset + limit may not pass it (10,000 at Salesforce)
        if dates not in DATE_READINGS:
            raise ValueError(f"dates must be one of {DATE_READINGS}")
        self.dates = dates  # how creationDateFrom/To are read: as given, or as whole days
        self.tokens_issued = 0
        self._tokens: dict[str, float] = {}
        self._token_lock = threading.Lock()

    def server_error(self, status: int) -> Reply:
        return problem(status, "internal-server-error", "Internal Server Error", "try again later")

    def too_many_requests(self, retry_after: float) -> Reply:
        reply = problem(429, "too-many-requests", "Too Many Requests", "quota exceeded")
        reply.headers["Retry-After"] = f"{retry_after:.0f}" if retry_after >= 1 else "1"
        return reply

    def route(self, call: Call) -> Reply:
        if call.path == "/dwsso/oauth2/access_token" and call.method == "POST":
            return self._token(call)
        if (
            self.shed_load_calls
            and self.shed_load_calls[0] <= self.calls <= self.shed_load_calls[1]
        ):
            self.throttled += 1
            reply = problem(503, "service-unavailable", "Service Unavailable", "load shedding")
            reply.headers.update({"sfdc_load": "95", "sfdc_load_status": "THROTTLE"})
            return reply
        if not self._authorized(call):
            return problem(
                401,
                "unauthorized",
                "Unauthorized",
                "The access token is missing, invalid or expired.",
            )
        prefix = f"/checkout/orders/v1/organizations/{self.organization_id}/orders"
        if not call.path.startswith(prefix):
            return problem(404, "not-found", "Not Found", f"no resource at {call.path}")
        if call.param("siteId") != self.site_id:
            return problem(400, "bad-request", "Bad Request", "siteId is missing or unknown.")
        rest = call.path[len(prefix) :].strip("/")
        return self._one(rest) if rest else self._list(call)

    def _token(self, call: Call) -> Reply:
        form = parse_qs(call.body.decode())
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if call.headers.get("authorization") != f"Basic {expected}" or form.get("grant_type") != [
            "client_credentials"
        ]:
            return Reply(
                401,
                {"error": "invalid_client", "error_description": "Client authentication failed"},
            )
        scopes = set((form.get("scope") or [""])[0].split())
        wanted = {f"SALESFORCE_COMMERCE_API:{self.tenant}", "sfcc.orders"}
        if not wanted <= scopes:
            return Reply(
                400,
                {"error": "invalid_scope",
                 "error_description": f"scope must include {' '.join(sorted(wanted))}"},
            )  # fmt: skip
        token = secrets.token_urlsafe(24)
        with self._token_lock:
            self._tokens[token] = time.monotonic() + self.token_ttl_seconds
            self.tokens_issued += 1
        return Reply(
            200,
            {
                "access_token": token,
                "scope": f"SALESFORCE_COMMERCE_API:{self.tenant} sfcc.orders",
                "token_type": "Bearer",
                "expires_in": int(self.token_ttl_seconds),
            },
        )

    @property
    def tenant(self) -> str:
        """The tenant id in scopes: the organization id without its f_ecom_ prefix."""
        return self.organization_id.removeprefix("f_ecom_")

    def _authorized(self, call: Call) -> bool:
        header = call.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return False
        with self._token_lock:
            expires = self._tokens.get(header[len("Bearer ") :])
        return expires is not None and time.monotonic() < expires

    def expire_tokens(self) -> None:
        """Make every issued token expired now (tests of the refresh path)."""
        with self._token_lock:
            self._tokens = {token: 0.0 for token in self._tokens}

    def _list(self, call: Call) -> Reply:
        try:
            offset = int(call.param("offset") or 0)
            limit = int(call.param("limit") or 100)
            low = _parse(call.param("creationDateFrom"), days=self.dates == "days")
            high = _parse(call.param("creationDateTo"), days=self.dates == "days")
        except ValueError as err:
            return problem(400, "bad-request", "Bad Request", f"invalid parameter: {err}")
        if not 1 <= limit <= 200:
            return problem(400, "bad-request", "Bad Request", "limit must be between 1 and 200.")
        if offset < 0 or offset + limit > self.max_depth:
            return problem(
                400,
                "bad-request",
                "Bad Request",
                f"The sum of offset and limit cannot be greater than {self.max_depth}.",
            )
        orders = self.catalog.created_between(low, high, high_inclusive=False, now=self.now())
        if (call.param("sortBy") or "creation_date") == "last_modified_date":
            orders = sorted(orders, key=lambda o: o.updated_at)
        if (call.param("sortOrder") or "desc") == "desc":
            orders = list(reversed(orders))
        page = [self.render(o) for o in orders[offset : offset + limit]]
        if self.envelope == "oas":  # OrdersResponse as the OAS declares it: {data} alone
            return Reply(200, {"data": page} if page else {})
        counted = len(orders) if self.total_cap is None else min(len(orders), self.total_cap)
        body = {"limit": limit, "offset": offset, "total": max(0, counted + self.total_shift)}
        return Reply(200, {**body, "data": page})

    def _one(self, number_text: str) -> Reply:
        try:
            number = int(number_text) - 1
        except ValueError:
            number = -1
        order = self.catalog.get(number, self.now()) if number >= 0 else None
        if order is None:
            return problem(
                404, "order-not-found", "Order Not Found", f"No order with number {number_text}."
            )
        return Reply(200, self.render(order))

    def render(self, order: SimOrder) -> dict[str, Any]:
        address = None
        if order.address is not None:
            address = {
                "address1": order.address["address1"],
                "city": order.address["city"],
                "countryCode": order.address["country_code"],
                "firstName": order.address["first_name"],
                "lastName": order.address["last_name"],
                "fullName": f"{order.address['first_name']} {order.address['last_name']}",
                "postalCode": order.address["zip"],
                "stateCode": order.address["province_code"],
            }
            if order.phone:
                address["phone"] = order.phone
        amount = float(total(order))
        status = "cancelled" if order.cancelled else ("completed" if order.fulfilled else "new")
        shipping_status = "shipped" if order.fulfilled else "not_shipped"
        states: dict[str, str | None] = {
            "status": status,
            "confirmationStatus": "confirmed",
            "exportStatus": "not_exported",
            "paymentStatus": "paid",
            "shippingStatus": shipping_status,
            "channelType": "store" if order.source == "pos" else "storefront",
        }
        for name, enum in SFCC_ENUMS.items():
            if chosen(order, f"sfcc.{name}"):  # every property of Order is optional
                words = (None, *sfcc_values(self.contracts, enum))
                states[name] = value(order, f"sfcc.{name}", words)
        customer: dict[str, Any] = {
            "customerId": f"ab{order.number:024d}",
            "customerName": f"{order.first_name} {order.last_name}",
            "customerNo": f"{order.number:07d}",
            "guest": True,
        }
        if order.email:
            customer["email"] = order.email
        shipment = {
            "shipmentId": "me",
            "shipmentNo": f"{order.number + 1:08d}",
            "shippingAddress": address,
            "shippingMethod": {"id": "DefaultShippingMethod"},
            "shippingStatus": states["shippingStatus"],
            "shipmentTotal": amount,
        }
        rendered = {
            "orderNo": order_no(order.number),
            "creationDate": _time(order.created_at),
            "lastModified": _time(order.updated_at),
            "placeDate": _time(order.created_at),
            **states,
            "createdBy": "storefront",
            "currency": "USD",
            "customerLocale": "en_US",
            "customerInfo": customer,
            "billingAddress": address,
            "invoiceNo": f"{order.number + 1:08d}",
            "orderTotal": amount,
            "productSubTotal": amount,
            "productTotal": amount,
            "taxTotal": 0.0,
            "siteId": self.site_id,
            "remoteHost": "127.0.0.1",
            "taxation": "net",
            "productItems": [
                {
                    "itemId": f"{order.number:020d}{index}",
                    "productId": item["sku"],
                    "productName": item["title"],
                    "itemText": item["title"],
                    "quantity": item["quantity"],
                    "basePrice": float(item["price"]),
                    "netPrice": float(item["price"]) * item["quantity"],
                    "grossPrice": float(item["price"]) * item["quantity"],
                    "position": index + 1,
                    "shipmentId": "me",
                    "taxRate": 0.0,  # required by commerce-sdk's ProductItem
                }
                for index, item in enumerate(order.items)
            ],
            "shipments": [{k: v for k, v in shipment.items() if v is not None}],
        }
        return {k: v for k, v in rendered.items() if v is not None}  # absent, as the types say


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse(value: str | None, *, days: bool = False) -> datetime | None:
    """A bound as given, or (an instance reading dates) the start of its day, UTC."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0) if days else moment
