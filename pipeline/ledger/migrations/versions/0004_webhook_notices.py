"""Webhook notices: an order a platform's webhook announced, kept until the worker imported it.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_notices",
        sa.Column("shop", sa.Text(), nullable=False),
        sa.Column("delivery_id", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("received_at", sa.Text(), nullable=False),
        sa.Column("triggered_at", sa.Text()),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("settled_at", sa.Text()),
        sa.Column("outcome", sa.Text()),
        sa.PrimaryKeyConstraint("shop", "delivery_id"),
    )
    op.create_index("webhook_notices_pending", "webhook_notices", ["settled_at", "shop"])


def downgrade() -> None:
    op.drop_index("webhook_notices_pending", "webhook_notices")
    op.drop_table("webhook_notices")
