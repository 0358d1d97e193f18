"""Jobs: named, versioned definitions, and the cursor of when each is next due."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    update,
)

from cronwell.spec import JobSpec
from cronwell.store.runs import NewRun, insert_runs
from cronwell.store.tables import jobs
from cronwell.store.types import UtcDateTime


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


@dataclass(frozen=True, slots=True)
class DueJob:
    """A job whose next due time has come, locked for planning by the caller's transaction."""

    id: int
    name: str
    spec: dict[str, Any]
    version: int
    queue: str
    priority: int
    next_due_at: datetime
    planned_until: datetime


def due_jobs(connection: Connection, now: datetime, limit: int) -> list[DueJob]:
    """Up to ``limit`` live, enabled, unpaused jobs due at or before ``now``, earliest first.

    On PostgreSQL the rows stay locked until the transaction ends and other schedulers skip
    them; on SQLite the writing transaction already excludes them.
    """
    rows = connection.execute(
        select(*_DUE_COLUMNS)
        .where(_is_live(now), jobs.c.next_due_at <= now)
        .order_by(jobs.c.next_due_at, jobs.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    return [_due_job(row) for row in rows]


_DUE_COLUMNS = (
    jobs.c.id,
    jobs.c.name,
    jobs.c.spec,
    jobs.c.version,
    jobs.c.queue,
    jobs.c.priority,
    jobs.c.next_due_at,
    jobs.c.planned_until,
    jobs.c.created_at,
)


def _due_job(row: Any) -> DueJob:
    return DueJob(
        id=row.id,
        name=row.name,
        spec=row.spec,
        version=row.version,
        queue=row.queue,
        priority=row.priority,
        next_due_at=row.next_due_at,
        planned_until=row.planned_until or row.created_at,
    )


def advance_jobs(
    connection: Connection,
    next_due: Sequence[tuple[int, datetime | None]],
    *,
    planned_until: datetime,
    now: datetime,
) -> None:
    """Record that the jobs' due times up to ``planned_until`` are planned, and when each job
    (by id) is next due. One statement for the whole batch."""
    if not next_due:
        return
    if connection.dialect.name == "postgresql":
        ids, dues = zip(*next_due, strict=True)
        values = {"ids": list(ids), "dues": list(dues), "until": planned_until, "now": now}
        connection.execute(_ADVANCE_PG, values)
        return
    instant = _instants(connection)
    until, at = instant(planned_until), instant(now)
    rows = [(until, instant(due), at, job_id) for job_id, due in next_due]
    connection.exec_driver_sql(_ADVANCE_SQLITE, rows)


# PostgreSQL: one statement joins the jobs to two arrays (ids and due times). An executemany
# would run an UPDATE per job, and a VALUES list of a thousand rows costs the driver more to
# rewrite into its own placeholders than the update costs the server. SQLite: executemany,
# which runs in the driver's C loop, with the instants converted once.
_ADVANCE_PG = text(
    "UPDATE jobs SET planned_until = :until, next_due_at = moved.due, updated_at = :now "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:dues AS timestamptz[])) AS moved(id, due) "
    "WHERE jobs.id = moved.id"
)
_ADVANCE_SQLITE = "UPDATE jobs SET planned_until = ?, next_due_at = ?, updated_at = ? WHERE id = ?"


def insert_planned_runs(connection: Connection, new_runs: Sequence[NewRun], now: datetime) -> int:
    """Create the runs a scheduler tick planned, as ``runs.insert_runs`` does: one whose
    (job, scheduled_for) exists already is skipped. Returns how many were created.

    The scheduler's own statement, for thousands of runs at once: it returns no ids, and
    sends the rows as ``advance_jobs`` sends the cursors (arrays on PostgreSQL, an
    executemany on SQLite). Planned runs carry no arguments of their own; any that do go
    through ``runs.insert_runs``.
    """
    if not new_runs:
        return 0
    if any(run.args is not None or run.kwargs is not None for run in new_runs):
        return len(insert_runs(connection, new_runs, now))
    if connection.dialect.name == "postgresql":
        columns = zip(*_planned_rows(new_runs, now, _same), strict=True)
        arrays = {name: list(values) for name, values in zip(_PLANNED, columns, strict=True)}
        return connection.execute(_INSERT_PLANNED_PG, arrays).rowcount
    rows = _planned_rows(new_runs, now, _instants(connection))
    return connection.exec_driver_sql(_INSERT_PLANNED_SQLITE, rows).rowcount


def _planned_rows(
    new_runs: Sequence[NewRun], now: datetime, instant: Callable[[datetime | None], Any]
) -> list[tuple[Any, ...]]:
    """The runs' columns in ``_PLANNED`` order, with the defaults of ``runs.insert_runs``:
    claimable from the due time, finished at once when created skipped or cancelled."""
    created = instant(now)
    return [
        (
            run.job_id,
            instant(run.scheduled_for),
            run.trigger.value,
            run.queue,
            run.priority,
            run.max_attempts,
            run.status.value,
            run.reason,
            instant(run.not_before or run.scheduled_for),
            run.covers,
            instant(run.covers_from),
            created if run.status.is_finished else None,
            created,
        )
        for run in new_runs
    ]


