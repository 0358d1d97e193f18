"""Runs and attempts: the run life cycle, each transition one guarded statement.

A run is claimable when it is pending (or retrying: waiting out a retry delay), its queue is
one of the worker's queues and its ``not_before`` has come. Claiming makes it running under a
lease held by one worker token; every later transition of that run names the token and the
status it expects, so a worker whose lease was taken back cannot overwrite what happened
since.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Protocol

import psycopg
from psycopg.types.json import Json
from sqlalchemy import (
    Connection,
    String,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from cronwell.dag import SATISFYING
from cronwell.lifecycle import ACTIVE, AttemptStatus, RunStatus, Trigger
from cronwell.store.audit import insert_record
from cronwell.store.dialect import has_writable_ctes, insert_ignoring_conflicts
from cronwell.store.edges import fire_downstreams
from cronwell.store.signals import CANCELS, RUNS, notify
from cronwell.store.tables import attempts, audit, job_edges, jobs, runs
from cronwell.store.types import UtcDateTime


@dataclass(frozen=True, slots=True)
class NewRun:
    """A run to create. ``not_before`` defaults to ``scheduled_for``."""

    job_id: int
    scheduled_for: datetime
    trigger: Trigger
    queue: str
    priority: int
    max_attempts: int
    status: RunStatus = RunStatus.PENDING
    reason: str | None = None
    not_before: datetime | None = None
    args: list[Any] | None = None
    kwargs: dict[str, Any] | None = None
    covers: int = 1
    covers_from: datetime | None = None

    @classmethod
    def of_job(
        cls,
        job: QueuedJob,
        scheduled_for: datetime,
        trigger: Trigger,
        *,
        max_attempts: int,
        status: RunStatus = RunStatus.PENDING,
        reason: str | None = None,
        not_before: datetime | None = None,
    ) -> NewRun:
        """A run of ``job`` in its queue at its priority: what every maker of runs starts from."""
        return cls(
            job_id=job.id,
            scheduled_for=scheduled_for,
            trigger=trigger,
            queue=job.queue,
            priority=job.priority,
            max_attempts=max_attempts,
            status=status,
            reason=reason,
            not_before=not_before,
        )


class QueuedJob(Protocol):
    """What a run takes from its job's row: its id, queue and priority."""

    @property
    def id(self) -> int: ...
    @property
    def queue(self) -> str: ...
    @property
    def priority(self) -> int: ...


