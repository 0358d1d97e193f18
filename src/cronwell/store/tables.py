"""The schema: one MetaData for every table cronwell keeps. Migrations must agree with it.

Status and trigger columns hold the values of the StrEnums in ``cronwell.store.values``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    Interval,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from cronwell.store.types import Id, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("spec", JSON, nullable=False),  # the validated definition, canonical form
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("is_enabled", Boolean, nullable=False, server_default=text("true")),
    Column("paused_until", UtcDateTime, nullable=True),
    Column("queue", String(100), nullable=False),
    Column("priority", SmallInteger, nullable=False),
    Column("next_due_at", UtcDateTime, nullable=True),
    # Due times up to here are planned (runs made or skipped); the next plan starts after it.
    Column("planned_until", UtcDateTime, nullable=True),
    Column("dead_at", UtcDateTime, nullable=True),
    Column("dead_reason", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("deleted_at", UtcDateTime, nullable=True),
)
# A deleted job keeps its history; its name is free for a new job.
Index(
    "uq_jobs_live_name",
    jobs.c.name,
    unique=True,
    sqlite_where=jobs.c.deleted_at.is_(None),
    postgresql_where=jobs.c.deleted_at.is_(None),
)
Index(
    "ix_jobs_due",
    jobs.c.next_due_at,
    sqlite_where=text("deleted_at IS NULL AND is_enabled"),
    postgresql_where=text("deleted_at IS NULL AND is_enabled"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("job_id", Id, ForeignKey("jobs.id"), nullable=False),
    Column("scheduled_for", UtcDateTime, nullable=False),
    Column("trigger", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("reason", Text, nullable=True),
    Column("queue", String(100), nullable=False),
    Column("priority", SmallInteger, nullable=False),
    Column("not_before", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("max_attempts", Integer, nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_expires_at", UtcDateTime, nullable=True),
    # Overrides of the job's args for this run. None is stored as SQL NULL, not JSON null:
    # a worker claiming runs without overrides then has nothing to decode.
    Column("args", JSON(none_as_null=True), nullable=True),
    Column("kwargs", JSON(none_as_null=True), nullable=True),
    Column("covers", Integer, nullable=False, server_default=text("1")),  # missed spans
    Column("covers_from", UtcDateTime, nullable=True),
    Column("is_cancel_requested", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    # The event whose firing made this run (trigger event), or that a run retried by hand
    # carries on: where the worker finds the event's payload. None for every other run.
    # No foreign key, as for upstream_run_id: events are pruned by age, and a run outlives
    # the event that made it.
    Column("event_id", Id, nullable=True),
    # The upstream run whose end made this one (trigger dependency). No foreign key: history
    # is pruned run by run, and a run outlives the one it came from.
    Column("upstream_run_id", Id, nullable=True),
    # Guarantee 1: each (job, due time) yields at most one run, however many schedulers race.
    UniqueConstraint("job_id", "scheduled_for"),
)
Index(
    "ix_runs_claimable",
    runs.c.queue,
    runs.c.priority,
    runs.c.not_before,
    runs.c.id,
    sqlite_where=text("status IN ('pending', 'retrying')"),
    postgresql_where=text("status IN ('pending', 'retrying')"),
)
Index(
    "ix_runs_leases",
    runs.c.lease_expires_at,
    sqlite_where=runs.c.status == "running",
    postgresql_where=runs.c.status == "running",
)
Index("ix_runs_job_status", runs.c.job_id, runs.c.status)
Index("ix_runs_job_scheduled", runs.c.job_id, runs.c.scheduled_for.desc())
Index("ix_runs_event_id", runs.c.event_id)
Index("ix_runs_finished_at", runs.c.finished_at)  # what a prune looks for

attempts = Table(
    "attempts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_id", Id, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("worker_id", String(64), nullable=True),
    Column("status", String(20), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("duration", Interval, nullable=True),
    Column("exit_code", Integer, nullable=True),
    Column("output", Text, nullable=True),  # the tail of stdout and stderr, bounded
    Column("error", Text, nullable=True),  # the error with its traceback
    Column("peak_memory", Id, nullable=True),  # bytes
    Column("logs", JSON, nullable=True),  # what the task said through ctx.log
    # The task's last ctx.heartbeat() and the last progress it gave (bounded): written with
    # the worker's lease renewals and at the attempt's end, never once per heartbeat.
    Column("heartbeat_at", UtcDateTime, nullable=True),
    Column("progress", Text, nullable=True),
    UniqueConstraint("run_id", "number"),
)

# The dependency graph of the live jobs (cronwell.dag), kept in step with their definitions
# in the transaction that writes them. ``is_trigger``: the upstream run's end makes the
# downstream's run (a fallback, or a downstream without a schedule of its own).
job_edges = Table(
    "job_edges",
    metadata,
    Column("upstream_job_id", Id, ForeignKey("jobs.id"), primary_key=True),
    Column("downstream_job_id", Id, ForeignKey("jobs.id"), primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("is_trigger", Boolean, nullable=False),
)
Index("ix_job_edges_downstream_job_id", job_edges.c.downstream_job_id)

workers = Table(
    "workers",
    metadata,
    Column("id", String(64), primary_key=True),  # a fresh token per worker process
    Column("hostname", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("queues", JSON, nullable=False),
    Column("concurrency", Integer, nullable=False),
    Column("lease", Interval, nullable=False),  # it beats every third of this
    Column("started_at", UtcDateTime, nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
    Column("stopped_at", UtcDateTime, nullable=True),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("acquired_at", UtcDateTime, nullable=False),
    Column("renewed_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("takeovers", Integer, nullable=False, server_default=text("0")),
    Column("holder", String(200), nullable=True),  # "host pid N": for operators, not for logic
)

flags = Table(
    "flags",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

templates = Table(
    "templates",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("definition", JSON, nullable=False),  # name, description and the job fields
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Change control: every create, update, delete and rollback of a job is a numbered version;
# its definition is stored once per SHA-256 of its canonical JSON, compressed.
version_contents = Table(
    "version_contents",
    metadata,
    Column("hash", String(64), primary_key=True),  # SHA-256, hex, of the canonical JSON
    Column("content", LargeBinary, nullable=False),  # the canonical JSON, zlib-compressed
    Column("raw_size", Integer, nullable=False),  # bytes before compression
    Column("stored_size", Integer, nullable=False),  # bytes of ``content``
)

job_versions = Table(
    "job_versions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("job_id", Id, ForeignKey("jobs.id"), nullable=False),
    Column("number", Integer, nullable=False),  # the job's ``version`` once the change is made
    Column("created_at", UtcDateTime, nullable=False),
    Column("author", String(200), nullable=False),
    Column("message", Text, nullable=True),
    Column("action", String(20), nullable=False),  # create, update, delete, rollback
    Column("content_hash", String(64), ForeignKey("version_contents.hash"), nullable=False),
    UniqueConstraint("job_id", "number"),
)

# Every event fired (``app.trigger_event``, ``cronwell events fire``), kept with who fired it;
# the runs it made point at it (runs.event_id).
events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    # Any JSON value; None is stored as SQL NULL, as runs' arguments are.
    Column("payload", JSON(none_as_null=True), nullable=True),
    Column("fired_at", UtcDateTime, nullable=False),
    Column("fired_by", String(200), nullable=True),
)
Index("ix_events_name", events.c.name, events.c.id)

# Who may use the API: users, and the tokens they (or programs) present. A token is kept
# only as its SHA-256 (cronwell.auth.hash_token); a password only as a salted scrypt hash.
# Roles hold the values of cronwell.auth.Role.
users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(255), nullable=True),  # none: the user signs in by token
    Column("is_disabled", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("disabled_at", UtcDateTime, nullable=True),
)

# A token with no user is a service token; one with a user acts for it, never above its role.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=True),
    Column("role", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("last_used_at", UtcDateTime, nullable=True),
)
Index("ix_api_tokens_user_id", api_tokens.c.user_id)
Index("ix_events_fired_at", events.c.fired_at)  # what a prune looks for

# The audit trail: one row per change, written in the change's own transaction, never
# updated; only retention deletes rows. Secrets in before/after/detail are stored masked.
# Actions hold the values of cronwell.audit.AuditAction.
audit = Table(
    "audit",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("role", String(20), nullable=True),
    Column("via", String(20), nullable=False),
    Column("action", String(50), nullable=False),
    Column("object_type", String(50), nullable=False),
    Column("object_id", String(200), nullable=False),
    Column("before", JSON(none_as_null=True), nullable=True),
    Column("after", JSON(none_as_null=True), nullable=True),
    Column("detail", JSON(none_as_null=True), nullable=True),
)
Index("ix_audit_at", audit.c.at)
Index("ix_audit_object_type", audit.c.object_type, audit.c.object_id)
