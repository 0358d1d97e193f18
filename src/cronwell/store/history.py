"""Reading run history: the runs of the store, newest first, with their job's name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from cronwell.store.tables import attempts, jobs, runs


@dataclass(frozen=True, slots=True)
class RunRow:
    id: int
    job: str
    scheduled_for: datetime
    trigger: str
    status: str
    reason: str | None
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    # A missed span summed up in one row: how many due times, from which (see runs.covers).
    covers: int = 1
    covers_from: datetime | None = None
    upstream_run_id: int | None = None  # the run whose end made this one (trigger dependency)


@dataclass(frozen=True, slots=True)
class AttemptRow:
    number: int
    worker_id: str | None
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration: timedelta | None
    exit_code: int | None
    peak_memory: int | None
    error: str | None
    output: str | None
    logs: list[dict[str, Any]] | None
    heartbeat_at: datetime | None  # the task's last ctx.heartbeat(), as last recorded
    progress: str | None  # the last progress it gave


def list_runs(
    connection: Connection,
    *,
    job: str | None = None,
    status: str | None = None,
    finished_after: datetime | None = None,
    limit: int = 50,
) -> list[RunRow]:
    """Runs, the most recently due first (by finish when ``finished_after`` is given)."""
    query = history_query()
    if job is not None:
        query = query.where(jobs.c.name == job)
    if status is not None:
        query = query.where(runs.c.status == status)
    if finished_after is not None:
        query = query.where(runs.c.finished_at > finished_after).order_by(runs.c.finished_at)
    else:
        query = query.order_by(runs.c.scheduled_for.desc(), runs.c.id.desc())
    return [RunRow(**row._mapping) for row in connection.execute(query.limit(limit))]


def history_query() -> Any:
    """The runs with their job's name, in the shape of RunRow: add filters and an order."""
    return select(
        runs.c.id,
        jobs.c.name.label("job"),
        runs.c.scheduled_for,
        runs.c.trigger,
        runs.c.status,
        runs.c.reason,
        runs.c.attempts,
        runs.c.started_at,
        runs.c.finished_at,
        runs.c.covers,
        runs.c.covers_from,
        runs.c.upstream_run_id,
    ).join(jobs, jobs.c.id == runs.c.job_id)


def dead_runs(connection: Connection, limit: int = 100) -> list[RunRow]:
    """Runs that exhausted their attempts: the dead-letter queue, newest first."""
    return list_runs(connection, status="dead", limit=limit)


@dataclass(frozen=True, slots=True)
class RunLease:
    run_id: int
    job: str
    owner: str
    expires_at: datetime
    attempt: int


def run_leases(connection: Connection) -> list[RunLease]:
    """The leases of running runs, soonest to expire first."""
    rows = connection.execute(
        select(
            runs.c.id.label("run_id"),
            jobs.c.name.label("job"),
            runs.c.lease_owner.label("owner"),
            runs.c.lease_expires_at.label("expires_at"),
            runs.c.attempts.label("attempt"),
        )
        .join(jobs, jobs.c.id == runs.c.job_id)
        .where(runs.c.status == "running")
        .order_by(runs.c.lease_expires_at)
    )
    return [RunLease(**row._mapping) for row in rows]


def get_run(connection: Connection, run_id: int) -> Any:
    """One run's row, or None."""
    return connection.execute(select(runs).where(runs.c.id == run_id)).first()


def find_run(connection: Connection, run_id: int) -> RunRow | None:
    """One run as history shows it, or None."""
    query = history_query().where(runs.c.id == run_id)
    row = connection.execute(query).first()
    return None if row is None else RunRow(**row._mapping)


def attempts_of(connection: Connection, run_id: int) -> list[AttemptRow]:
    """A run's attempts, the first first: who ran it, how it ended, what it said."""
    columns = [attempts.c[field] for field in AttemptRow.__slots__]
    query = select(*columns).where(attempts.c.run_id == run_id).order_by(attempts.c.number)
    return [AttemptRow(**row._mapping) for row in connection.execute(query)]