@dataclass(frozen=True, slots=True)
class ClaimedRun:
    """A run a worker now holds under its lease; ``attempt`` counts from 1."""

    id: int
    job_id: int
    scheduled_for: datetime
    trigger: Trigger
    attempt: int
    max_attempts: int
    args: list[Any] | None
    kwargs: dict[str, Any] | None
    started_at: datetime
    lease_expires_at: datetime
    job_version: int = 0  # the job's version at the claim: which definition to run
    # Whether other jobs wait for the job's runs, as the claim found its edges: its end may
    # make or start their runs.
    has_downstreams: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an attempt ended, as the worker records it."""

    status: AttemptStatus
    finished_at: datetime
    exit_code: int | None = None
    output: str | None = None
    error: str | None = None
    peak_memory: int | None = None
    logs: list[dict[str, Any]] | None = None
    heartbeat_at: datetime | None = None  # the task's last ctx.heartbeat(), if it gave one
    progress: str | None = None  # the last progress it gave with one


_NEW_RUN_FIELDS = tuple(field.name for field in fields(NewRun))


def insert_runs(connection: Connection, new_runs: Sequence[NewRun], now: datetime) -> list[int]:
    """Create runs; one whose (job, scheduled_for) exists already is skipped.

    Returns the ids of the runs created.
    """
    rows = [_run_row(run, now) for run in new_runs]
    return insert_ignoring_conflicts(
        connection, runs, rows, on=("job_id", "scheduled_for"), returning=runs.c.id
    )


def _run_row(run: NewRun, now: datetime) -> dict[str, Any]:
    # Not dataclasses.asdict: it deep-copies every argument, which costs more than the insert.
    row = {name: getattr(run, name) for name in _NEW_RUN_FIELDS}
    row["not_before"] = run.not_before or run.scheduled_for
    # Every row names the same columns, as insert_ignoring_conflicts requires.
    row["finished_at"] = now if run.status.is_finished else None
    row["created_at"] = now
    return row


def _status_in(*statuses: RunStatus) -> Any:
    """``status IN (...)`` with the statuses written into the SQL, as the partial indexes'
    predicates are: a planner uses such an index only when it sees the same constants, never
    for bound parameters (SQLite at all; PostgreSQL not in a generic prepared plan)."""
    return runs.c.status.in_(
        [literal(str(status), String(), literal_execute=True) for status in statuses]
    )


class InstantTaken(RuntimeError):
    """Another transaction gave a run of the job an instant this one meant to use: try again
    in a new transaction, with ``insert_asked_runs(..., look=True)``."""


MICROSECOND = timedelta(microseconds=1)
Call = tuple[list[Any] | None, dict[str, Any] | None]  # a run's (args, kwargs); None: the job's


def insert_asked_runs(
    connection: Connection,
    template: NewRun,
    calls: Sequence[Call],
    *,
    next_due: Callable[[datetime], datetime | None],
    look: bool = False,
) -> list[int]:
    """Create runs asked for at ``template.scheduled_for`` (trigger manual or retry), one per
    call, claimable at once; returns their ids in the order of ``calls``.

    A run is unique per (job, scheduled_for), and many runs may be asked for in the same
    microsecond, so each takes its own instant: from the asked instant on, a microsecond
    apart, skipping the job's own due times (``next_due(t)``: the first after ``t``), which
    stay free for the runs the schedule makes. With ``look``, instants already held by the
    job's runs are skipped too; without it none is read, and InstantTaken is raised when one
    turns out to be held: the caller rolls back and tries again with ``look``.
    """
    asked = template.scheduled_for
    taken: set[datetime] = set()
    if look:
        taken = _held_instants(connection, template.job_id, asked)
    instants = _free_instants(asked, len(calls), next_due, taken)
    row = _run_row(replace(template, not_before=asked), asked)  # what all the runs share
    rows = [
        row | {"scheduled_for": at, "args": args, "kwargs": kwargs}
        for at, (args, kwargs) in zip(instants, calls, strict=True)
    ]
    ids = insert_ignoring_conflicts(
        connection, runs, rows, on=("job_id", "scheduled_for"), returning=runs.c.id
    )
    if len(ids) != len(rows):
        raise InstantTaken(f"job {template.job_id}: an instant from {asked} on is taken")
    return ids  # in the order of the rows, so of the calls


def insert_asked_run(
    connection: Connection,
    template: NewRun,
    call: Call,
    *,
    job_version: int,
    next_due: Callable[[datetime], datetime | None],
    record: dict[str, Any],
) -> int | None:
    """Create one asked run as ``insert_asked_runs`` does, signal workers, and insert its
    audit ``record`` (a ``store.audit.record_row``, whose ``after`` becomes the run's id),
    without reading the job: the insert itself requires that the job is still live at
    ``job_version`` and that the run's instant is free. Returns the run's id; None, creating
    nothing, when either does not hold: the caller then reads the job and uses
    ``insert_asked_runs``.

    Made for ``Database.statements``: on PostgreSQL one statement, run, signal and record
    together, that commits by itself; on SQLite two in the one transaction there.
    """
    asked = template.scheduled_for
    (at,) = _free_instants(asked, 1, next_due, set())
    args, kwargs = call
    run = replace(template, scheduled_for=at, not_before=asked, args=args, kwargs=kwargs)
    params = _run_row(run, asked) | {"live_job": template.job_id, "live_version": job_version}
    if has_writable_ctes(connection):
        recorded = {f"record_{name}": value for name, value in record.items()}
        return _ask_on_postgresql(connection, params | recorded)
    run_id = connection.execute(_ASK_SQLITE, params).scalar_one_or_none()
    if run_id is not None:
        notify(connection, RUNS)
        insert_record(connection, record | {"after": {"run_ids": [run_id]}})
    return run_id


_ASK_COLUMNS = (*_NEW_RUN_FIELDS, "finished_at", "created_at")
# The run's values, selected from the job's row only while it is live at the known version.
_ASKED_ROW = select(*(bindparam(name, type_=runs.c[name].type) for name in _ASK_COLUMNS)).where(
    jobs.c.id == bindparam("live_job"),
    jobs.c.version == bindparam("live_version"),
    jobs.c.deleted_at.is_(None),
)
_ASK_SQLITE = (
    sqlite.insert(runs)
    .from_select(_ASK_COLUMNS, _ASKED_ROW)
    .on_conflict_do_nothing(index_elements=["job_id", "scheduled_for"])
    .returning(runs.c.id)
)
_ASKED = (
    postgresql.insert(runs)
    .from_select(_ASK_COLUMNS, _ASKED_ROW)
    .on_conflict_do_nothing(index_elements=["job_id", "scheduled_for"])
    .returning(runs.c.id)
    .cte("asked")
)
# The run's audit record, made by the same statement: it says which run it made.
_RECORDED = (
    postgresql.insert(audit)
    .from_select(
        [column.name for column in audit.columns if column.name != "id"],
        select(
            *(
                func.json_build_object(
                    literal_column("'run_ids'"), func.json_build_array(_ASKED.c.id)
                )
                if column.name == "after"
                else bindparam(f"record_{column.name}", type_=column.type)
                for column in audit.columns
                if column.name != "id"
            )
        ).select_from(_ASKED),
    )
    .cte("recorded")
)
# pg_notify is evaluated once per row made, and delivered at commit like notify().
_ASK_AND_SIGNAL = select(
    _ASKED.c.id, func.pg_notify(bindparam("channel", type_=String()), literal_column("''"))
).add_cte(_RECORDED)


def _ask_on_postgresql(connection: Connection, params: dict[str, Any]) -> int | None:
    """``_ASK_AND_SIGNAL`` sent through psycopg itself, on the connection's own driver
    connection (in autocommit mode: ``Database.statements``). What SQLAlchemy does around
    one execution (processing parameters, an execution context, a result) cost more than
    the statement's round trip, and this statement is what every ``trigger_now`` runs.
    The parameters are given as SQLAlchemy would give them; driver errors are raised as
    SQLAlchemy's, as from any other statement."""
    sql = _asked_sql(connection.dialect)
    values = {name: _driver_value(name, value) for name, value in params.items()}
    values["channel"] = RUNS
    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        row = driver.execute(sql, values).fetchone()
    except psycopg.Error as error:
        raise DBAPIError.instance(sql, values, error, psycopg.Error) from error
    return None if row is None else int(row[0])


@functools.cache
def _asked_sql(dialect: Dialect) -> str:
    return str(_ASK_AND_SIGNAL.compile(dialect=dialect))


def _driver_value(name: str, value: Any) -> Any:
    if name in ("args", "kwargs", "record_before", "record_detail"):
        return None if value is None else Json(value)  # as the columns' type stores them
    if isinstance(value, Enum):
        return value.value
    return value


def _free_instants(
    start: datetime,
    count: int,
    next_due: Callable[[datetime], datetime | None],
    taken: set[datetime],
) -> list[datetime]:
    found: list[datetime] = []
    at = start
    due = next_due(at - MICROSECOND)
    while len(found) < count:
        if due is not None and due < at:
            due = next_due(at - MICROSECOND)
        if at != due and at not in taken:
            found.append(at)
        at += MICROSECOND
    return found


def _held_instants(connection: Connection, job_id: int, since: datetime) -> set[datetime]:
    """The instants from ``since`` on that the job's runs hold (only asked runs are there)."""
    held = connection.execute(
        select(runs.c.scheduled_for).where(runs.c.job_id == job_id, runs.c.scheduled_for >= since)
    )
    return set(held.scalars())


# A retrying run is claimable once its not_before has come: no loop has to promote it.
_is_claimable = _status_in(RunStatus.PENDING, RunStatus.RETRYING)
_is_running = _status_in(RunStatus.RUNNING)


def claim_runs(
    connection: Connection,
    *,
    owner: str,
    queues: Sequence[str],
    now: datetime,
    lease: timedelta,
    limit: int,
) -> list[ClaimedRun]:
    """Claim up to ``limit`` claimable runs, most urgent first, and open an attempt for each.

    Highest priority (smallest number) first, then the earliest ``not_before``, then the
    oldest. PostgreSQL skips rows another worker has locked; SQLite's BEGIN IMMEDIATE already
    serializes claimers, and the ``status = 'pending'`` guard holds on both.
    """
    params = {"queues": list(queues), "now": now, "n": limit, "owner": owner}
    if has_writable_ctes(connection):
        claimed = connection.execute(_CLAIM_AND_OPEN, params | {"until": now + lease}).all()
        return sorted((_claimed(row, now, now + lease) for row in claimed), key=_by_id)
    claimed = connection.execute(_CLAIM, params | {"until": now + lease}).all()
    if claimed:
        connection.execute(
            insert(attempts),
            [
                {
                    "run_id": row.id,
                    "number": row.attempts,
                    "worker_id": owner,
                    "status": AttemptStatus.RUNNING,
                    "started_at": now,
                }
                for row in claimed
            ],
        )
    return sorted((_claimed(row, now, now + lease) for row in claimed), key=_by_id)


def _by_id(run: ClaimedRun) -> int:
    return run.id


_CLAIMED_COLUMNS = (
    runs.c.id,
    runs.c.job_id,
    runs.c.scheduled_for,
    runs.c.trigger,
    runs.c.attempts,
    runs.c.max_attempts,
    runs.c.args,
    runs.c.kwargs,
    # Read with the claim, so a worker that knows this version of the job reads nothing more.
    select(jobs.c.version).where(jobs.c.id == runs.c.job_id).scalar_subquery().label("version"),
    # Read with the claim too: a run whose end concerns no other job settles as before,
    # without a statement more.
    select(job_edges.c.kind)
    .where(job_edges.c.upstream_job_id == runs.c.job_id)
    .exists()
    .label("has_downstreams"),
)


# A CTE, not "id IN (subquery)": PostgreSQL may run such a subquery more than once and then
# claim more than ``limit`` rows; a locking CTE runs exactly once. Built once, with bound
# parameters: building a statement per call costs more than running it.
_CHOSEN = (
    select(runs.c.id)
    .where(_is_claimable, runs.c.queue.in_(bindparam("queues", expanding=True)))
    .where(runs.c.not_before <= bindparam("now", type_=UtcDateTime()))
    .order_by(runs.c.priority, runs.c.not_before, runs.c.id)
    .limit(bindparam("n"))
    .with_for_update(skip_locked=True)
    .cte("chosen")
)
_CLAIM = (
    update(runs)
    .where(runs.c.id == _CHOSEN.c.id, _is_claimable)
    .values(
        status=RunStatus.RUNNING,
        lease_owner=bindparam("owner"),
        lease_expires_at=bindparam("until", type_=UtcDateTime()),
        started_at=bindparam("now", type_=UtcDateTime()),
        attempts=runs.c.attempts + 1,
    )
    .returning(*_CLAIMED_COLUMNS)
)
# PostgreSQL: the claim and the attempts it opens are one statement.
_CLAIMED = _CLAIM.cte("claimed")
_OPENED = (
    insert(attempts)
    .from_select(
        ["run_id", "number", "worker_id", "status", "started_at"],
        select(
            _CLAIMED.c.id,
            _CLAIMED.c.attempts,
            bindparam("owner", type_=String()),
            literal(str(AttemptStatus.RUNNING), String()),
            bindparam("now", type_=UtcDateTime()),
        ),
    )
    .cte("opened")
)
_CLAIM_AND_OPEN = select(*_CLAIMED.c).add_cte(_OPENED)


def _claimed(row: Any, started_at: datetime, lease_expires_at: datetime) -> ClaimedRun:
    return ClaimedRun(
        id=row.id,
        job_id=row.job_id,
        scheduled_for=row.scheduled_for,
        trigger=Trigger(row.trigger),
        attempt=row.attempts,
        max_attempts=row.max_attempts,
        args=row.args,
        kwargs=row.kwargs,
        started_at=started_at,
        lease_expires_at=lease_expires_at,
        job_version=row.version,
        has_downstreams=bool(row.has_downstreams),
    )


def renew_leases(
    connection: Connection, *, owner: str, run_ids: Sequence[int], until: datetime
) -> set[int]:
    """Extend the leases ``owner`` still holds; returns the runs it still holds."""
    if not run_ids:
        return set()
    held = connection.execute(
        update(runs)
        .where(runs.c.id.in_(run_ids), _held_by(owner))
        .values(lease_expires_at=until)
        .returning(runs.c.id)
    )
    return set(held.scalars())


@dataclass(frozen=True, slots=True)
class Finish:
    """How one claimed run ends: its attempt's ``outcome`` and the run's next status.

    ``run_status`` is succeeded, dead, cancelled, or retrying with the ``not_before`` of the
    next attempt. ``has_queue``: the job's overlap policy is ``queue``, so a run that ends lets
    the job's oldest waiting run start.
    """

    run: ClaimedRun
    outcome: Outcome
    run_status: RunStatus
    not_before: datetime | None = None
    reason: str | None = None
    has_queue: bool = False

    @property
    def makes_runs(self) -> bool:
        """Whether this end may make runs of downstream jobs: then it must commit with them."""
        return self.run.has_downstreams and self.run_status in _FIRING


def finish_attempt(
    connection: Connection,
    run: ClaimedRun,
    owner: str,
    outcome: Outcome,
    *,
    run_status: RunStatus,
    not_before: datetime | None = None,
    reason: str | None = None,
    has_queue: bool = False,
) -> bool:
    """Record how an attempt ended and move its run to ``run_status``, if ``owner`` holds it.

    Returns False, changing nothing, when the lease was taken back meanwhile. One run of
    ``finish_attempts``.
    """
    finish = Finish(run, outcome, run_status, not_before, reason, has_queue)
    return bool(finish_attempts(connection, owner, [finish]))


def finish_attempts(connection: Connection, owner: str, finishes: Sequence[Finish]) -> list[Finish]:
    """Record how attempts ended and move their runs on, for the runs ``owner`` still holds;
    returns those, in the order given. A run whose lease was taken back changes nothing.

    Each run moves only by its guard (``status = 'running'`` and the lease owner) and only
    the attempts of runs that moved are closed: on PostgreSQL all in one statement, on SQLite
    one guarded UPDATE per run, sent as one batch, after reading which runs are still held
    (BEGIN IMMEDIATE holds the whole file, so every UPDATE sent for a held run wins).
    """
    if not finishes:
        return []
    if has_writable_ctes(connection):
        moving = _finish_in_one_statement(connection, owner, finishes)
    else:
        moving = _finish_run_by_run(connection, owner, finishes)
    promote_waiting(
        connection,
        sorted({f.run.job_id for f in moving if f.has_queue and f.run_status.is_finished}),
    )
    fired = [f for f in moving if f.makes_runs]
    if fired:
        ended_at = max(f.outcome.finished_at for f in fired)
        fire_downstreams(connection, [f.run.id for f in fired], ended_at)
    return moving


# The ends that may make downstream runs (cronwell.store.edges); a settle may then need a
# transaction: see ``Finish.makes_runs``.
_FIRING = frozenset[RunStatus]().union(*SATISFYING.values())


def _finish_run_by_run(
    connection: Connection, owner: str, finishes: Sequence[Finish]
) -> list[Finish]:
    """SQLite: which runs are held, then an UPDATE per run and one per attempt."""
    ids = [finish.run.id for finish in finishes]
    held = set(connection.execute(_HELD, {"ids": ids, "owner": owner}).scalars())
    moving = [finish for finish in finishes if finish.run.id in held]
    if not moving:
        return []
    moved = connection.execute(_FINISH_RUN, [_finish_values(finish, owner) for finish in moving])
    if moved.rowcount not in (-1, len(moving)):
        raise AssertionError(f"{len(moving)} held runs, {moved.rowcount} finished")
    _close_attempts(
        connection,
        [(f.run.id, f.run.attempt, f.run.started_at, f.outcome) for f in moving],
    )
    return moving


def _finish_in_one_statement(
    connection: Connection, owner: str, finishes: Sequence[Finish]
) -> list[Finish]:
    """PostgreSQL: the runs and their attempts move in one statement (one round trip), the
    batch sent as one JSON document rather than a parameter per value."""
    ended = json.dumps([_finish_document(finish) for finish in finishes], default=_instant)
    moved = set(connection.execute(_FINISH_PG, {"ended": ended, "owner": owner}).scalars())
    return [finish for finish in finishes if finish.run.id in moved]


def _finish_document(finish: Finish) -> dict[str, Any]:
    outcome = finish.outcome
    return {
        "run_id": finish.run.id,
        "number": finish.run.attempt,
        "next_status": finish.run_status,
        "next_reason": finish.reason,
        # A run that goes on retrying is not finished: its finished_at stays empty.
        "ended_at": outcome.finished_at if finish.run_status.is_finished else None,
        "next_at": finish.not_before,
        "attempt_status": outcome.status,
        "attempt_ended_at": outcome.finished_at,
        "took": (outcome.finished_at - finish.run.started_at).total_seconds(),
        "exit_code": outcome.exit_code,
        "output": _storable(outcome.output),
        "error": _storable(outcome.error),
        "peak_memory": outcome.peak_memory,
        "logs": _storable(outcome.logs),
        "heartbeat_at": outcome.heartbeat_at,
        "progress": _storable(outcome.progress),
    }


def _storable(value: Any) -> Any:
    """``value`` with each NUL character replaced by U+FFFD: PostgreSQL's text and jsonb
    refuse NUL, and a task's output may hold one. SQLite could store it; it gets the same,
    so both stores show the same history."""
    if value is None:  # most attempts: no output, no logs
        return None
    if isinstance(value, str):
        return value.replace("\0", "\ufffd") if "\0" in value else value
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    return value


def _instant(value: Any) -> str:
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"{value!r} is not an aware instant")


