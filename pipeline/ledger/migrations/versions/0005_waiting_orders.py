"""Waiting orders: orders the platform holds that are not orders to ship yet (an SFCC order not
placed, a payment voided) or that could not be read whole, looked at again until they change.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "waiting_orders",
        sa.Column("shop", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("order_created_at", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.Text(), nullable=False),
        sa.Column("last_seen_at", sa.Text(), nullable=False),
        sa.Column("next_look_at", sa.Text(), nullable=False),
        sa.Column("looks", sa.Integer(), nullable=False),
        sa.Column("settled_at", sa.Text()),
        sa.Column("outcome", sa.Text()),
        sa.PrimaryKeyConstraint("shop", "order_id"),
    )
    op.create_index("waiting_orders_due", "waiting_orders", ["shop", "settled_at", "next_look_at"])


def downgrade() -> None:
    op.drop_index("waiting_orders_due", "waiting_orders")
    op.drop_table("waiting_orders")
