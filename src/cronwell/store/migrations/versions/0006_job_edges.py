"""jobs depend on jobs: the edges between them, and the upstream run a run came from

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # The graph the definitions declare, kept in step with them, so a run's end finds the
    # runs it makes by one set-based statement instead of reading every definition.
    op.create_table(
        "job_edges",
        sa.Column("upstream_job_id", _ID, nullable=False),
        sa.Column("downstream_job_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("is_trigger", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["upstream_job_id"], ["jobs.id"], name=op.f("fk_job_edges_upstream_job_id_jobs")
        ),
        sa.ForeignKeyConstraint(
            ["downstream_job_id"], ["jobs.id"], name=op.f("fk_job_edges_downstream_job_id_jobs")
        ),
        sa.PrimaryKeyConstraint(
            "upstream_job_id", "downstream_job_id", "kind", name=op.f("pk_job_edges")
        ),
    )
    op.create_index("ix_job_edges_downstream_job_id", "job_edges", ["downstream_job_id"])
    # Which upstream run made this one (trigger dependency); empty for every other run.
    # Plain ALTER TABLE, never a batch copy of runs: on SQLite, dropping the old copy of
    # runs would cascade to every attempt.
    op.add_column("runs", sa.Column("upstream_run_id", _ID, nullable=True))


def downgrade() -> None:
    op.drop_column("runs", "upstream_run_id")  # SQLite 3.35 and later drop it in place
    op.drop_index("ix_job_edges_downstream_job_id", table_name="job_edges")
    op.drop_table("job_edges")
