"""Operator controls, decided: the due times a backfill covers, the status each of its runs
starts in, and the instants an operator names, read in the job's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cronwell.lifecycle import RunStatus, SkipReason
from cronwell.policies.base import PolicyError
from cronwell.policies.overlap import OverlapPolicy
from cronwell.schedules import EventSchedule, ManualSchedule, Schedule
from cronwell.schedules.zones import fixed_time_instant

# A backfill makes at most this many runs: a range typed wrong (a year for a day, a minutely
# job) is refused, not turned into millions of runs.
MAX_BACKFILL_RUNS = 10_000
MICROSECOND = timedelta(microseconds=1)
BACKFILL_OVERLAPS = (OverlapPolicy.ALLOW, OverlapPolicy.QUEUE, OverlapPolicy.FORBID)


class ControlError(PolicyError):
    """An operator control asked for what cannot be done: names the argument at fault."""


def local_instant(value: datetime, zone: ZoneInfo) -> datetime:
    """``value`` as a UTC instant. A naive ``value`` is a wall time in ``zone``, read by the
    fixed-time rule as every wall time given without an offset is: a repeated one at its
    first pass, one a spring-forward gap skips at the end of the gap."""
    if value.tzinfo is None or value.utcoffset() is None:
        return fixed_time_instant(value.replace(tzinfo=None), zone)
    return value.astimezone(UTC)


def first_due_from(schedule: Schedule, instant: datetime) -> datetime | None:
    """The schedule's first due time at or after ``instant`` (not strictly after it)."""
    return schedule.next_after(instant - MICROSECOND)


def next_due_from(
    schedule: Schedule, now: datetime, paused_until: datetime | None
) -> datetime | None:
    """When a job planned from ``now`` is next due: the first due time after ``now``, or,
    while the job is paused until a later instant, the first at or after that instant (so
    schedulers wake for the end of the pause, not a pass later)."""
    if paused_until is not None and paused_until > now:
        return first_due_from(schedule, paused_until)
    return schedule.next_after(now)


def has_due_times(schedule: Schedule) -> bool:
    """Whether the schedule is ever due by time: manual and event jobs are not."""
    return not isinstance(schedule, ManualSchedule | EventSchedule)


def backfill_due_times(
    schedule: Schedule,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    limit: int = MAX_BACKFILL_RUNS,
) -> tuple[datetime, ...]:
    """Every due time of ``schedule`` from ``start`` to ``end``, both included, oldest first:
    the schedule's own walk, so a range across a DST change holds exactly the job's due times.

    ControlError when ``end`` is before ``start`` or after ``now`` (the schedule itself runs
    what is due from now on), when the schedule is never due by time, or when the range holds
    more than ``limit`` due times.
    """
    if end < start:
        raise ControlError("end", f"{end.isoformat()} is before start {start.isoformat()}")
    if end > now:
        problem = f"{end.isoformat()} is in the future: the schedule runs those due times itself"
        raise ControlError("end", problem)
    if not has_due_times(schedule):
        raise ControlError("schedule", f"{schedule.describe()!r} has no due times to backfill")
    found: list[datetime] = []
    instant = start - MICROSECOND
    while (due := schedule.next_after(instant)) is not None and due <= end:
        if len(found) == limit:
            span = f"{start.isoformat()} to {end.isoformat()}"
            problem = f"{span} holds more than {limit} due times: narrow the range"
            raise ControlError("start/end", problem)
        found.append(due)
        instant = due
    return tuple(found)


Status = tuple[RunStatus, SkipReason | None]


def backfill_overlap(value: OverlapPolicy | str | None) -> OverlapPolicy:
    """The overlap policy a backfill's runs follow: ``value``, queue when none is given.
    ControlError when it is not one a backfill takes (``BACKFILL_OVERLAPS``)."""
    if value is None:
        return OverlapPolicy.QUEUE
    if value not in BACKFILL_OVERLAPS:
        choices = ", ".join(BACKFILL_OVERLAPS)
        raise ControlError("overlap", f"{str(value)!r} is not one of {choices}")
    return OverlapPolicy(value)


def backfill_statuses(
    policy: OverlapPolicy, job_overlap: OverlapPolicy, has_active_runs: bool, count: int
) -> list[Status]:
    """The status (and skip reason) each of ``count`` backfill runs is made in, oldest first.

    queue: the runs run one at a time, oldest first: the first starts at once and each other
    waits for the one before it to end. The first waits too when the job has an unfinished
    run and the job's own policy (``job_overlap``) is queue, so its turn comes when that run
    ends; beside the runs of a job of another policy it starts at once. allow: every run is
    pending at once. forbid: the first run is pending if the job has no unfinished run, and
    every other run is skipped (``overlap``). ``policy`` is one ``backfill_overlap`` gave.
    """
    pending: Status = (RunStatus.PENDING, None)
    if policy is OverlapPolicy.ALLOW:
        return [pending] * count
    if policy is OverlapPolicy.QUEUE:
        waiting: Status = (RunStatus.WAITING, None)
        first = waiting if has_active_runs and job_overlap is OverlapPolicy.QUEUE else pending
        return [first] + [waiting] * (count - 1) if count else []
    skipped: Status = (RunStatus.SKIPPED, SkipReason.OVERLAP)
    if has_active_runs or count == 0:
        return [skipped] * count
    return [pending] + [skipped] * (count - 1)
