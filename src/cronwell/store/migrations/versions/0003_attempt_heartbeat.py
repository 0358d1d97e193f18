"""attempts record their task's last heartbeat and progress

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cronwell.store.types import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # How far a long task got, and when it last said so: for operators, and what
    # heartbeat_timeout counts from. Empty for attempts made before these columns.
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("heartbeat_at", UtcDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("progress", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("progress")
        batch.drop_column("heartbeat_at")