_FINISH_PG = text(
    """
    WITH ended AS (
        SELECT * FROM json_to_recordset(CAST(:ended AS json)) AS ended(
            run_id bigint, number integer, next_status text, next_reason text,
            ended_at timestamptz, next_at timestamptz, attempt_status text,
            attempt_ended_at timestamptz, took double precision, exit_code integer,
            output text, error text, peak_memory bigint, logs json,
            heartbeat_at timestamptz, progress text)
    ), moved AS (
        UPDATE runs SET
            status = ended.next_status,
            -- A cancelled run keeps the reason its cancel gave ("replaced by a newer run").
            reason = CASE WHEN ended.next_status = 'cancelled' THEN runs.reason
                          ELSE ended.next_reason END,
            finished_at = ended.ended_at,
            not_before = coalesce(ended.next_at, runs.not_before),
            lease_owner = NULL,
            lease_expires_at = NULL
        FROM ended
        WHERE runs.id = ended.run_id AND runs.status = 'running'
          AND runs.lease_owner = :owner
        RETURNING runs.id
    ), closed AS (
        UPDATE attempts SET
            status = ended.attempt_status,
            finished_at = ended.attempt_ended_at,
            duration = make_interval(secs => ended.took),
            exit_code = ended.exit_code,
            output = ended.output,
            error = ended.error,
            peak_memory = ended.peak_memory,
            logs = ended.logs,
            -- An end that knows no heartbeat (a lease taken back) keeps the one recorded.
            heartbeat_at = coalesce(ended.heartbeat_at, attempts.heartbeat_at),
            progress = coalesce(ended.progress, attempts.progress)
        FROM ended JOIN moved ON moved.id = ended.run_id
        WHERE attempts.run_id = ended.run_id AND attempts.number = ended.number
    )
    SELECT id FROM moved
    """
)


