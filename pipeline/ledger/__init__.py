"""The ledger: the order store and the memory of every import, on SQLite or PostgreSQL.

Tables:
    orders       imported orders (a refresh adds a version), with the raw payload as sent
    failures     one row per failing order: first and last attempt, count, last error
    checkpoints  per shop, the end of the last window imported completely
    outbox       log documents for Solr not yet accepted by it
    attempts     every failed attempt of every order (the history ``loginsights show`` prints)
    reconciliations  the daily reconciliation reports
    shop_leases  which worker works which shop, until when
    worker_presence  each live worker's heartbeat, fair share and load
    shop_problems  shops that cannot be worked until a person acts
    webhook_notices  orders a platform's webhook announced, until the worker imported them
    waiting_orders  orders that are not orders to ship yet (not placed, payment failed) or
                 could not be read whole, looked at again until they change
    notifications  what loginsights tells people, kept until sent, each piece of news once

A failed attempt and its outbox row are written in one transaction, and so are a success and
the outbox row that marks the failure resolved: if the process dies, either both exist or
neither. The outbox is emptied only by ``OutboxFlusher`` once Solr has accepted a document.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipeline.ledger.base import LedgerBase, ledger_url, libpq_conninfo, payload_hash
from pipeline.ledger.failures import FailureLog, FailureRecord, resolved_document
from pipeline.ledger.leases import HeldElsewhere, Lease, ShopLeases, WorkerPresence
from pipeline.ledger.notices import WebhookNotices
from pipeline.ledger.notifications import KeptNotification, Notification, NotificationLog
from pipeline.ledger.orders import OLD_VERSION_TAG, OrderBook, order_values
from pipeline.ledger.outbox import OutboxQueue, OutboxRow
from pipeline.ledger.progress import ShopProgress
from pipeline.ledger.waiting import STOPPED_WATCHING, WaitingOrder, WaitingOrders
from pipeline.models import RenderFailure
from pipeline.orders.canonical import Order


class Ledger(
    OrderBook,
    FailureLog,
    ShopProgress,
    OutboxQueue,
    WaitingOrders,
    ShopLeases,
    WebhookNotices,
    NotificationLog,
    LedgerBase,
):
    """The order store; one per process, shared by its workers and its flusher."""

    def store_orders(
        self,
        entries: Sequence[tuple[Order, dict[str, Any]]],
        *,
        render: RenderFailure,
        lease: Lease | None = None,
    ) -> set[str]:
        """Store a page of good orders (version 1) in one transaction, and mark their earlier
        failures resolved with the log documents that say so; returns the ids stored (any
        other was already there, and nothing about it changes)."""
        if not entries:
            return set()
        shop = entries[0][0].shop
        ids = [order.order_id for order, _ in entries]
        with self._transaction() as db:
            failing = self.outstanding_rows(db, shop, ids, lease=lease)
            now, rows, seen = self.now_iso(), [], set()
            for order, payload in entries:
                if order.order_id not in seen:
                    seen.add(order.order_id)
                    rows.append(order_values(order, payload, version=1, imported_at=now))
            stored = self._insert_new_orders(db, rows)  # one already there is left as it is
            for order, _ in entries:
                if order.order_id in stored and order.order_id in failing:
                    document = resolved_document(
                        failing[order.order_id], render=render, resolved_at=self.clock()
                    )
                    self._resolve(db, order, document)
                    del failing[order.order_id]
        return stored


__all__ = [
    "OLD_VERSION_TAG",
    "FailureRecord",
    "HeldElsewhere",
    "KeptNotification",
    "Lease",
    "Ledger",
    "Notification",
    "OutboxRow",
    "STOPPED_WATCHING",
    "WaitingOrder",
    "WorkerPresence",
    "ledger_url",
    "libpq_conninfo",
    "payload_hash",
]
