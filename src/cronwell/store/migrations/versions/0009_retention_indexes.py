"""indexes that let a prune find old finished runs and old events without reading them all

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Indexes only, made in place: never a batch copy of runs (on SQLite, dropping the old
    # copy would delete every attempt by cascade).
    op.create_index("ix_runs_finished_at", "runs", ["finished_at"], unique=False)
    op.create_index("ix_events_fired_at", "events", ["fired_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_events_fired_at", table_name="events")
    op.drop_index("ix_runs_finished_at", table_name="runs")
