"""Imported orders: version 1 on import, a new version on each refresh (seed 001)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, RowMapping, and_, func, or_, select, update

from pipeline.ledger.base import LedgerBase, payload_text
from pipeline.ledger.schema import failures, orders, waiting_orders
from pipeline.orders.canonical import Order, OrderStatus

OLD_VERSION_TAG = "old version"


class OrderBook(LedgerBase):
    def has_order(self, shop: str, order_id: str) -> bool:
        query = select(orders.c.order_id).where(
            orders.c.shop == shop, orders.c.order_id == order_id
        )
        return bool(self._read(query.limit(1)))

    def known_order_ids(self, shop: str, order_ids: Sequence[str]) -> set[str]:
        """Which of ``order_ids`` the store already holds (one query for a page of orders)."""
        if not order_ids:
            return set()
        query = select(orders.c.order_id).distinct()
        rows = self._read(query.where(orders.c.shop == shop, orders.c.order_id.in_(order_ids)))
        return {row["order_id"] for row in rows}

    def _resolve(self, db: Connection, order: Order, document: dict[str, Any]) -> None:
        db.execute(
            update(failures)
            .where(failures.c.shop == order.shop, failures.c.order_id == order.order_id)
            .values(resolved_at=self.now_iso(), doc_version=document["version"])
        )
        self._enqueue(db, document)

    def _insert_order(
        self, db: Connection, order: Order, payload: dict[str, Any], *, version: int
    ) -> None:
        db.execute(
            orders.insert().values(
                **order_values(order, payload, version=version, imported_at=self.now_iso())
            )
        )

    def _insert_new_orders(self, db: Connection, rows: list[dict[str, Any]]) -> set[str]:
        """Insert each order not stored yet (version 1); returns the ids inserted."""
        if not rows:
            return set()
        statement = self._insert(orders).on_conflict_do_nothing().returning(orders.c.order_id)
        return set(db.execute(statement, rows).scalars())

    def refresh_order(
        self,
        order: Order,
        payload: dict[str, Any],
        *,
        resolved_document: dict[str, Any] | None = None,
    ) -> int:
        """Store the platform's current state as a new version; the previous one is cancelled
        and tagged ``old version`` (seed 001). Returns the new version number."""
        mine = and_(orders.c.shop == order.shop, orders.c.order_id == order.order_id)
        with self._transaction() as db:
            previous = db.execute(select(func.max(orders.c.version)).where(mine)).scalar() or 0
            if previous:
                tags = db.execute(
                    select(orders.c.tags).where(mine, orders.c.version == previous)
                ).scalar_one()
                kept = [t for t in json.loads(tags) if t != OLD_VERSION_TAG]
                db.execute(
                    update(orders)
                    .where(mine, orders.c.version == previous)
                    .values(
                        status=OrderStatus.CANCELLED.value,
                        tags=json.dumps([*kept, OLD_VERSION_TAG]),
                    )
                )
            self._insert_order(db, order, payload, version=previous + 1)
            if resolved_document is not None:
                self._resolve(db, order, resolved_document)
            return int(previous + 1)

    def latest_orders(self, shop: str, *, status: str | None = None) -> list[RowMapping]:
        """The newest version of each order of the shop, oldest order first."""
        newest = (
            select(orders.c.order_id, func.max(orders.c.version).label("v"))
            .where(orders.c.shop == shop)
            .group_by(orders.c.order_id)
            .subquery()
        )
        query = (
            select(orders)
            .join(
                newest,
                and_(orders.c.order_id == newest.c.order_id, orders.c.version == newest.c.v),
            )
            .where(orders.c.shop == shop)
        )
        if status is not None:
            query = query.where(orders.c.status == status)
        return self._read(query.order_by(orders.c.created_at))

    def latest_statuses(self, shop: str, order_ids: Sequence[str]) -> dict[str, str]:
        """The newest version's status of each of these orders the store holds (the others are
        absent): what reconciliation compares, a chunk of ids at a time, never the payloads."""
        found: dict[str, tuple[int, str]] = {}
        for start in range(0, len(order_ids), 900):
            chunk = list(order_ids[start : start + 900])
            rows = self._read(
                select(orders.c.order_id, orders.c.version, orders.c.status).where(
                    orders.c.shop == shop, orders.c.order_id.in_(chunk)
                )
            )
            for row in rows:
                kept = found.get(row["order_id"])
                if kept is None or row["version"] > kept[0]:
                    found[row["order_id"]] = (row["version"], row["status"])
        return {order_id: status for order_id, (_, status) in found.items()}

    def order_versions(self, shop: str, order_id: str) -> list[RowMapping]:
        return self._read(
            select(orders)
            .where(orders.c.shop == shop, orders.c.order_id == order_id)
            .order_by(orders.c.version)
        )

    def order_ids(self, shop: str) -> set[str]:
        rows = self._read(select(orders.c.order_id).where(orders.c.shop == shop))
        return {r["order_id"] for r in rows}

    def order_rows(self, shop: str) -> list[RowMapping]:
        return self._read(
            select(orders)
            .where(orders.c.shop == shop)
            .order_by(orders.c.created_at, orders.c.version)
        )

    def count_orders(self, shop: str) -> int:
        rows = self._read(select(func.count().label("n")).where(orders.c.shop == shop))
        return int(rows[0]["n"])

    def import_latencies(self, since: datetime, *, limit: int = 50_000) -> dict[str, list[float]]:
        """Per shop, seconds from each order's creation to its import (or first failed attempt)
        for what was imported since ``since``: how long people waited, newest ``limit`` first."""
        moment = since.astimezone(UTC).isoformat()
        found: dict[str, list[float]] = {}
        for table, created, done in (
            (orders, orders.c.created_at, orders.c.imported_at),
            (failures, failures.c.order_created_at, failures.c.first_attempt_at),
        ):
            query = select(table.c.shop, created.label("created"), done.label("done")).where(
                done >= moment
            )
            if table is orders:
                query = query.where(orders.c.version == 1)
            for row in self._read(query.order_by(done.desc()).limit(limit)):
                waited = datetime.fromisoformat(row["done"]) - datetime.fromisoformat(
                    row["created"]
                )
                found.setdefault(row["shop"], []).append(waited.total_seconds())
        return found

    def find_orders(self, reference: str, *, shop: str | None = None) -> list[tuple[str, str]]:
        """(shop, order id) pairs whose id or name is ``reference`` ('#1001' or '1001')."""
        names = (reference, f"#{reference.lstrip('#')}")
        found: set[tuple[str, str]] = set()
        for table in (orders, failures, waiting_orders):
            query = (
                select(table.c.shop, table.c.order_id)
                .distinct()
                .where(or_(table.c.order_id == reference, table.c.name.in_(names)))
            )
            if shop is not None:
                query = query.where(table.c.shop == shop)
            found |= {(r["shop"], r["order_id"]) for r in self._read(query)}
        return sorted(found)


def order_values(
    order: Order, payload: dict[str, Any], *, version: int, imported_at: str
) -> dict[str, Any]:
    return {
        "shop": order.shop,
        "order_id": order.order_id,
        "version": version,
        "platform": order.platform.value,
        "name": order.name,
        "created_at": order.created_at.astimezone(UTC).isoformat(),
        "status": order.status.value,
        "tags": orjson.dumps(order.tags).decode(),
        "payload": payload_text(payload),
        "imported_at": imported_at,
    }
