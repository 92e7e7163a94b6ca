"""Worker presence: each live worker's heartbeat, share and load, so that workers share the shops
fairly (a worker that joins is seen before it holds anything).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker_presence",
        sa.Column("worker", sa.Text(), primary_key=True),
        sa.Column("started_at", sa.Text(), nullable=False),
        sa.Column("seen_at", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Text(), nullable=False),
        sa.Column("shops_held", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("target", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("passes_per_minute", sa.Float(), nullable=False, server_default="0"),
        sa.Column("notices_per_minute", sa.Float(), nullable=False, server_default="0"),
        sa.Column("cpu_share", sa.Float(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("worker_presence")