_HELD = (
    select(runs.c.id)
    .where(runs.c.id.in_(bindparam("ids", expanding=True)), runs.c.status == RunStatus.RUNNING)
    .where(runs.c.lease_owner == bindparam("owner"))
    .with_for_update()
)
_FINISH_RUN = (
    update(runs)
    .where(runs.c.id == bindparam("b_run"), runs.c.status == RunStatus.RUNNING)
    .where(runs.c.lease_owner == bindparam("owner"))
    .values(
        status=bindparam("next_status"),
        # A cancelled run keeps the reason its cancel gave ("replaced by a newer run", ...).
        reason=case(
            (bindparam("next_status") == RunStatus.CANCELLED.value, runs.c.reason),
            else_=bindparam("next_reason"),
        ),
        finished_at=bindparam("ended_at"),
        not_before=func.coalesce(bindparam("next_at", type_=UtcDateTime()), runs.c.not_before),
        lease_owner=None,
        lease_expires_at=None,
    )
)


def _finish_values(finish: Finish, owner: str) -> dict[str, Any]:
    # A run that goes on retrying is not finished: its finished_at stays empty.
    ended_at = finish.outcome.finished_at if finish.run_status.is_finished else None
    return {
        "b_run": finish.run.id,
        "owner": owner,
        "next_status": finish.run_status,
        "next_reason": finish.reason,
        "ended_at": ended_at,
        "next_at": finish.not_before,
    }


