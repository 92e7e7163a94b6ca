"""Which shops a worker works (a key of their names), so that shares are counted among the
workers that work the same shops: a `run --shop …` fleet apart from the rest gets its own.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "worker_presence",
        sa.Column("shops_key", sa.Text(), nullable=False, server_default=""),
    )


def downgrade() -> None:
    with op.batch_alter_table("worker_presence") as table:
        table.drop_column("shops_key")
