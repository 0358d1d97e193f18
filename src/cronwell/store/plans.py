"""What a scheduler tick reads and writes: the jobs due, the runs it plans for them, and each
job's cursor (due times planned up to here, the next one due then).

A tick may plan ten thousand jobs, and on PostgreSQL every round trip is most of what a tick
for one job costs; so each read and write here is one statement for the whole batch, sent
with its rows as arrays (PostgreSQL) or through the driver's executemany (SQLite), and the
runs, the cursors and the wake-up of workers are one statement on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Text,
    and_,
    bindparam,
    case,
    cast,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.sql.selectable import NamedFromClause

from cronwell.lifecycle import ACTIVE
from cronwell.store.flags import PAUSED
from cronwell.store.runs import NewRun, insert_runs
from cronwell.store.signals import RUNS, notify
from cronwell.store.tables import flags, jobs, runs
from cronwell.store.types import UtcDateTime


@dataclass(frozen=True, slots=True)
class DueJob:
    """A job whose next due time has come, locked for planning by the caller's transaction:
    its canonical definition, where its runs go, and the due times planned so far.
    ``has_active_runs``: whether it had a run not yet finished when it was read."""

    id: int
    spec: dict[str, Any]
    version: int
    queue: str
    priority: int
    planned_until: datetime
    has_active_runs: bool = True


_MICROSECOND = timedelta(microseconds=1)


def _due_job(*row: Any) -> DueJob:
    """A due job from a ``_DUE`` row: a job paused until an instant is planned from then on,
    however its cursor was moved meanwhile (a changed definition, a global resume)."""
    *columns, paused_until = row
    job = DueJob(*columns)
    if paused_until is not None and paused_until - _MICROSECOND > job.planned_until:
        return replace(job, planned_until=paused_until - _MICROSECOND)
    return job


def due_jobs(connection: Connection, now: datetime, limit: int) -> list[DueJob]:
    """Up to ``limit`` live jobs due at or before ``now``, earliest first (jobs due at the same
    instant in no set order). A job is live when it is not deleted, enabled, not paused on
    its own and not under the global pause.

    On PostgreSQL the rows stay locked until the transaction ends and other schedulers skip
    them; on SQLite the writing transaction already excludes them.
    """
    rows = connection.execute(_DUE, {"now": now, "limit": limit}).all()
    return [_due_job(*row) for row in rows]


def earliest_due_at(connection: Connection, now: datetime) -> datetime | None:
    """When the next live job is due (``due_jobs`` says which are live): how long a
    scheduler may sleep. None when none is, the global pause included."""
    return connection.execute(_EARLIEST, {"now": now}).scalar_one_or_none()


def _is_live(table: NamedFromClause) -> ColumnElement[bool]:
    # ``is_enabled`` is written as the due index's predicate is (``deleted_at IS NULL AND
    # is_enabled``): a planner uses a partial index only when the query states its
    # predicate, and ``is_enabled IS true`` (``= 1`` on SQLite) is not that. Untyped on
    # purpose: a Boolean-typed column is rendered ``= 1`` again on SQLite.
    return and_(
        table.c.deleted_at.is_(None),
        literal_column(f"{table.name}.is_enabled"),
        # A job paused until an instant is next due at or after it (``engine.controls``):
        # then it counts for when a scheduler wakes, though it is not due yet.
        or_(
            table.c.paused_until.is_(None),
            table.c.paused_until <= _NOW,
            table.c.paused_until <= table.c.next_due_at,
        ),
        ~_IS_PAUSED,
    )


_NOW = bindparam("now", type_=UtcDateTime())
# The global pause: the flag holds JSON true while it is on.
_IS_PAUSED = (
    select(flags.c.name).where(flags.c.name == PAUSED, cast(flags.c.value, Text) == "true").exists()
)
_HAS_ACTIVE_RUNS = (
    select(runs.c.id)
    .where(runs.c.job_id == jobs.c.id, runs.c.status.in_(sorted(ACTIVE)))
    .exists()
    .label("has_active_runs")
)
# Under its own name: in the PostgreSQL write below it is read beside an UPDATE of jobs, and
# sees the jobs as they were before it.
_LATER = jobs.alias("later")
_LATER_DUE_AT = select(func.min(_LATER.c.next_due_at)).where(
    _is_live(_LATER), _LATER.c.next_due_at > _NOW
)
# Built once, with bound parameters: building a statement per tick costs more than running it.
# Only the columns planning reads: each costs a conversion per row, and a batch is 500 rows.
_DUE = (
    select(
        jobs.c.id,
        jobs.c.spec,
        jobs.c.version,
        jobs.c.queue,
        jobs.c.priority,
        func.coalesce(jobs.c.planned_until, jobs.c.created_at, type_=UtcDateTime()),
        _HAS_ACTIVE_RUNS,
        jobs.c.paused_until,
    )
    .where(_is_live(jobs), jobs.c.next_due_at <= _NOW)
    # By due time alone, the due index's order, so the read stops after ``limit`` rows. A
    # tie-break by id made PostgreSQL read and sort every due job (wide rows, on disk for
    # 10,000 of them) for each batch.
    .order_by(jobs.c.next_due_at)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True, of=jobs)
)
_EARLIEST = select(func.min(jobs.c.next_due_at)).where(_is_live(jobs))


Cursor = tuple[int, datetime | None]  # a job's id and when it is next due (None: never again)


@dataclass(frozen=True, slots=True)
class Stored:
    """What ``store_plans`` did: how many runs it made, and when the first live job not due at
    ``now`` is due (jobs whose cursors it moved may count with their old due time or their
    new one: the caller knows the new ones)."""

    created: int
    later_due_at: datetime | None


def store_plans(
    connection: Connection,
    new_runs: Sequence[NewRun],
    cursors: Sequence[Cursor],
    *,
    now: datetime,
) -> Stored:
    """Create the runs a tick planned and move its jobs' cursors: due times up to ``now`` are
    planned, and each job is next due when its cursor says. When runs were made, workers are
    signalled (``RUNS``) at commit.

    A run whose (job, scheduled_for) exists already is skipped, as ``runs.insert_runs``
    skips it, with the same defaults: claimable from its due time, finished at once when
    made skipped or cancelled. Planned runs carry no arguments of their own; any that do go
    through ``runs.insert_runs``.
    """
    made = 0
    if any(run.args is not None or run.kwargs is not None for run in new_runs):
        made, new_runs = len(insert_runs(connection, new_runs, now)), []
        if made:
            notify(connection, RUNS)
    if connection.dialect.name == "postgresql":
        columns = zip(*_planned_rows(new_runs, now, _same), strict=True)
        arrays = {name: list(values) for name, values in zip(_PLANNED, columns, strict=False)}
        arrays |= {name: [] for name in _PLANNED if name not in arrays}  # no runs: empty
        ids, dues = zip(*cursors, strict=True) if cursors else ((), ())
        values = {"ids": list(ids), "dues": list(dues), "now": now, "channel": RUNS}
        created, _, later = connection.execute(_STORE_PG, arrays | values).one()
        return Stored(made + created, later)
    created = _insert_runs(connection, new_runs, now)
    if created:
        notify(connection, RUNS)
    _advance(connection, cursors, now)
    later = connection.execute(_LATER_DUE_AT, {"now": now}).scalar_one()
    return Stored(made + created, later)


def _insert_runs(connection: Connection, new_runs: Sequence[NewRun], now: datetime) -> int:
    if not new_runs:
        return 0
    rows = _planned_rows(new_runs, now, _instants(connection))
    return int(connection.exec_driver_sql(_INSERT_SQLITE, rows).rowcount)


def _advance(connection: Connection, cursors: Sequence[Cursor], now: datetime) -> None:
    if not cursors:
        return
    instant = _instants(connection)
    at = instant(now)
    rows = [(at, instant(due), at, job_id) for job_id, due in cursors]
    connection.exec_driver_sql(_ADVANCE, rows)


def _planned_rows(
    new_runs: Sequence[NewRun], now: datetime, instant: Callable[[datetime | None], Any]
) -> list[tuple[Any, ...]]:
    """The runs' columns in ``_PLANNED`` order, with the defaults of ``runs.insert_runs``."""
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
# PostgreSQL: the runs go in as one array per column, the cursors move by a join with two
# arrays, workers are signalled if runs were made, and the next due time is read; one
# statement, whatever the number of rows. (A multi-row VALUES list costs psycopg about 40 us a
# row to rewrite into its own placeholders; an executemany runs a statement per row.)
_MADE = (
    text(
        f"INSERT INTO runs ({', '.join(_PLANNED)}) SELECT * FROM unnest("
        + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _PLANNED.items())
        + f") ON CONFLICT ({_RUN_KEY}) DO NOTHING RETURNING 1 AS made"
    )
    .columns(column("made"))
    .cte("made")
)
_MOVED = (
    text(
        "UPDATE jobs SET planned_until = :now, next_due_at = moved_to.due, updated_at = :now "
        "FROM unnest(CAST(:ids AS bigint[]), CAST(:dues AS timestamptz[])) AS moved_to(id, due) "
        "WHERE jobs.id = moved_to.id RETURNING jobs.id"
    )
    .columns(column("id"))
    .cte("moved")
)
_CREATED = select(func.count().label("runs")).select_from(_MADE).cte("created")
_STORE_PG = select(
    _CREATED.c.runs,
    case((_CREATED.c.runs > 0, func.pg_notify(bindparam("channel"), literal(""))), else_=None),
    _LATER_DUE_AT.scalar_subquery(),
).add_cte(_MOVED)
# SQLite: executemany runs in the driver's C loop, with the instants converted once.
_INSERT_SQLITE = (
    f"INSERT INTO runs ({', '.join(_PLANNED)}) VALUES ({', '.join('?' * len(_PLANNED))}) "
    f"ON CONFLICT ({_RUN_KEY}) DO NOTHING"
)
_ADVANCE = "UPDATE jobs SET planned_until = ?, next_due_at = ?, updated_at = ? WHERE id = ?"


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