def _close_attempts(
    connection: Connection, ended: Sequence[tuple[int, int, datetime, Outcome]]
) -> None:
    """Record how attempts ended: (run id, attempt number, started at, outcome) each."""
    if not ended:
        return
    connection.execute(
        _CLOSE_ATTEMPT,
        [
            {
                "b_run": run_id,
                "number_": number,
                "attempt_status": outcome.status,
                "ended_at": outcome.finished_at,
                "took": outcome.finished_at - started_at,
                "exit": outcome.exit_code,
                "out": _storable(outcome.output),
                "err": _storable(outcome.error),
                "peak": outcome.peak_memory,
                "log_entries": _storable(outcome.logs),
                "beat_at": outcome.heartbeat_at,
                "beat_progress": _storable(outcome.progress),
            }
            for run_id, number, started_at, outcome in ended
        ],
    )


_CLOSE_ATTEMPT = (
    update(attempts)
    .where(attempts.c.run_id == bindparam("b_run"), attempts.c.number == bindparam("number_"))
    .values(
        status=bindparam("attempt_status"),
        finished_at=bindparam("ended_at"),
        duration=bindparam("took"),
        exit_code=bindparam("exit"),
        output=bindparam("out"),
        error=bindparam("err"),
        peak_memory=bindparam("peak"),
        logs=bindparam("log_entries"),
        # An end that knows no heartbeat (a lease taken back) keeps the one recorded.
        heartbeat_at=func.coalesce(
            bindparam("beat_at", type_=UtcDateTime()), attempts.c.heartbeat_at
        ),
        progress=func.coalesce(bindparam("beat_progress", type_=String()), attempts.c.progress),
    )
)


