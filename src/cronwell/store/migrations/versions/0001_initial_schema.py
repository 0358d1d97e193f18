"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cronwell.store.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flags",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", cronwell.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_flags")),
    )
    op.create_table(
        "jobs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("is_enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("paused_until", cronwell.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("next_due_at", cronwell.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("planned_until", cronwell.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("dead_at", cronwell.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("dead_reason", sa.Text(), nullable=True),
        sa.Column("created_at", cronwell.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cronwell.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", cronwell.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_jobs_due",
            ["next_due_at"],
            unique=False,
            sqlite_where=sa.text("deleted_at IS NULL AND is_enabled"),
            postgresql_where=sa.text("deleted_at IS NULL AND is_enabled"),
        )
        batch_op.create_index(
            "uq_jobs_live_name",
            ["name"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )

    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("acquired_at", cronwell.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("renewed_at", cronwell.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", cronwell.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("takeovers", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_table(
        "workers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("queues", sa.JSON(), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("lease", sa.Interval(), nullable=False),
        sa.Column("started_at", cronwell.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", cronwell.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", cronwell.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
    )
    op.create_table(
        "runs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("scheduled_for", cronwell.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("not_before", cronwell.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column(
            "lease_expires_at", cronwell.store.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("args", sa.JSON(), nullable=True),
        sa.Column("kwargs", sa.JSON(), nullable=True),
        sa.Column("covers", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("covers_from", cronwell.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "is_cancel_requested", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("created_at", cronwell.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("started_at", cronwell.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", cronwell.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_runs_job_id_jobs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.UniqueConstraint("job_id", "scheduled_for", name=op.f("uq_runs_job_id_scheduled_for")),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_runs_claimable",
            ["queue", "priority", "not_before", "id"],
            unique=False,
            sqlite_where=sa.text("status IN ('pending', 'retrying')"),
            postgresql_where=sa.text("status IN ('pending', 'retrying')"),
        )
        batch_op.create_index(
            "ix_runs_job_scheduled",
            ["job_id", sa.literal_column("scheduled_for DESC")],
            unique=False,
        )
        batch_op.create_index("ix_runs_job_status", ["job_id", "status"], unique=False)
        batch_op.create_index(
            "ix_runs_leases",
            ["lease_expires_at"],
            unique=False,
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )

    op.create_table(
        "attempts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", cronwell.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", cronwell.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("duration", sa.Interval(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "peak_memory", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("logs", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_attempts_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempts")),
        sa.UniqueConstraint("run_id", "number", name=op.f("uq_attempts_run_id_number")),
    )


def downgrade() -> None:
    op.drop_table("attempts")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_runs_leases",
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )
        batch_op.drop_index("ix_runs_job_status")
        batch_op.drop_index("ix_runs_job_scheduled")
        batch_op.drop_index(
            "ix_runs_claimable",
            sqlite_where=sa.text("status IN ('pending', 'retrying')"),
            postgresql_where=sa.text("status IN ('pending', 'retrying')"),
        )

    op.drop_table("runs")
    op.drop_table("workers")
    op.drop_table("leases")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_jobs_live_name",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.drop_index(
            "ix_jobs_due",
            sqlite_where=sa.text("deleted_at IS NULL AND is_enabled"),
            postgresql_where=sa.text("deleted_at IS NULL AND is_enabled"),
        )

    op.drop_table("jobs")
    op.drop_table("flags")
