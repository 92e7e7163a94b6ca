"""Waiting orders: what the platform holds that is not an order to ship yet, looked at again.

An SFCC order not yet placed, one whose payment failed, a Shopify order whose payment was voided,
an order whose nested pages could not be read whole: none of them is stored, none holds back its
window's checkpoint, and each waits here, with its reason, until a look at the platform finds it
changed. Looks back off (a minute, doubling to an hour) and stop thirty days after the order's
creation; a settled row stays to answer ``loginsights show``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import RowMapping, func, select, update

from pipeline.ledger.base import LedgerBase
from pipeline.ledger.leases import Lease, ShopLeases
from pipeline.ledger.schema import waiting_orders

FIRST_LOOK = timedelta(minutes=1)
LONGEST_LOOK = timedelta(hours=1)
WATCHED_FOR = timedelta(days=30)  # after the order's creation: then left to a person
STOPPED_WATCHING = "stopped watching"


@dataclass(frozen=True)
class WaitingOrder:
    """One order kept aside: which, why (a word and the platform's values), since when."""

    shop: str
    order_id: str
    platform: str
    name: str
    order_created_at: datetime
    reason: str
    detail: str


def next_look(looks: int, now: datetime) -> datetime:
    """When to look again after ``looks`` looks: doubling from a minute, at most an hour."""
    step = min(FIRST_LOOK * (2 ** min(looks, 12)), LONGEST_LOOK)
    return now + step


class WaitingOrders(ShopLeases, LedgerBase):
    def keep_waiting(self, order: WaitingOrder, *, lease: Lease | None = None) -> bool:
        """Keep (or keep again) an order aside; True if it was not waiting before."""
        now = self.clock()
        key = (waiting_orders.c.shop == order.shop, waiting_orders.c.order_id == order.order_id)
        with self._transaction() as db:
            rows = self._read_fenced(
                db, select(waiting_orders.c.looks, waiting_orders.c.settled_at).where(*key), lease
            )
            found = rows[0] if rows else None
            looks = 0 if found is None or found.settled_at is not None else int(found.looks) + 1
            values = {
                "platform": order.platform,
                "name": order.name,
                "order_created_at": order.order_created_at.astimezone(UTC).isoformat(),
                "reason": order.reason,
                "detail": order.detail,
                "last_seen_at": now.astimezone(UTC).isoformat(),
                "next_look_at": next_look(looks, now).isoformat(),
                "looks": looks,
                "settled_at": None,
                "outcome": None,
            }
            if found is None:
                db.execute(
                    waiting_orders.insert().values(
                        shop=order.shop,
                        order_id=order.order_id,
                        first_seen_at=values["last_seen_at"],
                        **values,
                    )
                )
            else:
                db.execute(update(waiting_orders).where(*key).values(**values))
        return found is None or found.settled_at is not None

    def due_waiting(self, shop: str, *, limit: int = 50) -> list[RowMapping]:
        """The shop's waiting orders due for a look now, longest-waiting first."""
        now = self.now_iso()
        return self._read(
            select(waiting_orders)
            .where(
                waiting_orders.c.shop == shop,
                waiting_orders.c.settled_at.is_(None),
                waiting_orders.c.next_look_at <= now,
            )
            .order_by(waiting_orders.c.next_look_at)
            .limit(limit)
        )

    def settle_waiting(self, shop: str, order_ids: Sequence[str], outcome: str) -> int:
        """The orders waited for are no longer waiting (imported, failed, gone, given up)."""
        if not order_ids:
            return 0
        return self._write(
            update(waiting_orders)
            .where(
                waiting_orders.c.shop == shop,
                waiting_orders.c.order_id.in_(list(order_ids)),
                waiting_orders.c.settled_at.is_(None),
            )
            .values(settled_at=self.now_iso(), outcome=outcome)
        )

    def next_waiting_look(self, shop: str) -> datetime | None:
        """When the shop's next waiting order is due for a look (None: nothing waits)."""
        rows = self._read(
            select(func.min(waiting_orders.c.next_look_at).label("due")).where(
                waiting_orders.c.shop == shop, waiting_orders.c.settled_at.is_(None)
            )
        )
        due = rows[0]["due"] if rows else None
        return datetime.fromisoformat(due) if due else None

    def waiting_order(self, shop: str, order_id: str) -> RowMapping | None:
        rows = self._read(
            select(waiting_orders).where(
                waiting_orders.c.shop == shop, waiting_orders.c.order_id == order_id
            )
        )
        return rows[0] if rows else None

    def waiting_counts(self, shop: str | None = None) -> dict[str, dict[str, int]]:
        """Per shop, the orders waiting now by reason."""
        query = (
            select(waiting_orders.c.shop, waiting_orders.c.reason, func.count().label("n"))
            .where(waiting_orders.c.settled_at.is_(None))
            .group_by(waiting_orders.c.shop, waiting_orders.c.reason)
        )
        if shop is not None:
            query = query.where(waiting_orders.c.shop == shop)
        found: dict[str, dict[str, int]] = {}
        for row in self._read(query):
            found.setdefault(row["shop"], {})[row["reason"]] = int(row["n"])
        return found

    def waiting_reasons(self, shop: str) -> dict[str, str]:
        """The shop's waiting orders now: order id -> reason."""
        rows = self._read(
            select(waiting_orders.c.order_id, waiting_orders.c.reason).where(
                waiting_orders.c.shop == shop, waiting_orders.c.settled_at.is_(None)
            )
        )
        return {row["order_id"]: row["reason"] for row in rows}


def watched_until(created_at: datetime) -> datetime:
    return created_at + WATCHED_FOR


__all__ = [
    "STOPPED_WATCHING",
    "WaitingOrder",
    "WaitingOrders",
    "next_look",
    "watched_until",
]