@dataclass(frozen=True, slots=True)
class AttemptBeat:
    """The last heartbeat of a running attempt's task, to record: ``progress`` is the last
    the task gave."""

    run_id: int
    attempt: int
    at: datetime
    progress: str | None


def record_heartbeats(connection: Connection, owner: str, beats: Sequence[AttemptBeat]) -> None:
    """Record the last heartbeat of each running attempt ``owner`` runs, in one batch. An
    attempt that has ended, or is another worker's, is left as it is."""
    if not beats:
        return
    connection.execute(
        _RECORD_HEARTBEAT,
        [
            {
                "b_run": beat.run_id,
                "number_": beat.attempt,
                "owner": owner,
                "beat_at": beat.at,
                "beat_progress": _storable(beat.progress),
            }
            for beat in beats
        ],
    )


_RECORD_HEARTBEAT = (
    update(attempts)
    .where(attempts.c.run_id == bindparam("b_run"), attempts.c.number == bindparam("number_"))
    .where(
        attempts.c.status == AttemptStatus.RUNNING.value,
        attempts.c.worker_id == bindparam("owner"),
    )
    .values(heartbeat_at=bindparam("beat_at"), progress=bindparam("beat_progress"))
)


def _held_by(owner: str) -> Any:
    return and_(runs.c.status == RunStatus.RUNNING, runs.c.lease_owner == owner)


