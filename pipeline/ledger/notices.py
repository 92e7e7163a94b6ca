"""Webhook notices: "the platform says order X of shop S was created", kept until imported.

A notice is idempotent by its delivery id (a platform's redelivery is noted once); the worker
imports noticed orders by id and settles each with its outcome. Settled notices are kept a
while (they answer "did the webhook come?") and pruned by the worker (``prune_notices``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import RowMapping, delete, func, literal, select, update

from pipeline.ledger.base import LedgerBase
from pipeline.ledger.schema import orders, webhook_notices

BELL = "loginsights_notices"  # the channel pipeline.notice_bell listens on
NOT_FOUND_TRIES = 5  # a noticed order the platform will not show is left to the windows then


class WebhookNotices(LedgerBase):
    def note_webhook(
        self,
        shop: str,
        delivery_id: str,
        *,
        order_id: str,
        topic: str,
        received_at: datetime,
        triggered_at: datetime | None = None,
    ) -> bool:
        """Keep a delivery's notice; False if it adds nothing: this delivery was noted before,
        the order is stored already, or a notice of it is waiting (a redelivery under another
        id, or a replay, costs a query, never another call to the platform)."""
        row = {
            "shop": shop,
            "delivery_id": delivery_id,
            "order_id": order_id,
            "topic": topic,
            "received_at": received_at.astimezone(UTC).isoformat(),
            "triggered_at": triggered_at.astimezone(UTC).isoformat() if triggered_at else None,
            "tries": 0,
        }
        waiting = select(webhook_notices.c.order_id).where(
            webhook_notices.c.shop == shop,
            webhook_notices.c.order_id == order_id,
            webhook_notices.c.settled_at.is_(None),
        )
        stored = select(orders.c.order_id).where(
            orders.c.shop == shop, orders.c.order_id == order_id
        )
        values = (literal(value, webhook_notices.c[name].type) for name, value in row.items())
        new = select(*values).where(~waiting.exists(), ~stored.exists())
        # one statement, its own transaction: what the receiver costs per delivery
        statement = self._insert(webhook_notices).from_select(list(row), new)
        statement = statement.on_conflict_do_nothing().returning(webhook_notices.c.shop)
        if not self.is_sqlite:  # and rings the workers' bell (pipeline.notice_bell), same statement
            noted = statement.cte("noted")
            statement = select(func.pg_notify(BELL, noted.c.shop))
        return bool(self._write(statement))

    def pending_notices(self, shop: str, *, limit: int = 250) -> list[RowMapping]:
        return self._read(
            select(webhook_notices)
            .where(webhook_notices.c.shop == shop, webhook_notices.c.settled_at.is_(None))
            .order_by(webhook_notices.c.received_at)
            .limit(limit)
        )

    def notice_summary(self) -> dict[str, dict[str, object]]:
        """Per shop: notices waiting, and when the last delivery came (for webhooks status)."""
        query = select(
            webhook_notices.c.shop,
            func.count().filter(webhook_notices.c.settled_at.is_(None)).label("pending"),
            func.max(webhook_notices.c.received_at).label("last_received_at"),
        ).group_by(webhook_notices.c.shop)
        return {row["shop"]: dict(row) for row in self._read(query)}

    def notice_health(self, given_up_since: datetime) -> dict[str, dict[str, object]]:
        """Per shop: notices waiting, the oldest of them, and those given up (no order found
        after every try) since ``given_up_since``: what the webhook alerts watch."""
        query = select(
            webhook_notices.c.shop,
            func.count().filter(webhook_notices.c.settled_at.is_(None)).label("pending"),
            func.min(webhook_notices.c.received_at)
            .filter(webhook_notices.c.settled_at.is_(None))
            .label("oldest"),
            func.count()
            .filter(
                webhook_notices.c.outcome == "not found",
                webhook_notices.c.settled_at >= given_up_since.astimezone(UTC).isoformat(),
            )
            .label("given_up"),
        ).group_by(webhook_notices.c.shop)
        return {row["shop"]: dict(row) for row in self._read(query)}

    def noticed_shops(self) -> set[str]:
        """Shops with notices waiting: the runner works them before their poll is due."""
        rows = self._read(
            select(webhook_notices.c.shop).distinct().where(webhook_notices.c.settled_at.is_(None))
        )
        return {row["shop"] for row in rows}

    def settle_notices(self, shop: str, delivery_ids: Sequence[str], outcome: str) -> None:
        self._write(
            update(webhook_notices)
            .where(webhook_notices.c.shop == shop, webhook_notices.c.delivery_id.in_(delivery_ids))
            .values(settled_at=self.now_iso(), outcome=outcome)
        )

    def prune_notices(self, shop: str, *, settled_before: datetime) -> int:
        """Forget the shop's notices settled before the given moment; returns how many."""
        return self._write(
            delete(webhook_notices).where(
                webhook_notices.c.shop == shop,
                webhook_notices.c.settled_at < settled_before.astimezone(UTC).isoformat(),
            )
        )

    def notice_not_found(self, shop: str, delivery_ids: Sequence[str]) -> bool:
        """One more try found no order; True once it is given up (left to the windows)."""
        where = (webhook_notices.c.shop == shop, webhook_notices.c.delivery_id.in_(delivery_ids))
        with self._transaction() as db:
            db.execute(
                update(webhook_notices).where(*where).values(tries=webhook_notices.c.tries + 1)
            )
            tries = db.execute(select(webhook_notices.c.tries).where(*where)).scalars().all()
            if tries and min(tries) >= NOT_FOUND_TRIES:
                db.execute(
                    update(webhook_notices)
                    .where(*where)
                    .values(settled_at=self.now_iso(), outcome="not found")
                )
                return True
        return False


__all__ = ["NOT_FOUND_TRIES", "WebhookNotices"]
