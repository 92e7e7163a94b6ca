"""Webhook deliveries as the platforms make them, for the simulated shops.

Written from the platforms' published webhook docs, not from loginsights' receiver: Shopify
(shopify.dev, "Verify webhook deliveries" and "Delivery structure") and Shoplazza
(shoplazza.dev, "Webhook Properties"). Both sign the raw JSON body with HMAC-SHA256 under the
app's client secret, base64, in a header; Shopify names the delivery in X-Shopify-Webhook-Id,
Shoplazza in X-Shoplazza-Deduplication-ID. A delivery that gets no 2xx is retried with backoff
(Shopify: 8 times over 4 hours; scaled here to seconds). Faults: drop a delivery, send it
twice under the same id, delay each by a random time so they arrive out of order.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import json
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from pipeline.simulators.faults import Faults

HEADERS = {
    "shopify": {
        "topic": "X-Shopify-Topic",
        "signature": "X-Shopify-Hmac-Sha256",
        "domain": "X-Shopify-Shop-Domain",
        "delivery": "X-Shopify-Webhook-Id",
        "version": "X-Shopify-API-Version",
        "triggered": "X-Shopify-Triggered-At",
        "event": "X-Shopify-Event-Id",
    },
    "shoplazza": {
        "topic": "X-Shoplazza-Topic",
        "signature": "X-Shoplazza-Hmac-Sha256",
        "domain": "X-Shoplazza-Shop-Domain",
        "delivery": "X-Shoplazza-Deduplication-ID",
        "version": "X-Shoplazza-Api-Version",
    },
}


@dataclass
class Subscription:
    id: str
    topic: str  # "orders/create"
    uri: str
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(order=True)
class _Due:
    at: float
    sequence: int
    uri: str = field(compare=False)
    body: bytes = field(compare=False)
    headers: dict[str, str] = field(compare=False)
    attempt: int = field(compare=False, default=1)


class WebhookSender:
    """Delivers one simulated shop's webhooks to its subscriptions, in a background thread."""

    def __init__(
        self,
        platform: str,
        *,
        domain: str,
        secret: str,
        api_version: str,
        faults: Faults | None = None,
        attempts: int = 8,
        backoff_seconds: float = 0.2,
        seed: int = 1,
    ) -> None:
        self.names = HEADERS[platform]
        self.domain, self.secret, self.api_version = domain, secret, api_version
        self.faults = faults or Faults()
        self.attempts, self.backoff_seconds = attempts, backoff_seconds
        self.subscriptions: list[Subscription] = []
        self.sent = 0  # deliveries attempted (each try counts)
        self.delivered = 0  # answered 2xx
        self.dropped = 0  # never sent (a fault)
        self.given_up = 0  # no 2xx after every attempt
        self.failed: Counter[str] = Counter()  # tries without a 2xx, by status or exception
        self.failure_example = ""  # the last exception's message
        self._rng = random.Random(seed)
        self._queue: list[_Due] = []
        self._in_flight = 0
        self._sequence = itertools.count()
        self._wake = threading.Condition()
        self._closed = False
        self._session = requests.Session()
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._thread.start()

    def subscribe(self, topic: str, uri: str) -> Subscription:
        subscription = Subscription(f"{len(self.subscriptions) + 1}", topic, uri)
        self.subscriptions.append(subscription)
        return subscription

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        """An event happened at the shop: one delivery per subscription to its topic."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        for subscription in [s for s in self.subscriptions if s.topic == topic]:
            if self._rng.random() < self.faults.webhook_drop_share:
                self.dropped += 1
                continue
            headers = self._headers(topic, body)
            copies = 2 if self._rng.random() < self.faults.webhook_duplicate_share else 1
            for _ in range(copies):
                delay = self._rng.uniform(0, self.faults.webhook_delay_seconds)
                self._schedule(_Due(time.monotonic() + delay, 0, subscription.uri, body, headers))

    def idle(self) -> bool:
        """Nothing left to send (tests wait for this)."""
        with self._wake:
            return not self._queue and not self._in_flight

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout=5)
        self._session.close()

    def _headers(self, topic: str, body: bytes) -> dict[str, str]:
        digest = hmac.new(self.secret.encode(), body, hashlib.sha256).digest()
        names = self.names
        headers = {
            "Content-Type": "application/json",
            names["topic"]: topic,
            names["signature"]: base64.b64encode(digest).decode(),
            names["domain"]: self.domain,
            names["delivery"]: str(uuid.uuid4()),
            names["version"]: self.api_version,
        }
        if "triggered" in names:
            headers[names["triggered"]] = datetime.now(UTC).isoformat()
            headers[names["event"]] = str(uuid.uuid4())
        return headers

    def _schedule(self, due: _Due) -> None:
        due.sequence = next(self._sequence)
        with self._wake:
            heapq.heappush(self._queue, due)
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._closed and (
                    not self._queue or self._queue[0].at > time.monotonic()
                ):
                    wait = self._queue[0].at - time.monotonic() if self._queue else None
                    self._wake.wait(timeout=wait)
                if self._closed:
                    return
                due = heapq.heappop(self._queue)
                self._in_flight += 1
            try:
                self._send(due)
            finally:
                with self._wake:
                    self._in_flight -= 1

    def _send(self, due: _Due) -> None:
        self.sent += 1
        try:
            status = self._session.post(
                due.uri, data=due.body, headers=due.headers, timeout=5
            ).status_code
        except requests.RequestException as err:
            status = 0
            self.failed[type(err).__name__] += 1
            self.failure_example = str(err)[:300]
        if 200 <= status < 300:
            self.delivered += 1
            return
        if status:
            self.failed[str(status)] += 1
        if due.attempt < self.attempts:
            wait = self.backoff_seconds * 2 ** (due.attempt - 1)
            self._schedule(
                _Due(time.monotonic() + wait, 0, due.uri, due.body, due.headers, due.attempt + 1)
            )
        else:
            self.given_up += 1


__all__ = ["HEADERS", "Subscription", "WebhookSender"]
