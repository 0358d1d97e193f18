"""events are stored, and runs name the event that made them

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cronwell.store.types import Id, UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("fired_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("fired_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_name", "events", ["name", "id"], unique=False)
    # Runs made before this column have no event: NULL, which is what they are. Added and
    # dropped in place, never by a batch copy of runs: on SQLite, dropping the old copy
    # would delete every attempt with it. No foreign key, so SQLite can drop it in place.
    op.add_column("runs", sa.Column("event_id", Id, nullable=True))
    op.create_index("ix_runs_event_id", "runs", ["event_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_runs_event_id", table_name="runs")
    op.drop_column("runs", "event_id")  # SQLite 3.35 and later drop it in place
    op.drop_index("ix_events_name", table_name="events")
    op.drop_table("events")
