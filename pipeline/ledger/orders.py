"""Imported orders: version 1 on import, a new version on each refresh (seed 001)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from pipeline.ledger.base import LedgerBase, now_iso
from pipeline.orders.model import Order, OrderStatus

OLD_VERSION_TAG = "old version"


class OrderBook(LedgerBase):
    def has_order(self, shop: str, order_id: str) -> bool:
        return bool(
            self._query(
                "SELECT 1 FROM orders WHERE shop=? AND order_id=? LIMIT 1", (shop, order_id)
            )
        )

    def known_order_ids(self, shop: str, order_ids: Sequence[str]) -> set[str]:
        """Which of ``order_ids`` the store already holds (one query for a page of orders)."""
        if not order_ids:
            return set()
        marks = ",".join("?" * len(order_ids))
        rows = self._query(
            f"SELECT DISTINCT order_id FROM orders WHERE shop=? AND order_id IN ({marks})",
            (shop, *order_ids),
        )
        return {row["order_id"] for row in rows}

    def _resolve(self, db: sqlite3.Connection, order: Order, document: dict[str, Any]) -> None:
        db.execute(
            "UPDATE failures SET resolved_at=?, doc_version=? WHERE shop=? AND order_id=?",
            (now_iso(), document["version"], order.shop, order.order_id),
        )
        self._enqueue(db, document)

    def _insert_order(
        self, db: sqlite3.Connection, order: Order, payload: dict[str, Any], *, version: int
    ) -> None:
        db.execute(
            "INSERT INTO orders VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                order.shop,
                order.order_id,
                version,
                order.platform.value,
                order.name,
                order.created_at.astimezone(UTC).isoformat(),
                order.status.value,
                json.dumps(order.tags),
                json.dumps(payload, ensure_ascii=False),
                now_iso(),
            ),
        )

    def refresh_order(
        self,
        order: Order,
        payload: dict[str, Any],
        *,
        resolved_document: dict[str, Any] | None = None,
    ) -> int:
        """Store the platform's current state as a new version; the previous one is cancelled
        and tagged ``old version`` (seed 001). Returns the new version number."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT MAX(version) AS v FROM orders WHERE shop=? AND order_id=?",
                (order.shop, order.order_id),
            ).fetchone()
            previous = row["v"] if row is not None and row["v"] is not None else 0
            if previous:
                old = db.execute(
                    "SELECT tags FROM orders WHERE shop=? AND order_id=? AND version=?",
                    (order.shop, order.order_id, previous),
                ).fetchone()
                tags = [t for t in json.loads(old["tags"]) if t != OLD_VERSION_TAG]
                db.execute(
                    "UPDATE orders SET status=?, tags=? WHERE shop=? AND order_id=? AND version=?",
                    (
                        OrderStatus.CANCELLED.value,
                        json.dumps([*tags, OLD_VERSION_TAG]),
                        order.shop,
                        order.order_id,
                        previous,
                    ),
                )
            self._insert_order(db, order, payload, version=previous + 1)
            if resolved_document is not None:
                self._resolve(db, order, resolved_document)
            return int(previous + 1)

    def latest_orders(self, shop: str, *, status: str | None = None) -> list[sqlite3.Row]:
        """The newest version of each order of the shop, oldest order first."""
        sql = (
            "SELECT o.* FROM orders o JOIN (SELECT order_id, MAX(version) AS v FROM orders "
            "WHERE shop=? GROUP BY order_id) l ON o.order_id=l.order_id AND o.version=l.v "
            "WHERE o.shop=?"
        )
        params: tuple[Any, ...] = (shop, shop)
        if status is not None:
            sql += " AND o.status=?"
            params += (status,)
        return self._query(sql + " ORDER BY o.created_at", params)

    def order_versions(self, shop: str, order_id: str) -> list[sqlite3.Row]:
        return self._query(
            "SELECT * FROM orders WHERE shop=? AND order_id=? ORDER BY version", (shop, order_id)
        )

    def order_ids(self, shop: str) -> set[str]:
        return {
            r["order_id"] for r in self._query("SELECT order_id FROM orders WHERE shop=?", (shop,))
        }

    def order_rows(self, shop: str) -> list[sqlite3.Row]:
        return self._query(
            "SELECT * FROM orders WHERE shop=? ORDER BY created_at, version", (shop,)
        )

    def count_orders(self, shop: str) -> int:
        return int(self._query("SELECT COUNT(*) FROM orders WHERE shop=?", (shop,))[0][0])

    def find_orders(self, reference: str, *, shop: str | None = None) -> list[tuple[str, str]]:
        """(shop, order id) pairs whose id or name is ``reference`` ('#1001' or '1001')."""
        names = (reference, f"#{reference.lstrip('#')}")
        found: set[tuple[str, str]] = set()
        for table in ("orders", "failures"):
            sql = f"SELECT DISTINCT shop, order_id FROM {table} WHERE (order_id=? OR name IN (?,?))"
            params: tuple[Any, ...] = (reference, *names)
            if shop is not None:
                sql += " AND shop=?"
                params += (shop,)
            found |= {(r["shop"], r["order_id"]) for r in self._query(sql, params)}
        return sorted(found)
