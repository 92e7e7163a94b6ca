"""Baseline: the first SQLite ledgers' layout; adopts one that exists, creates one that doesn't.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TEXT, INT = sa.Text(), sa.Integer()


def _missing(name: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(name)


def upgrade() -> None:
    if _missing("orders"):
        op.create_table(
            "orders",
            *(sa.Column(n, TEXT, nullable=False) for n in ("shop", "order_id")),
            sa.Column("version", INT, nullable=False),
            *(
                sa.Column(n, TEXT, nullable=False)
                for n in (
                    "platform",
                    "name",
                    "created_at",
                    "status",
                    "tags",
                    "payload",
                    "imported_at",
                )
            ),  # fmt: skip
            sa.PrimaryKeyConstraint("shop", "order_id", "version"),
        )
        op.create_index("orders_by_created", "orders", ["shop", "created_at"])
    if _missing("failures"):
        op.create_table(
            "failures",
            *(
                sa.Column(n, TEXT, nullable=False)
                for n in (
                    "shop",
                    "order_id",
                    "platform",
                    "name",
                    "order_created_at",
                    "first_attempt_at",
                    "last_attempt_at",
                )
            ),  # fmt: skip
            sa.Column("attempts", INT, nullable=False),
            sa.Column("error_code", TEXT, nullable=False),
            sa.Column("last_error", TEXT, nullable=False),
            sa.Column("payload", TEXT),
            sa.Column("payload_hash", TEXT),
            sa.Column("attempt", TEXT, nullable=False),
            sa.Column("doc_version", sa.BigInteger(), nullable=False),
            sa.Column("resolved_at", TEXT),
            sa.PrimaryKeyConstraint("shop", "order_id"),
        )
    if _missing("checkpoints"):
        op.create_table(
            "checkpoints",
            sa.Column("shop", TEXT, primary_key=True),
            sa.Column("window_end", TEXT, nullable=False),
            sa.Column("updated_at", TEXT, nullable=False),
        )
    if _missing("attempts"):
        op.create_table(
            "attempts",
            *(
                sa.Column(n, TEXT, nullable=False)
                for n in ("shop", "order_id", "attempted_at", "error_code", "error")
            ),
        )
        op.create_index("attempts_by_order", "attempts", ["shop", "order_id"])
    if _missing("reconciliations"):
        op.create_table(
            "reconciliations",
            sa.Column("id", INT, primary_key=True, autoincrement=True),
            *(
                sa.Column(n, TEXT, nullable=False)
                for n in ("shop", "window_start", "window_end", "ran_at", "report")
            ),
        )
    if _missing("outbox"):
        op.create_table(
            "outbox",
            sa.Column("id", INT, primary_key=True, autoincrement=True),
            sa.Column("document_id", TEXT, nullable=False),
            sa.Column("document", TEXT, nullable=False),
            sa.Column("queued_at", TEXT, nullable=False),
            sa.Column("tries", INT, nullable=False, server_default="0"),
            sa.Column("last_error", TEXT),
            sa.Column("dead", INT, nullable=False, server_default="0"),
        )
