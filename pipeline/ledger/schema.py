"""The ledger's tables, one schema for SQLite and PostgreSQL (SQLAlchemy Core).

Times are ISO-8601 UTC text, as the first SQLite ledgers stored them, so an existing ledger is
migrated in place without rewriting a row. Alembic's migrations (``migrations/``) create and
change these tables; this module is what the code reads and writes through.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
)

metadata = MetaData()

orders = Table(
    "orders",
    metadata,
    Column("shop", Text, nullable=False),
    Column("order_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("platform", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("imported_at", Text, nullable=False),
    PrimaryKeyConstraint("shop", "order_id", "version"),
)
Index("orders_by_created", orders.c.shop, orders.c.created_at)

failures = Table(
    "failures",
    metadata,
    Column("shop", Text, nullable=False),
    Column("order_id", Text, nullable=False),
    Column("platform", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("order_created_at", Text, nullable=False),
    Column("first_attempt_at", Text, nullable=False),
    Column("last_attempt_at", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error_code", Text, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("payload", Text),
    Column("payload_hash", Text),
    Column("attempt", Text, nullable=False),
    Column("doc_version", BigInteger, nullable=False),
    Column("resolved_at", Text),
    PrimaryKeyConstraint("shop", "order_id"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("shop", Text, primary_key=True),
    Column("window_end", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
)

attempts = Table(
    "attempts",
    metadata,
    Column("shop", Text, nullable=False),
    Column("order_id", Text, nullable=False),
    Column("attempted_at", Text, nullable=False),
    Column("error_code", Text, nullable=False),
    Column("error", Text, nullable=False),
)
Index("attempts_by_order", attempts.c.shop, attempts.c.order_id)

reconciliations = Table(
    "reconciliations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("shop", Text, nullable=False),
    Column("window_start", Text, nullable=False),
    Column("window_end", Text, nullable=False),
    Column("ran_at", Text, nullable=False),
    Column("report", Text, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("document_id", Text, nullable=False),
    Column("document", Text, nullable=False),
    Column("queued_at", Text, nullable=False),
    Column("tries", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("dead", Integer, nullable=False, server_default="0"),
)

shop_leases = Table(
    "shop_leases",
    metadata,
    Column("shop", Text, primary_key=True),
    Column("worker", Text, nullable=False),
    Column("token", BigInteger, nullable=False),
    Column("expires_at", Text, nullable=False),
    Column("heartbeat_at", Text, nullable=False),
)

shop_problems = Table(
    "shop_problems",
    metadata,
    Column("shop", Text, primary_key=True),
    Column("problem", Text, nullable=False),
    Column("worker", Text, nullable=False),
    Column("since", Text, nullable=False),
)

webhook_notices = Table(
    "webhook_notices",
    metadata,
    Column("shop", Text, nullable=False),
    Column("delivery_id", Text, nullable=False),
    Column("order_id", Text, nullable=False),
    Column("topic", Text, nullable=False),
    Column("received_at", Text, nullable=False),
    Column("triggered_at", Text),
    Column("tries", Integer, nullable=False),
    Column("settled_at", Text),
    Column("outcome", Text),
    PrimaryKeyConstraint("shop", "delivery_id"),
)
Index("webhook_notices_pending", webhook_notices.c.settled_at, webhook_notices.c.shop)

waiting_orders = Table(
    "waiting_orders",
    metadata,
    Column("shop", Text, nullable=False),
    Column("order_id", Text, nullable=False),
    Column("platform", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("order_created_at", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("first_seen_at", Text, nullable=False),
    Column("last_seen_at", Text, nullable=False),
    Column("next_look_at", Text, nullable=False),
    Column("looks", Integer, nullable=False),
    Column("settled_at", Text),
    Column("outcome", Text),
    PrimaryKeyConstraint("shop", "order_id"),
)
Index(
    "waiting_orders_due",
    waiting_orders.c.shop,
    waiting_orders.c.settled_at,
    waiting_orders.c.next_look_at,
)

__all__ = [
    "attempts",
    "checkpoints",
    "failures",
    "metadata",
    "orders",
    "outbox",
    "reconciliations",
    "shop_leases",
    "shop_problems",
    "waiting_orders",
    "webhook_notices",
]

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", Text, nullable=False, unique=True),  # the same news is kept once, fleet-wide
    Column("route", Text, nullable=False),
    Column("kind", Text, nullable=False),  # right-away | digest | daily
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("facts", Text, nullable=False, server_default="{}"),  # what the next digest compares
    Column("created_at", Text, nullable=False),
    Column("next_try_at", Text, nullable=False),
    Column("tries", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("sent_at", Text),
)
Index("notifications_due", notifications.c.sent_at, notifications.c.next_try_at)
Index("notifications_by_route", notifications.c.route, notifications.c.kind, notifications.c.id)

worker_presence = Table(
    "worker_presence",
    metadata,
    Column("worker", Text, primary_key=True),
    Column("started_at", Text, nullable=False),
    Column("seen_at", Text, nullable=False),
    Column("expires_at", Text, nullable=False),  # gone (killed, partitioned) after this
    Column("shops_held", Integer, nullable=False, server_default="0"),
    Column("target", Integer, nullable=False, server_default="0"),  # its fair share when seen
    Column("passes_per_minute", Float, nullable=False, server_default="0"),
    Column("notices_per_minute", Float, nullable=False, server_default="0"),
    Column("cpu_share", Float, nullable=False, server_default="0"),  # of one core, last beat
    Column("shops_key", Text, nullable=False, server_default=""),  # shares among the same key
    Column("alive_lock", Integer),  # its life lock's key while it holds it (PostgreSQL)
)
