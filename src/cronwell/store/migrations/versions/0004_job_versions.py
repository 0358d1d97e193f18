"""jobs keep every version of their definition, contents stored once per hash

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import hashlib
import json
import zlib
from typing import Any

import sqlalchemy as sa
from alembic import op

import cronwell.store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_AUTHOR = "migration"
_MESSAGE = "the definition when version history began"


def upgrade() -> None:
    contents = op.create_table(
        "version_contents",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("raw_size", sa.Integer(), nullable=False),
        sa.Column("stored_size", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_version_contents")),
    )
    versions = op.create_table(
        "job_versions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created_at", cronwell.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["content_hash"],
            ["version_contents.hash"],
            name=op.f("fk_job_versions_content_hash_version_contents"),
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_job_versions_job_id_jobs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_versions")),
        sa.UniqueConstraint("job_id", "number", name=op.f("uq_job_versions_job_id_number")),
    )
    _backfill(contents, versions)


def _backfill(contents: sa.Table, versions: sa.Table) -> None:
    """One version per live job, its current definition at its current number, so that the
    history of every job starts complete. Deleted jobs get none: there is nothing to roll
    back to. The encoding is the one ``cronwell.store.versions`` uses, frozen here as it was
    when this migration was written."""
    jobs = sa.table(
        "jobs",
        sa.column("id", sa.Integer()),
        sa.column("spec", sa.JSON()),
        sa.column("version", sa.Integer()),
        sa.column("updated_at", cronwell.store.types.UtcDateTime()),
        sa.column("deleted_at", cronwell.store.types.UtcDateTime()),
    )
    bind = op.get_bind()
    live = bind.execute(
        sa.select(jobs.c.id, jobs.c.spec, jobs.c.version, jobs.c.updated_at).where(
            jobs.c.deleted_at.is_(None)
        )
    ).all()
    stored: dict[str, dict[str, Any]] = {}
    rows = []
    for job in live:
        raw = json.dumps(job.spec, sort_keys=True, separators=(",", ":")).encode()
        digest = hashlib.sha256(raw).hexdigest()
        packed = zlib.compress(raw, 9)
        stored[digest] = {
            "hash": digest,
            "content": packed,
            "raw_size": len(raw),
            "stored_size": len(packed),
        }
        rows.append(
            {
                "job_id": job.id,
                "number": job.version,
                "created_at": job.updated_at,
                "author": _AUTHOR,
                "message": _MESSAGE,
                "action": "create" if job.version == 1 else "update",
                "content_hash": digest,
            }
        )
    if rows:
        bind.execute(contents.insert(), list(stored.values()))
        bind.execute(versions.insert(), rows)


def downgrade() -> None:
    op.drop_table("job_versions")
    op.drop_table("version_contents")
