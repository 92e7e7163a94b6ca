"""The push path: a platform's order webhook, checked and kept, so the shop's worker imports
that order at once (Shopify's guidance: webhooks for speed, polling for safety).

A delivery is believed only once its HMAC-SHA256 (the app's client secret over the raw body,
base64, compared in constant time) matches, and only for a shop of the shops file on a topic we
asked for. Then its notice (shop, delivery id, order id) is kept in the ledger, idempotent by
delivery id, and the platform gets its 200. The worker imports noticed orders by id through the
same intake, ledger and outbox as a window. Nothing else changes: windows and the daily
reconciliation still run, so a lost webhook costs latency, never an order; a duplicate or a late
one finds the order stored and imports nothing twice.

SFCC sends no order webhooks: its shops stay on polling alone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import SecretStr

from pipeline.errors import LogInsightsError, WebhookRefused
from pipeline.ledger import Ledger
from pipeline.models import Platform
from pipeline.orders import raw_order_id
from pipeline.scrub import scrub
from pipeline.shops import ShopConfig
from pipeline.sources.subscriptions import ORDERS_CREATE, WebhookSubscriptions, ensure_subscribed
from pipeline.windows import Clock, utc_now

ORDER_TOPICS = frozenset({"orders/create"})
MAX_DELIVERY_ID = 128  # the platforms send UUIDs; a longer one is not theirs
ORDER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what reaches a connector's URL, signed or not


@dataclass(frozen=True)
class WebhookDialect:
    """What a platform names the headers of a delivery (from its published webhook docs)."""

    platform: Platform
    signature: str
    topic: str
    shop_domain: str
    delivery_id: str
    triggered_at: str | None = None


DIALECTS = {
    Platform.SHOPIFY: WebhookDialect(
        Platform.SHOPIFY,
        signature="X-Shopify-Hmac-Sha256",
        topic="X-Shopify-Topic",
        shop_domain="X-Shopify-Shop-Domain",
        delivery_id="X-Shopify-Webhook-Id",
        triggered_at="X-Shopify-Triggered-At",
    ),
    Platform.SHOPLAZZA: WebhookDialect(
        Platform.SHOPLAZZA,
        signature="X-Shoplazza-Hmac-Sha256",
        topic="X-Shoplazza-Topic",
        shop_domain="X-Shoplazza-Shop-Domain",
        delivery_id="X-Shoplazza-Deduplication-ID",
    ),
}


def webhook_signature(secret: SecretStr, body: bytes) -> str:
    """HMAC-SHA256 of the raw body under the app's client secret, base64 (both platforms)."""
    digest = hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class WebhookShop:
    """A shop of the shops file that receives webhooks: its domain and its app's secret."""

    name: str
    platform: Platform
    domain: str
    secret: SecretStr
    aliases: tuple[str, ...] = ()  # other domains its webhooks may name


class Delivery(StrEnum):
    NOTED = "noted"
    DUPLICATE = "duplicate"  # this delivery id was noted before
    IGNORED = "ignored"  # a topic loginsights does not import from


@dataclass(frozen=True)
class Received:
    delivery: Delivery
    shop: str
    order_id: str | None = None
    topic: str = ""
    late_seconds: float | None = None  # from the platform's event to kept here, when it says


NOT_BELIEVED = (
    "the delivery's signature does not match a shop of the shops file; check the shop's "
    "webhook_secret_env (the app's client secret) and shop_domain"
)


