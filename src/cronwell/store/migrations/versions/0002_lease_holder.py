"""leases say which process holds them

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Who to look at when a lease is held: the owner token is fresh per process and tells
    # an operator nothing; "host pid N" does. Empty for leases taken before this column.
    with op.batch_alter_table("leases") as batch:
        batch.add_column(sa.Column("holder", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leases") as batch:
        batch.drop_column("holder")