@dataclass(frozen=True, slots=True)
class ExpiredRun:
    """A running run whose lease ran out: its worker died or stalled."""

    id: int
    job_id: int
    attempt: int
    max_attempts: int
    started_at: datetime
    is_cancelled: bool  # someone asked to cancel it: it ends cancelled, not retried


def take_back_expired(connection: Connection, now: datetime, limit: int = 500) -> list[ExpiredRun]:
    """Take back up to ``limit`` runs whose lease expired before ``now``.

    Each comes back lease-less in status ``retrying`` and its open attempt is closed as lost;
    the caller decides, by the job's retry policy, when (or whether) it runs again. A run
    someone asked to cancel ends ``cancelled`` instead: its worker died before it could.
    """
    chosen = (
        select(runs.c.id)
        .where(_is_running, runs.c.lease_expires_at < now)
        .order_by(runs.c.lease_expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("expired")
    )
    taken = connection.execute(
        update(runs)
        .where(runs.c.id == chosen.c.id, runs.c.status == RunStatus.RUNNING)
        .where(runs.c.lease_expires_at < now)
        .values(
            status=case(
                (runs.c.is_cancel_requested, RunStatus.CANCELLED.value),
                else_=RunStatus.RETRYING.value,
            ),
            finished_at=case((runs.c.is_cancel_requested, literal(now, UtcDateTime())), else_=None),
            lease_owner=None,
            lease_expires_at=None,
        )
        .returning(*_EXPIRED_COLUMNS)
    ).all()
    lost = [ExpiredRun(*row) for row in taken]
    outcome = Outcome(status=AttemptStatus.LOST, finished_at=now, error="the lease expired")
    _close_attempts(connection, [(run.id, run.attempt, run.started_at, outcome) for run in lost])
    promote_waiting(connection, sorted({run.job_id for run in lost if run.is_cancelled}))
    return lost


_EXPIRED_COLUMNS = (
    runs.c.id,
    runs.c.job_id,
    runs.c.attempts,
    runs.c.max_attempts,
    runs.c.started_at,
    runs.c.is_cancel_requested,
)


def earliest_lease_expiry(connection: Connection) -> datetime | None:
    """When the first lease of a running run runs out: when the reaper has work next."""
    return connection.execute(
        select(func.min(runs.c.lease_expires_at)).where(_is_running)
    ).scalar_one_or_none()


def hand_back(
    connection: Connection, *, owner: str, run_ids: Sequence[int], now: datetime
) -> list[int]:
    """Release runs ``owner`` still holds, to be claimed again at once by any worker.

    A stopping worker does this for the runs it could not finish within its grace period.
    The interrupted attempt is recorded but not counted against the retry budget: the run's
    ``max_attempts`` grows by one, since the task did not fail.
    """
    if not run_ids:
        return []
    handed = connection.execute(
        update(runs)
        .where(runs.c.id.in_(run_ids), _held_by(owner))
        .values(
            status=RunStatus.RETRYING,
            reason="handed back by a stopping worker",
            not_before=now,
            lease_owner=None,
            lease_expires_at=None,
            max_attempts=runs.c.max_attempts + 1,
        )
        .returning(runs.c.id, runs.c.attempts, runs.c.started_at)
    ).all()
    outcome = Outcome(AttemptStatus.INTERRUPTED, now, error="the worker stopped")
    _close_attempts(connection, [(row.id, row.attempts, row.started_at, outcome) for row in handed])
    if handed:
        notify(connection, RUNS)
    return sorted(row.id for row in handed)


def next_claimable_at(
    connection: Connection, queues: Sequence[str], now: datetime
) -> datetime | None:
    """When the next run in ``queues`` not yet due to start (a retry's delay) becomes due."""
    return connection.execute(
        select(func.min(runs.c.not_before)).where(
            _is_claimable, runs.c.queue.in_(queues), runs.c.not_before > now
        )
    ).scalar_one_or_none()


def promote_waiting(connection: Connection, job_ids: Sequence[int]) -> int:
    """Start the oldest waiting run (overlap ``queue``) of each job that has no other active
    run; returns how many started. A run waiting for its upstreams (it has a reason) is not
    the queue's: the dependency gate starts it (``cronwell.store.edges``).

    The job rows are locked first, as the scheduler locks them while it plans: a run the
    scheduler is adding as waiting either commits before this looks, and is started, or is
    planned after this commits, and sees no active run to wait for.
    """
    if not job_ids:
        return 0
    connection.execute(select(jobs.c.id).where(jobs.c.id.in_(job_ids)).with_for_update())
    waiting, busy = runs.alias("waiting"), runs.alias("busy")
    is_busy = busy.c.job_id == waiting.c.job_id, busy.c.status.in_(_BUSY)
    oldest = (
        select(func.min(waiting.c.id))
        .where(waiting.c.job_id.in_(job_ids), waiting.c.status == RunStatus.WAITING)
        .where(waiting.c.reason.is_(None))
        .where(~select(busy.c.id).where(*is_busy).exists())
        .group_by(waiting.c.job_id)
    )
    started = connection.execute(
        update(runs)
        .where(runs.c.id.in_(oldest), runs.c.status == RunStatus.WAITING)
        .values(status=RunStatus.PENDING)
    ).rowcount
    if started:
        notify(connection, RUNS)
    return started


_BUSY = sorted({RunStatus.PENDING, RunStatus.RUNNING, RunStatus.RETRYING})


def active_runs(connection: Connection, job_ids: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
    """Each job's runs that are not finished, as (run id, status), oldest first."""
    if not job_ids:
        return {}
    rows = connection.execute(
        select(runs.c.job_id, runs.c.id, runs.c.status)
        .where(runs.c.job_id.in_(job_ids), runs.c.status.in_(sorted(ACTIVE)))
        .order_by(runs.c.id)
    ).all()
    found: dict[int, list[tuple[int, str]]] = {}
    for row in rows:
        found.setdefault(row.job_id, []).append((row.id, row.status))
    return found


def cancel_runs(connection: Connection, run_ids: Sequence[int], now: datetime, reason: str) -> None:
    """Cancel runs not yet finished: one not started ends now; a running one is asked to stop,
    and its worker ends it within a heartbeat."""
    if not run_ids:
        return
    waiting = runs.c.status.in_([RunStatus.PENDING, RunStatus.RETRYING, RunStatus.WAITING])
    ended = connection.execute(
        update(runs)
        .where(runs.c.id.in_(run_ids), waiting)
        .values(status=RunStatus.CANCELLED, reason=reason, finished_at=now)
        .returning(runs.c.job_id)
    ).scalars()
    promote_waiting(connection, sorted(set(ended)))
    asked = connection.execute(
        update(runs)
        .where(runs.c.id.in_(run_ids), runs.c.status == RunStatus.RUNNING)
        .values(is_cancel_requested=True, reason=reason)
    )
    if asked.rowcount:
        notify(connection, CANCELS)


def retry_taken_back(
    connection: Connection, run_id: int, *, not_before: datetime | None, now: datetime
) -> bool:
    """Settle a run taken back from a lost worker: retry at ``not_before``, or, with None,
    dead (its attempts are exhausted). Guarded: only a lease-less retrying run moves."""
    values: dict[str, Any] = (
        {"not_before": not_before}
        if not_before is not None
        else {"status": RunStatus.DEAD, "reason": "the lease expired", "finished_at": now}
    )
    moved = connection.execute(
        update(runs)
        .where(runs.c.id == run_id, runs.c.status == RunStatus.RETRYING)
        .where(runs.c.lease_owner.is_(None))
        .values(values)
        .returning(runs.c.job_id)
    ).scalar_one_or_none()
    if moved is not None and not_before is None:
        promote_waiting(connection, [moved])
    return moved is not None


def cancel_requested(connection: Connection, run_ids: Sequence[int]) -> set[int]:
    """Which of these running runs someone asked to cancel."""
    if not run_ids:
        return set()
    found = connection.execute(
        select(runs.c.id).where(runs.c.id.in_(run_ids), runs.c.is_cancel_requested.is_(True))
    )
    return set(found.scalars())


def claim_run(
    connection: Connection, run_id: int, *, owner: str, now: datetime, lease: timedelta
) -> ClaimedRun | None:
    """Claim one given run, whatever its queue, and open its attempt; None when it is not
    claimable (another worker has it, or it ended). For a process that made the run to
    execute it itself (``cronwell exec``): made and claimed in one transaction, no other
    worker ever sees it pending."""
    row = connection.execute(
        update(runs)
        .where(runs.c.id == run_id, _is_claimable)
        .values(
            status=RunStatus.RUNNING,
            lease_owner=owner,
            lease_expires_at=now + lease,
            started_at=now,
            attempts=runs.c.attempts + 1,
        )
        .returning(*_CLAIMED_COLUMNS)
    ).first()
    if row is None:
        return None
    connection.execute(
        insert(attempts).values(
            run_id=row.id,
            number=row.attempts,
            worker_id=owner,
            status=AttemptStatus.RUNNING,
            started_at=now,
        )
    )
    return _claimed(row, now, now + lease)