class WebhookInbox:
    """Checks deliveries and keeps their notices in the ledger."""

    def __init__(self, ledger: Ledger, shops: Iterable[WebhookShop], *, clock: Clock = utc_now):
        self.ledger = ledger
        self.clock = clock
        self.shops = {
            (shop.platform, name.lower()): shop
            for shop in shops
            for name in (shop.domain, *shop.aliases)
        }
        self._decoy = SecretStr(secrets.token_hex(32))  # an unknown shop's "secret"

    def receive(self, platform: Platform, headers: Mapping[str, str], body: bytes) -> Received:
        """Believe, then keep. ``headers`` are looked up case-insensitively by the caller."""
        dialect = DIALECTS[platform]
        domain = headers.get(dialect.shop_domain, "").strip().lower()
        shop = self.shops.get((platform, domain))
        given = headers.get(dialect.signature, "")
        secret = shop.secret if shop is not None else self._decoy  # the same work either way
        signed = hmac.compare_digest(
            webhook_signature(secret, body).encode(), given.strip().encode()
        )
        if shop is None or not signed:
            raise WebhookRefused(NOT_BELIEVED, status=401)
        topic = headers.get(dialect.topic, "").strip()
        if topic not in ORDER_TOPICS:
            return Received(Delivery.IGNORED, shop.name, topic=topic)
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError) as err:
            raise WebhookRefused(
                f"{shop.name}: the {topic} delivery is not JSON ({err}); nothing was kept, the "
                "windows will import the order",
                status=400,
            ) from err
        named = payload.get("id") if isinstance(payload, dict) else None
        order_id = raw_order_id(platform, payload) if isinstance(named, int | str) else None
        positive = not isinstance(named, int) or named > 0
        if (
            isinstance(named, bool)
            or order_id is None
            or not positive
            or not ORDER_ID.fullmatch(order_id)
        ):
            raise WebhookRefused(
                f"{shop.name}: the {topic} delivery names no usable order id (a positive number "
                "or a plain string); nothing was kept, the windows will import the order",
                status=400,
            )
        delivery_id = headers.get(dialect.delivery_id, "").strip()
        if len(delivery_id) > MAX_DELIVERY_ID:
            raise WebhookRefused(
                f"{shop.name}: the {topic} delivery's {dialect.delivery_id} is longer than "
                f"{MAX_DELIVERY_ID} characters; nothing was kept, the windows will import it",
                status=400,
            )
        received_at = self.clock()
        triggered_at = _moment(headers.get(dialect.triggered_at or "", ""))
        noted = self.ledger.note_webhook(
            shop.name,
            delivery_id or f"sha256:{hashlib.sha256(body).hexdigest()}",
            order_id=order_id,
            topic=topic,
            received_at=received_at,
            triggered_at=triggered_at,
        )
        late = None if triggered_at is None else (received_at - triggered_at).total_seconds()
        return Received(
            Delivery.NOTED if noted else Delivery.DUPLICATE, shop.name, order_id, topic,
            late_seconds=max(0.0, late) if late is not None and noted else None,
        )  # fmt: skip


@dataclass(frozen=True)
class WebhookState:
    """One shop's push path: where the platform delivers, and what has come of it."""

    shop: str
    platform: str
    subscribed: list[str]  # addresses orders/create is delivered to
    created_now: bool = False
    pending: int = 0  # notices waiting for the worker
    last_received_at: str | None = None
    problem: str | None = None


def webhook_states(
    shops: Sequence[ShopConfig],
    subscriptions_for: Callable[[ShopConfig], WebhookSubscriptions],
    summary: Mapping[str, Mapping[str, object]],
    *,
    register_at: str | None = None,
) -> list[WebhookState]:
    """Each shop's subscriptions (made at ``register_at``/webhooks/<platform> when given, if
    missing) and its notices; one shop's refusal is reported, the others go on."""
    states = []
    for shop in shops:
        seen = summary.get(shop.name, {})
        pending, last = int(str(seen.get("pending") or 0)), seen.get("last_received_at")
        made, problem, uris = False, None, []
        try:
            subscriptions = subscriptions_for(shop)
            if register_at:
                uri = f"{register_at.rstrip('/')}/webhooks/{shop.platform.value}"
                _, made = ensure_subscribed(subscriptions, uri)
            uris = [s.uri for s in subscriptions.list() if s.topic == ORDERS_CREATE]
        except LogInsightsError as err:
            problem = scrub(str(err))
        states.append(
            WebhookState(shop.name, shop.platform.value, uris, made, pending,
                         str(last) if last else None, problem)
        )  # fmt: skip
    return states


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


__all__ = [
    "DIALECTS",
    "ORDER_TOPICS",
    "Delivery",
    "Received",
    "WebhookDialect",
    "WebhookInbox",
    "WebhookShop",
    "WebhookState",
    "webhook_signature",
    "webhook_states",
]
