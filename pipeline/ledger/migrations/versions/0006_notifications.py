"""Notifications: what loginsights tells people (right away, digests, the daily digest), kept
until sent, each piece of news once.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.Text(), nullable=False, unique=True),
        sa.Column("route", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("next_try_at", sa.Text(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text()),
        sa.Column("sent_at", sa.Text()),
    )
    op.create_index("notifications_due", "notifications", ["sent_at", "next_try_at"])
    op.create_index("notifications_by_route", "notifications", ["route", "kind", "id"])


def downgrade() -> None:
    op.drop_index("notifications_by_route", "notifications")
    op.drop_index("notifications_due", "notifications")
    op.drop_table("notifications")