# Each column of a planned run and its type in a PostgreSQL array.
_PLANNED = {
    "job_id": "bigint",
    "scheduled_for": "timestamptz",
    "trigger": "text",
    "queue": "text",
    "priority": "smallint",
    "max_attempts": "integer",
    "status": "text",
    "reason": "text",
    "not_before": "timestamptz",
    "covers": "integer",
    "covers_from": "timestamptz",
    "finished_at": "timestamptz",
    "created_at": "timestamptz",
}
_RUN_KEY = "job_id, scheduled_for"
_INSERT_PLANNED_PG = text(
    f"INSERT INTO runs ({', '.join(_PLANNED)}) SELECT * FROM unnest("
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _PLANNED.items())
    + f") ON CONFLICT ({_RUN_KEY}) DO NOTHING"
)
_INSERT_PLANNED_SQLITE = (
    f"INSERT INTO runs ({', '.join(_PLANNED)}) VALUES ({', '.join('?' * len(_PLANNED))}) "
    f"ON CONFLICT ({_RUN_KEY}) DO NOTHING"
)


def _same(value: datetime | None) -> datetime | None:
    return value  # psycopg sends aware datetimes as they are


def _instants(connection: Connection) -> Callable[[datetime | None], Any]:
    """Instants as the instant columns store them on this connection's dialect, each
    distinct one converted once: a tick's runs share a few due times and one ``now``."""
    convert = _INSTANT.dialect_impl(connection.dialect).bind_processor(connection.dialect)
    converted: dict[datetime | None, Any] = {None: None}

    def instant(value: datetime | None) -> Any:
        found = converted.get(value, _MISSING)
        if found is _MISSING:
            found = converted[value] = convert(value) if convert is not None else value
        return found

    return instant


_INSTANT = UtcDateTime()
_MISSING = object()


def earliest_due_at(connection: Connection, now: datetime) -> datetime | None:
    """When the next live job is due, so a scheduler knows how long it may sleep."""
    return connection.execute(
        select(func.min(jobs.c.next_due_at)).where(_is_live(now))
    ).scalar_one_or_none()


def _is_live(now: datetime) -> Any:
    return and_(
        jobs.c.deleted_at.is_(None),
        _IS_ENABLED,
        or_(jobs.c.paused_until.is_(None), jobs.c.paused_until <= now),
    )


# Written as the due index's predicate is (``deleted_at IS NULL AND is_enabled``): a planner
# uses a partial index only when the query states its predicate, and ``is_enabled IS true``
# (or ``= 1`` on SQLite) is not that. Without it every tick scans and sorts all jobs. Untyped
# on purpose: a Boolean-typed column is rendered ``= 1`` again on SQLite.
_IS_ENABLED: ColumnElement[Any] = literal_column("jobs.is_enabled")


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


class JobNotFound(LookupError):
    """No live job by that id or name."""


def get_job(connection: Connection, job: int | str) -> JobRow:
    """The live job with this id (int) or name (str), or JobNotFound."""
    key = jobs.c.id if isinstance(job, int) else jobs.c.name
    row = connection.execute(
        select(*_JOB_COLUMNS).where(key == job, jobs.c.deleted_at.is_(None))
    ).first()
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
    values = _definition_columns(spec, now)
    if spec.is_enabled != _was_enabled(connection, job_id):
        values |= {"is_enabled": spec.is_enabled, "dead_at": None, "dead_reason": None}
    changed = connection.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.version == expected_version)
        .where(jobs.c.deleted_at.is_(None))
        .values(version=jobs.c.version + 1, **values)
    )
    return changed.rowcount == 1


def _was_enabled(connection: Connection, job_id: int) -> bool | None:
    stored = connection.execute(select(jobs.c.spec).where(jobs.c.id == job_id)).scalar()
    return None if stored is None else bool(stored.get("enabled", True))


def _definition_columns(spec: JobSpec, now: datetime) -> dict[str, Any]:
    """The columns a definition sets: the canonical form, what claiming and planning read."""
    return {
        "spec": spec.canonical(),
        "queue": spec.queue,
        "priority": int(spec.priority),
        "next_due_at": spec.schedule.next_after(now),
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
    """Pause or resume a job. Resuming plans from ``now`` on: no burst of misfires."""
    values: dict[str, Any] = {"is_enabled": is_enabled, "updated_at": now}
    if is_enabled:
        values |= {"planned_until": now, "next_due_at": next_due_at, "dead_at": None}
        values["dead_reason"] = None
    connection.execute(update(jobs).where(jobs.c.id == job_id).values(values))


def delete_job(connection: Connection, job_id: int, now: datetime) -> None:
    """Delete a job, keeping its history: the row stays, hidden, and its name is free again."""
    connection.execute(
        update(jobs).where(jobs.c.id == job_id).values(deleted_at=now, is_enabled=False)
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
)
