"""Jobs: named, versioned definitions, and the cursor of when each is next due.

What a scheduler tick reads and writes of them is in ``plans``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from cronwell.policies.controls import next_due_from
from cronwell.spec import JobSpec
from cronwell.store.tables import jobs


def insert_job(connection: Connection, spec: JobSpec, now: datetime) -> int:
    """Store a new job from its definition; returns its id. Due times before ``now`` are not
    the job's. A live job of the same name violates uniqueness."""
    return int(
        connection.execute(
            insert(jobs).values(_new_job_columns(spec, now)).returning(jobs.c.id)
        ).scalar_one()
    )


def insert_jobs(connection: Connection, specs: Sequence[JobSpec], now: datetime) -> None:
    """Store many new jobs in one statement, as ``insert_job`` stores one."""
    if specs:
        connection.execute(
            insert(jobs),
            [_new_job_columns(spec, now) for spec in specs],
        )


def _new_job_columns(spec: JobSpec, now: datetime) -> dict[str, Any]:
    columns = _definition_columns(spec, now)
    return columns | {"name": spec.name, "created_at": now, "is_enabled": spec.is_enabled}


def specs_of(
    connection: Connection, job_ids: Sequence[int]
) -> dict[int, tuple[int, dict[str, Any]]]:
    """Each job's (version, canonical spec), deleted jobs included: their runs still settle."""
    if not job_ids:
        return {}
    rows = connection.execute(
        select(jobs.c.id, jobs.c.version, jobs.c.spec).where(jobs.c.id.in_(set(job_ids)))
    )
    return {row.id: (row.version, row.spec) for row in rows}


def disable_dead(connection: Connection, job_id: int, *, reason: str, now: datetime) -> None:
    """Disable a job whose run went dead (``on_dead: disable``): it waits in the dead-letter
    queue until someone recovers it."""
    connection.execute(
        update(jobs)
        .where(jobs.c.id == job_id)
        .values(is_enabled=False, dead_at=now, dead_reason=reason, updated_at=now)
    )


@dataclass(frozen=True, slots=True)
class JobRow:
    """A stored job as the API shows it."""

    id: int
    name: str
    spec: dict[str, Any]
    version: int
    is_enabled: bool
    queue: str
    priority: int
    next_due_at: datetime | None
    dead_at: datetime | None
    dead_reason: str | None
    created_at: datetime
    updated_at: datetime
    paused_until: datetime | None = None  # paused until then, though enabled


class JobNotFound(LookupError):
    """No live job by that id or name."""


def get_job(connection: Connection, job: int | str, *, lock: bool = False) -> JobRow:
    """The live job with this id (int) or name (str), or JobNotFound. With ``lock``, its row
    stays locked until the transaction ends (PostgreSQL; a SQLite writer holds the file)."""
    key = jobs.c.id if isinstance(job, int) else jobs.c.name
    query = select(*_JOB_COLUMNS).where(key == job, jobs.c.deleted_at.is_(None))
    row = connection.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise JobNotFound(f"job {job!r} does not exist")
    return JobRow(**row._mapping)


def list_jobs(connection: Connection, *, is_enabled: bool | None = None) -> list[JobRow]:
    """Live jobs by name, optionally only the enabled (or only the paused) ones."""
    query = select(*_JOB_COLUMNS).where(jobs.c.deleted_at.is_(None)).order_by(jobs.c.name)
    if is_enabled is not None:
        query = query.where(jobs.c.is_enabled.is_(is_enabled))
    return [JobRow(**row._mapping) for row in connection.execute(query)]


def update_job(
    connection: Connection, job_id: int, spec: JobSpec, *, expected_version: int, now: datetime
) -> bool:
    """Store ``spec`` as the job's next version, if the job is still at ``expected_version``
    (optimistic concurrency). Planning restarts from ``now``: a changed schedule never
    fabricates misfires.

    The definition's ``enabled`` sets the job's state only when it differs from the version
    before: a job paused by hand stays paused while its definition is re-applied unchanged.
    """
    before = connection.execute(
        select(jobs.c.spec, jobs.c.paused_until).where(jobs.c.id == job_id)
    ).first()
    paused_until = None if before is None else before.paused_until
    values = _definition_columns(spec, now, paused_until)
    was_enabled = None if before is None else bool(before.spec.get("enabled", True))
    if spec.is_enabled != was_enabled:
        values |= {"is_enabled": spec.is_enabled, "dead_at": None, "dead_reason": None}
    changed = connection.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.version == expected_version)
        .where(jobs.c.deleted_at.is_(None))
        .values(version=jobs.c.version + 1, **values)
    )
    return changed.rowcount == 1


def _definition_columns(
    spec: JobSpec, now: datetime, paused_until: datetime | None = None
) -> dict[str, Any]:
    """The columns a definition sets: the canonical form, what claiming and planning read.
    A job paused until an instant is next due at the pause's end, not before."""
    return {
        "spec": spec.canonical(),
        "queue": spec.queue,
        "priority": int(spec.priority),
        "next_due_at": next_due_from(spec.schedule, now, paused_until),
        "planned_until": now,  # due times before the definition are not its own
        "updated_at": now,
    }


def set_enabled(
    connection: Connection,
    job_id: int,
    *,
    is_enabled: bool,
    next_due_at: datetime | None,
    now: datetime,
) -> None:
    """Pause or resume a job. Resuming plans from ``now`` on: no burst of misfires, and a
    pause until an instant ends."""
    values: dict[str, Any] = {"is_enabled": is_enabled, "updated_at": now}
    if is_enabled:
        values |= {"planned_until": now, "next_due_at": next_due_at, "dead_at": None}
        values["paused_until"] = None
        values["dead_reason"] = None
    connection.execute(update(jobs).where(jobs.c.id == job_id).values(values))


def plan_from(
    connection: Connection, cursors: Sequence[tuple[int, datetime | None]], now: datetime
) -> None:
    """Plan each job from ``now`` on, due next at the time given with it: due times before
    ``now`` are not planned, so none of them is caught up or counted missed."""
    if cursors:
        connection.execute(
            update(jobs)
            .where(jobs.c.id == bindparam("job"))
            .values(planned_until=now, next_due_at=bindparam("next_due"), updated_at=now),
            [{"job": job_id, "next_due": next_due} for job_id, next_due in cursors],
        )


def delete_job(connection: Connection, job_id: int, now: datetime) -> None:
    """Delete a job, keeping its history: the row stays, hidden, and its name is free again.
    The deletion is a version of its own: the job's version goes up by one."""
    connection.execute(
        update(jobs)
        .where(jobs.c.id == job_id)
        .values(deleted_at=now, is_enabled=False, version=jobs.c.version + 1)
    )


_JOB_COLUMNS = (
    jobs.c.id,
    jobs.c.name,
    jobs.c.spec,
    jobs.c.version,
    jobs.c.is_enabled,
    jobs.c.queue,
    jobs.c.priority,
    jobs.c.next_due_at,
    jobs.c.dead_at,
    jobs.c.dead_reason,
    jobs.c.created_at,
    jobs.c.updated_at,
    jobs.c.paused_until,
)
