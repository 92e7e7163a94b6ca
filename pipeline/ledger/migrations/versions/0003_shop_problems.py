"""Shop problems: a shop that cannot be worked (a missing secret, a broken table), said where
`loginsights workers` and every other worker can see it.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shop_problems",
        sa.Column("shop", sa.Text(), primary_key=True),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("worker", sa.Text(), nullable=False),
        sa.Column("since", sa.Text(), nullable=False),
    )
