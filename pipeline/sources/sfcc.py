"""Salesforce Commerce Cloud Checkout Orders v1: offset paging under the 10,000 cap.

A query may page no deeper than ``offset + limit <= 10000``; a window holding more orders is
split in halves until each half fits. The bearer token comes from Account Manager's
client-credentials endpoint (scope ``SALESFORCE_COMMERCE_API:{tenant} sfcc.orders``), is renewed
before it expires, and once more if the API answers 401. Orders are read oldest first
(``sortBy=creation_date&sortOrder=asc``: the default, newest first, would shift the offsets of a
window still receiving orders under the reader). A 503 with ``sfdc_load_status: THROTTLE`` is
load shedding: the transport backs off as for a 429.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pydantic import SecretStr

from pipeline.errors import SourceRequestError, SourceUnavailableError
from pipeline.models import Platform
from pipeline.sources.transport import Auth, ShopTransport, listed
from pipeline.windows import ImportWindow

MAX_DEPTH = 10_000


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
        self._client = (client_id, client_secret)
        self._token: str | None = None
        self._token_expires = 0.0
        self.windows_split = 0
        auth = Auth(headers=self._headers, refresh=self._renew)
        self.transport = transport or ShopTransport(shop, auth=auth)
        self.transport.auth = auth

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

    def _page(self, window: ImportWindow, offset: int) -> dict[str, Any]:
        body, _ = self.transport.get_json(
            self.orders_url,
            {
                "siteId": self.site_id,
                "creationDateFrom": sfcc_time(window.start),
                "creationDateTo": sfcc_time(window.end),
                "sortBy": "creation_date",
                "sortOrder": "asc",
                "offset": offset,
                "limit": self.page_size,
            },
        )
        page: dict[str, Any] = body
        return page

    def list_orders(self, window: ImportWindow) -> Iterator[dict[str, Any]]:
        first = self._page(window, 0)
        total = int(first.get("total", 0))
        if total > MAX_DEPTH:
            try:
                halves = window.split()
            except ValueError as err:
                raise SourceRequestError(
                    f"{self.shop}: more than {MAX_DEPTH} orders in {window}, which cannot be "
                    "split further",
                    shop=self.shop,
                ) from err
            self.windows_split += 1
            for half in halves:
                yield from self.list_orders(half)
            return
        data = self._data(first, total)
        yield from data
        offset = len(data)
        while offset < total:
            data = self._data(self._page(window, offset), total)
            if not data:
                raise SourceUnavailableError(
                    f"{self.shop}: SFCC gave an empty page at offset {offset} of {total} orders "
                    f"in {window}; the window stays open and is read again on the next pass",
                    shop=self.shop,
                )
            yield from data
            offset += len(data)

    def _data(self, page: dict[str, Any], total: int) -> list[dict[str, Any]]:
        """SCAPI leaves ``data`` out of an empty result; anywhere else it must be there."""
        if total == 0 and "data" not in page:
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
        body, _ = self.transport.get_json(f"{self.orders_url}/{order_id}", {"siteId": self.site_id})
        order: dict[str, Any] = body
        return order
