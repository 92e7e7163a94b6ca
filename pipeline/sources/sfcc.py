"""Salesforce Commerce Cloud Checkout Orders v1: offset paging under the 10,000 cap.

A query may page no deeper than ``offset + limit <= 10000``; a window holding more orders is
read on from the last creation time reached. A listing ends only at a short page, never at a
count (``total`` is in seed 004, not in Salesforce's OAS). The bearer token comes from Account
Manager's client-credentials endpoint (scope ``SALESFORCE_COMMERCE_API:{tenant} sfcc.orders``),
is renewed before it expires, and once more if the API answers 401. Orders are read oldest first
(``sortBy=creation_date&sortOrder=asc``: the default, newest first, would shift the offsets of a
window still receiving orders under the reader). A 503 with ``sfdc_load_status: THROTTLE`` is
load shedding: the transport backs off as for a 429.

Dates: seed 004 and older SDKs describe ``creationDateFrom``/``creationDateTo`` as datetimes,
commerce-sdk 6.6.0 as ``date-only``. The listing is right under both readings: it asks from the
window's start to the next UTC midnight after its end (a midnight is the same bound read either
way), reads oldest first, leaves the orders before the window to their own windows (an instance
reading days answers from the day's start) and stops at the first order past the window's end.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from pydantic import SecretStr

from pipeline.errors import SourceRequestError, SourceUnavailableError
from pipeline.models import Platform
from pipeline.sources.transport import Auth, ShopTransport, listed
from pipeline.windows import ImportWindow

MAX_DEPTH = 10_000


def _created(order: dict[str, Any], shop: str) -> datetime:
    try:
        return datetime.fromisoformat(str(order["creationDate"]).replace("Z", "+00:00"))
    except (KeyError, ValueError) as err:
        raise SourceUnavailableError(
            f"{shop}: SFCC sent order {order.get('orderNo')} without a readable creationDate; "
            "the window stays open and is read again by the next import or pass",
            shop=shop,
        ) from err


def next_midnight(moment: datetime) -> datetime:
    """The first UTC midnight at or after ``moment``: a bound both readings agree on."""
    utc = moment.astimezone(UTC)
    midnight = utc.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight if midnight == utc else midnight + timedelta(days=1)


def sfcc_time(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class SfccSource:
    platform = Platform.SFCC

    def __init__(
        self,
        shop: str,
        base_url: str,
        *,
        auth_url: str,
        organization_id: str,
        site_id: str,
        client_id: str,
        client_secret: SecretStr,
        page_size: int = 200,
        max_depth: int = MAX_DEPTH,
        business_manager_url: str | None = None,
        transport: ShopTransport | None = None,
    ) -> None:
        self.shop = shop
        self.organization_id = organization_id
        self.business_manager_url = business_manager_url
        self.orders_url = (
            f"{base_url.rstrip('/')}/checkout/orders/v1/organizations/{organization_id}/orders"
        )
        self.token_url = f"{auth_url.rstrip('/')}/dwsso/oauth2/access_token"
        self.site_id = site_id
        self.page_size = page_size
        self.max_depth = max_depth
        self._client = (client_id, client_secret)
        self._token: str | None = None
        self._token_expires = 0.0
        self.continuations = 0  # listings read on past the 10,000-deep offset limit
        self.days_read = 0  # listings answered from the day's start (the instance reads days)
        self.auth = Auth(headers=self._headers, refresh=self._renew)
        self.transport = transport or ShopTransport(shop)

    def _renew(self) -> None:
        client_id, secret = self._client
        tenant = self.organization_id.removeprefix("f_ecom_")
        body = self.transport.post_form(
            self.token_url,
            {
                "grant_type": "client_credentials",
                "scope": f"SALESFORCE_COMMERCE_API:{tenant} sfcc.orders",
            },
            basic_auth=(client_id, secret.get_secret_value()),
        )
        self._token = str(body["access_token"])
        self._token_expires = time.monotonic() + float(body.get("expires_in", 1799)) - 30

    def _headers(self) -> dict[str, str]:
        if self._token is None or time.monotonic() >= self._token_expires:
            self._renew()
        return {"Authorization": f"Bearer {self._token}"}

    def _page(self, low: datetime, high: datetime, offset: int, limit: int) -> dict[str, Any]:
        body, _ = self.transport.get_json(
            self.orders_url,
            {
                "siteId": self.site_id,
                "creationDateFrom": sfcc_time(low),
                "creationDateTo": sfcc_time(next_midnight(high)),
                "sortBy": "creation_date",
                "sortOrder": "asc",
                "offset": offset,
                "limit": limit,
            },
            auth=self.auth,
        )
        if not isinstance(body, dict):
            raise SourceUnavailableError(
                f"{self.shop}: SFCC answered an order listing with something that is not an "
                "object; the window stays open and is read again by the next import or pass",
                shop=self.shop,
            )
        page: dict[str, Any] = body
        return page

    def list_orders(self, window: ImportWindow) -> Iterator[dict[str, Any]]:
        """Every order of the window, oldest first, read until a short page says the end.

        ``total`` is never what ends a listing: Salesforce's OAS declares ``OrdersResponse`` as
        ``{data}`` alone (seed 004's page adds offset/limit/total), and a count may be capped.
        Offsets stop at 10,000 deep, so past that the listing goes on from the last creation
        time read (orders at that very millisecond already read are skipped): a window of any
        size is read by its own paging, in one pass, with no count asked first.
        """
        low, high = window.start, window.end
        edge: set[str] = set()  # orders read at exactly ``low`` (read again on continuing)
        while True:
            last, at_last = yield from self._read_from(window, low, high, edge)
            if last is None:
                return
            if last <= low:
                raise SourceRequestError(
                    f"{self.shop}: more than {self.max_depth} SFCC orders were created at "
                    f"{sfcc_time(low)} in {window}, past the API's paging depth; import the "
                    "rest from Business Manager",
                    shop=self.shop,
                )
            self.continuations += 1
            low, edge = last, at_last

    def _read_from(
        self, window: ImportWindow, low: datetime, high: datetime, edge: set[str]
    ) -> Generator[dict[str, Any], None, tuple[datetime | None, set[str]]]:
        """One run of offsets from ``low``; returns where to go on from (None: the end)."""
        offset, latest, seen_first = 0, low, False
        at_latest: set[str] = set(edge)
        while True:
            limit = min(self.page_size, self.max_depth - offset)
            page = self._page(low, high, offset, limit)
            data = self._data(page)
            for order in data:
                created = _created(order, self.shop)
                if created < low:  # an instance reading days answers from the day's start
                    self.days_read += not seen_first
                    seen_first = True
                    continue
                if created < latest:
                    raise SourceUnavailableError(
                        f"{self.shop}: SFCC sent order {order.get('orderNo')} created "
                        f"{order.get('creationDate')} out of creation order in {window}; the "
                        "window stays open and is read again by the next import or pass",
                        shop=self.shop,
                    )
                if created >= high:  # oldest first: the rest belong to later windows
                    return None, set()
                seen_first = True
                if created > latest:
                    latest, at_latest = created, set()
                number = str(order.get("orderNo"))
                at_latest.add(number)
                if not (created == low and number in edge):
                    yield order
            offset += len(data)
            if len(data) < limit:
                total = page.get("total")
                if isinstance(total, int) and offset < total:
                    raise SourceUnavailableError(
                        f"{self.shop}: SFCC's listing from {sfcc_time(low)} in {window} stopped "
                        f"after {offset} of the {total} orders it counts; the window stays "
                        "open and is read again by the next import or pass",
                        shop=self.shop,
                    )
                return None, set()
            if offset >= self.max_depth:
                return latest, at_latest

    def _data(self, page: dict[str, Any]) -> list[dict[str, Any]]:
        """SCAPI leaves ``data`` out of an empty result; a ``data`` that is not a list is an
        error, never "no orders"."""
        if "data" not in page:
            return []
        return listed(page, "data", shop=self.shop, url=self.orders_url)

    def order_admin_url(self, order_no: str) -> str:
        """Where a person opens the order: Business Manager's order search by number when the
        shops file names the instance (``business_manager_url``), else the order's API URL."""
        if self.business_manager_url:
            return (
                f"{self.business_manager_url.rstrip('/')}/on/demandware.store/Sites-Site/default/"
                f"ViewOrder_52-FindByNumber?OrderNo={quote(order_no)}"
            )
        return f"{self.orders_url}/{quote(order_no)}?siteId={quote(self.site_id)}"

    def fetch_order(self, order_id: str) -> dict[str, Any]:
        body, _ = self.transport.get_json(
            f"{self.orders_url}/{order_id}", {"siteId": self.site_id}, auth=self.auth
        )
        order: dict[str, Any] = body
        return order
