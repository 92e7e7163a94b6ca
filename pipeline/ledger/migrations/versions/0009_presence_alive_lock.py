"""A worker's life lock in its presence (the key of the PostgreSQL advisory lock its session
holds), so that the others free a killed worker's shops at once instead of a lease later.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("worker_presence", sa.Column("alive_lock", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("worker_presence") as table:
        table.drop_column("alive_lock")
