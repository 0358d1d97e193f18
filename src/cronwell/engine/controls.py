"""Operator controls: backfill a range of due times, skip the next one, pause until an instant,
resume catching up, move a job's cursor.

Each is one transaction that holds the job's row locked, as a scheduler tick does: no tick
plans the job halfway through a change, and a change that fails leaves the store as it was.
Each signals schedulers (``JOBS``) so they read the job's new due time at once. Each takes
an ``audit`` that records the change in that same transaction, with the job's name, its
state before and after (or, for a backfill, the runs made).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from cronwell.lifecycle import RunStatus, Trigger
from cronwell.policies import OverlapPolicy
from cronwell.policies.controls import (
    MICROSECOND,
    ControlError,
    backfill_due_times,
    backfill_overlap,
    backfill_statuses,
    first_due_from,
    has_due_times,
    local_instant,
)
from cronwell.spec import JobSpec
from cronwell.store import controls as store_controls
from cronwell.store.database import Database
from cronwell.store.jobs import JobRow, get_job
from cronwell.store.runs import NewRun, active_runs, insert_runs
from cronwell.store.signals import JOBS, RUNS, notify

SKIPPED_BY_HAND = "skipped by hand"

# Records a change: (connection, job name, before, after), in the change's transaction.
Audit = Callable[[Connection, str, dict[str, Any] | None, dict[str, Any] | None], None]


@dataclass(frozen=True, slots=True)
class Backfill:
    """What a backfill did (or, ``is_dry_run``, would do): the job's due times from ``start``
    to ``end``, both included; ``made`` runs for those that had none (``run_ids``, empty on a
    dry run), and ``existing`` left alone because a run holds them already."""

    job: str
    start: datetime
    end: datetime
    overlap: OverlapPolicy
    due_times: tuple[datetime, ...]
    run_ids: tuple[int, ...]
    made: int
    existing: int
    is_dry_run: bool


@dataclass(frozen=True, slots=True)
class _Held:
    """A job read under its row lock, with its definition."""

    row: JobRow
    spec: JobSpec
    connection: Connection
    audit: Audit | None = None

    def record(self, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        if self.audit is not None:
            self.audit(self.connection, self.row.name, before, after)


@contextmanager
def _holding(
    database: Database, job: int | str, *, write: bool = True, audit: Audit | None = None
) -> Iterator[_Held]:
    with database.transaction(write=write) as connection:
        row = get_job(connection, job, lock=write)
        yield _Held(row, JobSpec.from_canonical(row.spec), connection, audit)


def backfill(
    database: Database,
    now: datetime,
    job: int | str,
    start: datetime,
    end: datetime,
    *,
    overlap: OverlapPolicy | str | None = None,
    dry_run: bool = False,
    audit: Audit | None = None,
) -> Backfill:
    """Make a run (trigger ``backfill``) for each due time of the job from ``start`` to ``end``
    that has no run yet; naive instants are wall times in the job's zone. ``overlap`` (allow,
    queue, forbid; default queue) decides how the runs wait for each other and for the job's
    unfinished runs (``policies.controls.backfill_statuses``). The runs are claimable at once,
    behind what was claimable before them."""
    policy = backfill_overlap(overlap)
    with _holding(database, job, write=not dry_run, audit=audit) as held:
        zone = held.spec.schedule.timezone
        start, end = local_instant(start, zone), local_instant(end, zone)
        due = backfill_due_times(held.spec.schedule, start, end, now)
        taken = store_controls.held_due_times(held.connection, held.row.id, start, end)
        free = [at for at in due if at not in taken]
        ids = [] if dry_run else _make_runs(held, free, policy, now)
        if not dry_run:
            detail = {"start": start, "end": end, "overlap": policy.value}
            held.record(None, detail | {"run_ids": ids, "existing": len(due) - len(ids)})
    made = len(free) if dry_run else len(ids)
    return Backfill(
        held.row.name, start, end, policy, due, tuple(ids), made, len(due) - made, dry_run
    )


def _make_runs(
    held: _Held, due_times: list[datetime], policy: OverlapPolicy, now: datetime
) -> list[int]:
    connection, row = held.connection, held.row
    active = active_runs(connection, [row.id]).get(row.id, [])
    job_overlap = held.spec.overlap
    statuses = backfill_statuses(policy, job_overlap, bool(active), len(due_times))
    new_runs = [
        NewRun.of_job(
            row,
            at,
            Trigger.BACKFILL,
            max_attempts=held.spec.retry.max_attempts,
            status=status,
            reason=reason,
            # Claimable from now: a due time long past must not jump ahead of runs that were
            # claimable before the backfill was asked for.
            not_before=now,
        )
        for at, (status, reason) in zip(due_times, statuses, strict=True)
    ]
    ids = insert_runs(connection, new_runs, now)
    if ids:
        notify(connection, RUNS)
    return ids


def skip_next(
    database: Database, now: datetime, job: int | str, *, audit: Audit | None = None
) -> datetime:
    """Skip the job's next due time: it is recorded as a run skipped by hand (trigger
    ``schedule``) and the job is next due at the due time after it. Returns the skipped due
    time. ControlError when the job is paused (its next due time is decided when it resumes)
    or is never due again."""
    with _holding(database, job, audit=audit) as held:
        row = held.row
        if not row.is_enabled:
            problem = f"{row.name!r} is paused: resume it first, its next due time is set then"
            raise ControlError("job", problem)
        skipped = row.next_due_at
        if skipped is None:
            raise ControlError("job", f"{row.name!r} is not due again: nothing to skip")
        run = NewRun.of_job(
            row,
            skipped,
            Trigger.SCHEDULE,
            max_attempts=held.spec.retry.max_attempts,
            status=RunStatus.SKIPPED,
            reason=SKIPPED_BY_HAND,
        )
        insert_runs(held.connection, [run], now)
        next_due = held.spec.schedule.next_after(skipped)
        _move(held, now, planned_until=skipped, next_due_at=next_due)
    return skipped


def pause_until(
    database: Database,
    now: datetime,
    job: int | str,
    until: datetime,
    *,
    audit: Audit | None = None,
) -> datetime:
    """Pause the job until ``until`` (naive: a wall time in the job's zone), after which it
    fires by itself: its first due time at or after ``until`` runs, and none before it is
    planned, so nothing bursts out when the pause ends. A job paused by hand is paused until
    then too. Returns ``until`` as a UTC instant."""
    with _holding(database, job, audit=audit) as held:
        at = local_instant(until, held.spec.schedule.timezone)
        if at <= now:
            raise ControlError("until", f"{at.isoformat()} is not in the future")
        # The next due time is the one the pause ends on: schedulers wake for it.
        next_due = first_due_from(held.spec.schedule, at)
        _move(held, now, paused_until=at, next_due_at=next_due, **_enabled(held.row))
    return at


def resume_catching_up(
    database: Database, now: datetime, job: int | str, *, audit: Audit | None = None
) -> datetime | None:
    """Resume the job where its planning stopped: the due times missed while it was paused
    are planned by its misfire policy, as after the scheduler was down. Returns when it is
    next due (in the past when there is a backlog: schedulers plan it at once)."""
    with _holding(database, job, audit=audit) as held:
        planned_until = store_controls.planned_until(held.connection, held.row.id)
        next_due = held.spec.schedule.next_after(planned_until)
        _move(held, now, paused_until=None, next_due_at=next_due, **_enabled(held.row))
    return next_due


def move_cursor(
    database: Database,
    now: datetime,
    job: int | str,
    to: datetime,
    *,
    audit: Audit | None = None,
) -> datetime | None:
    """Plan the job from ``to`` on (naive: a wall time in the job's zone): its due times at or
    after ``to`` are the ones planned next. Back in time, they are planned again by the
    misfire policy, as after the scheduler was down from ``to`` (a due time that has a run
    keeps it); ahead, the due times before ``to`` are never run nor recorded. A pause until
    a later instant stays. Returns when the job is next due."""
    with _holding(database, job, audit=audit) as held:
        if not has_due_times(held.spec.schedule):
            described = held.spec.schedule.describe()
            raise ControlError("schedule", f"{described!r} has no due times: no cursor to move")
        at = local_instant(to, held.spec.schedule.timezone)
        next_due = first_due_from(held.spec.schedule, at)
        ended = {"paused_until": None} if _has_ended(held.row.paused_until, now) else {}
        _move(held, now, planned_until=at - MICROSECOND, next_due_at=next_due, **ended)
    return next_due


def _has_ended(paused_until: datetime | None, now: datetime) -> bool:
    # A pause that ended must not hold back a replay from before it.
    return paused_until is not None and paused_until <= now


def _enabled(row: JobRow) -> dict[str, object]:
    """The columns that take a job paused by hand, or by a dead run, back into service."""
    return {} if row.is_enabled else {"is_enabled": True, "dead_at": None, "dead_reason": None}


def _move(held: _Held, now: datetime, **columns: object) -> None:
    before = None if held.audit is None else _state_before(held, columns)
    store_controls.move_cursor(held.connection, held.row.id, now, **columns)
    notify(held.connection, JOBS)
    held.record(before, dict(columns))


def _state_before(held: _Held, columns: dict[str, object]) -> dict[str, Any]:
    """The job's values of ``columns`` before the change, as the audit compares them."""
    before = {name: getattr(held.row, name) for name in columns if name != "planned_until"}
    if "planned_until" in columns:
        before["planned_until"] = store_controls.planned_until(held.connection, held.row.id)
    return before
