"""The GraphQL Admin API's webhook subscriptions, as the simulated shop keeps them.

``webhookSubscriptionCreate(topic, webhookSubscription: {uri})`` and ``webhookSubscriptions``
(their shapes come from the pinned introspection dump, like every other field): a subscription
made here is where the simulator's ``WebhookSender`` delivers that topic's webhooks.
"""

from __future__ import annotations

from typing import Any

from pipeline.simulators.webhooks import Subscription, WebhookSender


def topic_name(enum_value: str) -> str:
    """ORDERS_CREATE → orders/create (Shopify's enum and header spellings of one topic)."""
    head, _, rest = enum_value.lower().partition("_")
    return f"{head}/{rest}"


class WebhookSubscriptions:
    """Root fields for GraphQLAdmin; ``webhook_sender`` is the shop's (None: no app secret)."""

    def webhook_sender(self) -> WebhookSender | None:
        raise NotImplementedError

    def webhookSubscriptionCreate(  # noqa: N802  (GraphQL's field name)
        self,
        info: Any,
        topic: str,
        webhookSubscription: dict[str, Any],  # noqa: N803
    ) -> dict[str, Any]:
        sender = self.webhook_sender()
        uri = webhookSubscription.get("uri") or webhookSubscription.get("callbackUrl")
        errors = []
        if sender is None:
            errors.append("This app cannot receive webhooks: it has no client secret")
        if not uri or not str(uri).startswith(("https://", "http://127.0.0.1")):
            errors.append("Address is invalid")
        if errors or sender is None:
            return {"webhookSubscription": None,
                    "userErrors": [{"field": ["webhookSubscription", "uri"], "message": m}
                                   for m in errors]}  # fmt: skip
        made = sender.subscribe(topic_name(topic), str(uri))
        return {"webhookSubscription": _node(made), "userErrors": []}

    def webhookSubscriptions(  # noqa: N802
        self, info: Any, first: int | None = None, topics: list[str] | None = None, **_: Any
    ) -> dict[str, Any]:
        sender = self.webhook_sender()
        found = sender.subscriptions if sender is not None else []
        wanted = {topic_name(t) for t in topics} if topics else None
        nodes = [_node(s) for s in found if wanted is None or s.topic in wanted][: first or 50]
        return {"nodes": nodes, "edges": [{"node": n, "cursor": n["id"]} for n in nodes],
                "pageInfo": {"hasNextPage": False, "hasPreviousPage": False,
                             "startCursor": None, "endCursor": None}}  # fmt: skip


def _node(subscription: Subscription) -> dict[str, Any]:
    moment = subscription.created_at.isoformat().replace("+00:00", "Z")
    return {
        "id": f"gid://shopify/WebhookSubscription/{subscription.id}",
        "topic": subscription.topic.upper().replace("/", "_"),
        "uri": subscription.uri,
        "format": "JSON",
        "createdAt": moment,
        "updatedAt": moment,
        "apiVersion": {"handle": "2026-10"},
    }


__all__ = ["WebhookSubscriptions", "topic_name"]
