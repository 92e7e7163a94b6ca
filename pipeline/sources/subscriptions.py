"""Webhook subscriptions at the platform: which addresses it delivers ``orders/create`` to.

Shopify through the GraphQL Admin API (``webhookSubscriptions``, ``webhookSubscriptionCreate``
with ``uri``: ``callbackUrl`` is deprecated), Shoplazza through its REST ``/webhooks``. Each
speaks through the shop's connector, so the same transport, credentials and budget apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pipeline.errors import SourceRequestError
from pipeline.sources.shopify_graphql import ShopifyGraphQLSource
from pipeline.sources.shoplazza import ShoplazzaSource

ORDERS_CREATE = "orders/create"

SUBSCRIPTIONS = """
query Subscriptions($topics: [WebhookSubscriptionTopic!]) {
  webhookSubscriptions(first: 50, topics: $topics) { nodes { id topic uri } }
}"""
SUBSCRIBE = """
mutation Subscribe($topic: WebhookSubscriptionTopic!, $subscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $subscription) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}"""


@dataclass(frozen=True)
class Subscription:
    id: str
    topic: str  # in the webhook's own spelling: orders/create
    uri: str


class WebhookSubscriptions(Protocol):
    def list(self) -> list[Subscription]: ...

    def create(self, uri: str) -> Subscription: ...


def _topic(enum_value: str) -> str:
    head, _, rest = enum_value.lower().partition("_")
    return f"{head}/{rest}"


class ShopifySubscriptions:
    def __init__(self, source: ShopifyGraphQLSource) -> None:
        self.source = source

    def list(self) -> list[Subscription]:
        data = self.source.query("webhooks", SUBSCRIPTIONS, {"topics": ["ORDERS_CREATE"]})
        nodes = data["webhookSubscriptions"]["nodes"]
        return [Subscription(n["id"], _topic(n["topic"]), n["uri"]) for n in nodes]

    def create(self, uri: str) -> Subscription:
        data = self.source.query(
            "subscribe",
            SUBSCRIBE,
            {"topic": "ORDERS_CREATE", "subscription": {"uri": uri, "format": "JSON"}},
        )
        made = data["webhookSubscriptionCreate"]
        if made.get("userErrors") or not made.get("webhookSubscription"):
            problems = "; ".join(e.get("message", "") for e in made.get("userErrors") or [])
            raise SourceRequestError(
                f"{self.source.shop}: Shopify refused the webhook subscription to {uri}: "
                f"{problems or 'no subscription came back'}; check the address is public https "
                "and the app's scopes include read_orders",
                shop=self.source.shop,
            )
        node = made["webhookSubscription"]
        return Subscription(node["id"], _topic(node["topic"]), node["uri"])


class ShoplazzaSubscriptions:
    def __init__(self, source: ShoplazzaSource) -> None:
        self.source = source

    def list(self) -> list[Subscription]:
        url = f"{self.source.api}/webhooks"
        body, _ = self.source.transport.get_json(url, auth=self.source.auth)
        hooks = body.get("webhooks") or [] if isinstance(body, dict) else []
        return [Subscription(str(h["id"]), h["topic"], h["address"]) for h in hooks]

    def create(self, uri: str) -> Subscription:
        url = f"{self.source.api}/webhooks"
        # Shoplazza's reference shows the body in a {"webhook": …} envelope (from 2025-06, in
        # one reading) and bare in another: the envelope first, the bare body if it is refused
        wanted = {"address": uri, "topic": ORDERS_CREATE}
        try:
            body, _ = self.source.transport.post_json(
                url, {"webhook": wanted}, auth=self.source.auth
            )
        except SourceRequestError as err:
            if err.status not in (400, 422):
                raise
            body, _ = self.source.transport.post_json(url, wanted, auth=self.source.auth)
        hook = body.get("webhook", body) if isinstance(body, dict) else None
        if not isinstance(hook, dict):
            raise SourceRequestError(
                f"{self.source.shop}: Shoplazza answered the webhook subscription without one "
                f"({str(body)[:200]}); try again, or create it in the shop's admin",
                shop=self.source.shop,
            )
        return Subscription(str(hook["id"]), hook["topic"], hook["address"])


def ensure_subscribed(subscriptions: WebhookSubscriptions, uri: str) -> tuple[Subscription, bool]:
    """The shop's orders/create subscription to ``uri``, made if missing; True if made now."""
    for existing in subscriptions.list():
        if existing.topic == ORDERS_CREATE and existing.uri == uri:
            return existing, False
    return subscriptions.create(uri), True


__all__ = [
    "ORDERS_CREATE",
    "ShopifySubscriptions",
    "ShoplazzaSubscriptions",
    "Subscription",
    "WebhookSubscriptions",
    "ensure_subscribed",
]
