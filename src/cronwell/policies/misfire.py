"""Misfires: what becomes of due times the scheduler finds late, e.g. after downtime."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from cronwell.lifecycle import SkipReason, Trigger
from cronwell.policies.base import PolicyError, as_utc
from cronwell.schedules import IntervalSchedule, Schedule

_ZERO = timedelta(0)
_MICROSECOND = timedelta(microseconds=1)


# Past one scheduler tick's lateness (a GC pause, a busy SQLite retry, a slow commit) and well
# short of anything a person would call missed. Only the latest due time can be on time.
DEFAULT_ON_TIME_TOLERANCE = timedelta(seconds=5)
MAX_CATCH_UP = 1000
# Room for every catch-up run a policy may ask for, plus the one on time.
DEFAULT_PLAN_LIMIT = MAX_CATCH_UP + 1
# A backlog up to this many times ``limit`` is walked and counted exactly; a longer one is
# counted by a bounded walk from each end (see ``_probe``).
_WALK_FACTOR = 4
# Growing then bisecting a span of timedelta microseconds (under 2**67) converges well within.
_MAX_PROBES = 160


class MisfireAction(StrEnum):
    SKIP = "skip"
    RUN_ONCE = "run_once"
    RUN_ALL = "run_all"


@dataclass(frozen=True, slots=True)
class MisfirePolicy:
    """What becomes of due times found late, e.g. after the scheduler was down.

    A due time older than ``now - grace`` is missed whatever the action. Of the late ones
    within grace, run_once runs the most recent, run_all the ``max_catch_up`` most recent,
    skip none. The defaults catch up once, within a day.
    """

    action: MisfireAction = MisfireAction.RUN_ONCE
    grace: timedelta = timedelta(days=1)
    max_catch_up: int = 100

    def __post_init__(self) -> None:
        if self.grace < _ZERO:
            raise PolicyError("grace", "must not be negative")
        if not 1 <= self.max_catch_up <= MAX_CATCH_UP:
            raise PolicyError("max_catch_up", f"must be from 1 to {MAX_CATCH_UP}")

    @property
    def late_runs(self) -> int:
        """How many late due times within grace may run, the most recent first."""
        match self.action:
            case MisfireAction.SKIP:
                return 0
            case MisfireAction.RUN_ONCE:
                return 1
            case MisfireAction.RUN_ALL:
                return self.max_catch_up


class Disposition(StrEnum):
    RUN = "run"  # insert a pending run
    SKIP = "skip"  # insert a skipped run with the reason


@dataclass(frozen=True, slots=True)
class DueTime:
    """One due time and what becomes of it.

    ``trigger`` is ``schedule`` for the due time on time and ``misfire`` for every late one,
    run or skipped; ``reason`` is set exactly when the disposition is skip.
    """

    scheduled_for: datetime
    disposition: Disposition
    trigger: Trigger
    reason: SkipReason | None = None

    @property
    def is_run(self) -> bool:
        return self.disposition == Disposition.RUN


@dataclass(frozen=True, slots=True)
class MissedSpan:
    """Due times missed but too many to list: ``count`` of them, ``first_at`` to ``last_at``.

    With ``is_exact`` false, ``count`` is a lower bound: the walk that counted them was capped.
    ``first_at`` and ``last_at`` are exact either way.
    """

    first_at: datetime
    last_at: datetime
    count: int
    is_exact: bool = True


@dataclass(frozen=True, slots=True)
class DuePlan:
    """What a scheduler does with a job's due times in (after, now].

    ``due_times`` lists the most recent of them, oldest first; the older rest, if any, are
    summed up in ``missed_span``, all missed. ``next_due_at`` is the first due time after
    ``now`` (None when the schedule is over); the caller sleeps until then and plans
    (now, next tick's now] next time, so no due time is planned twice or never.
    """

    due_times: tuple[DueTime, ...]
    missed_span: MissedSpan | None
    next_due_at: datetime | None

    @property
    def runs(self) -> tuple[DueTime, ...]:
        return tuple(due for due in self.due_times if due.is_run)

    @property
    def missed_count(self) -> int:
        """Due times skipped as missed: listed ones plus the span (a lower bound if inexact)."""
        listed = sum(1 for due in self.due_times if not due.is_run)
        return listed + (self.missed_span.count if self.missed_span else 0)


def plan_due_times(
    schedule: Schedule,
    after: datetime,
    now: datetime,
    policy: MisfirePolicy,
    *,
    limit: int = DEFAULT_PLAN_LIMIT,
    on_time_tolerance: timedelta = DEFAULT_ON_TIME_TOLERANCE,
) -> DuePlan:
    """Every due time of ``schedule`` in (after, now], each run or skipped as missed.

    The latest due time is on time when ``now - due <= on_time_tolerance``: it runs with
    trigger ``schedule`` whatever the policy. Every other due time is late and follows
    ``policy``. At most ``limit`` due times are listed, the most recent ones (run_all runs
    only listed ones); the rest are summed up in one ``MissedSpan``, counted exactly for
    interval schedules, by a walk capped near ``4 * limit`` steps otherwise. The work is
    bounded by ``limit``, not by the backlog. ``next_due_at`` is computed from ``now``
    directly, never by walking the backlog; with ``now`` before ``after`` nothing is due.
    """
    if limit < 1:
        raise PolicyError("limit", "must be at least 1")
    if on_time_tolerance < _ZERO:
        raise PolicyError("on_time_tolerance", "must not be negative")
    after, now = as_utc(after, "after"), as_utc(now, "now")
    if after < now:
        quick = _at_most_one(schedule, after, now, on_time_tolerance)
        if quick is not None:
            return quick
    recent, span = _backlog(schedule, after, now, limit)
    due_times = _dispose(recent, now, policy, on_time_tolerance)
    return DuePlan(due_times, span, schedule.next_after(max(after, now)))


def _at_most_one(
    schedule: Schedule, after: datetime, now: datetime, tolerance: timedelta
) -> DuePlan | None:
    """The plan when (after, now] holds no due time, or one that is on time: a scheduler's
    every tick but the first after downtime. Two next-due computations answer it, where the
    walk takes three; None when the walk is needed.

    The next due time after ``now`` is the one after the last due time at or before it
    (``after`` when there is none): no due time lies between them.
    """
    first = schedule.next_after(after)
    if first is None or first > now:
        return DuePlan((), None, first)
    if now - first > tolerance:
        return None  # late: the misfire policy decides
    second = schedule.next_after(first)
    if second is not None and second <= now:
        return None
    return DuePlan((DueTime(first, Disposition.RUN, Trigger.SCHEDULE),), None, second)


def _dispose(
    recent: Sequence[datetime], now: datetime, policy: MisfirePolicy, tolerance: timedelta
) -> tuple[DueTime, ...]:
    """Decide each listed due time (ascending): the on-time one runs, late ones by policy."""
    is_on_time = bool(recent) and now - recent[-1] <= tolerance
    late = recent[:-1] if is_on_time else recent
    within = next((i for i, due in enumerate(late) if now - due <= policy.grace), len(late))
    runs_from = max(within, len(late) - policy.late_runs)
    planned = [
        DueTime(due, Disposition.RUN, Trigger.MISFIRE)
        if i >= runs_from
        else DueTime(due, Disposition.SKIP, Trigger.MISFIRE, SkipReason.MISSED)
        for i, due in enumerate(late)
    ]
    if is_on_time:
        planned.append(DueTime(recent[-1], Disposition.RUN, Trigger.SCHEDULE))
    return tuple(planned)


_Backlog = tuple[tuple[datetime, ...], MissedSpan | None]


def _backlog(schedule: Schedule, after: datetime, now: datetime, limit: int) -> _Backlog:
    """The last ``limit`` due times in (after, now], and a span for the ones before them."""
    if now <= after:
        return (), None
    if isinstance(schedule, IntervalSchedule):
        return _interval_backlog(schedule, after, now, limit)
    forward = _Tally(limit + 1)
    if forward.walk(schedule, after, now, _WALK_FACTOR * limit):
        return _split(forward.tail, forward.first_at, forward.count, limit, is_exact=True)
    return _probe(schedule, forward, now, limit)


# --- interval arithmetic ---------------------------------------------------------------------


def count_interval_due_times(schedule: IntervalSchedule, after: datetime, until: datetime) -> int:
    """How many due times ``schedule`` has in (after, until], by arithmetic alone."""
    first, last = _interval_indexes(schedule, as_utc(after, "after"), as_utc(until, "until"))
    return max(0, last - first + 1)


def _interval_indexes(
    schedule: IntervalSchedule, after: datetime, until: datetime
) -> tuple[int, int]:
    """The indexes k of the first due time after ``after`` and the last at or before ``until``.

    Due time k is ``anchor + offset + k * every`` for k >= 0, up to the window's end: the
    instants ``IntervalSchedule.next_after`` answers with, jitter offset included.
    """
    base = _interval_base(schedule)
    end = schedule.window.end
    until = until if end is None else min(until, end)
    first = 0 if after < base else (after - base) // schedule.every + 1
    return first, (until - base) // schedule.every


def _interval_base(schedule: IntervalSchedule) -> datetime:
    return schedule.anchor + schedule.window.offset


def _interval_backlog(
    schedule: IntervalSchedule, after: datetime, now: datetime, limit: int
) -> _Backlog:
    first, last = _interval_indexes(schedule, after, now)
    if last < first:
        return (), None
    listed_from = max(first, last - limit + 1)
    base = _interval_base(schedule)
    recent = tuple(base + schedule.every * k for k in range(listed_from, last + 1))
    if listed_from == first:
        return recent, None
    before = base + schedule.every * (listed_from - 1)
    return recent, MissedSpan(base + schedule.every * first, before, listed_from - first)


# --- walking other schedules -----------------------------------------------------------------


class _Tally:
    """What a forward walk over due times saw: how many, the first, and the last ``keep``."""

    __slots__ = ("count", "first_at", "tail")

    def __init__(self, keep: int) -> None:
        self.count = 0
        self.first_at: datetime | None = None
        self.tail: deque[datetime] = deque(maxlen=keep)

    def walk(self, schedule: Schedule, start: datetime, until: datetime, budget: int) -> bool:
        """Take in the due times in (start, until], at most ``budget``; True if none is left."""
        instant, taken = start, 0
        while (due := schedule.next_after(instant)) is not None and due <= until:
            if taken == budget:
                return False
            self.first_at = self.first_at or due
            self.count += 1
            self.tail.append(due)
            instant, taken = due, taken + 1
        return True

    def absorb(self, later: _Tally) -> None:
        """Append the walk that started where this one stopped."""
        self.count += later.count
        self.tail.extend(later.tail)


def _split(
    tail: Sequence[datetime], first_at: datetime | None, count: int, limit: int, *, is_exact: bool
) -> _Backlog:
    """The last ``limit`` due times of ``tail``, and a span from ``first_at`` for the other
    ``count - limit``; ``tail`` holds ``limit + 1`` due times whenever ``count > limit``."""
    if count <= limit or first_at is None:
        return tuple(tail), None
    return tuple(tail)[-limit:], MissedSpan(first_at, tail[-limit - 1], count - limit, is_exact)


def _probe(schedule: Schedule, forward: _Tally, now: datetime, limit: int) -> _Backlog:
    """The last ``limit`` due times up to ``now``, once a forward walk ran out of budget.

    Walks windows (now - reach, now] that start where the forward walk stopped or later:
    ``reach`` doubles while a window holds too few due times and is bisected once one holds
    too many to walk. Due times are distinct microseconds, so a window holding from
    ``limit + 1`` to ``budget`` of them exists and is found. Due times between the forward
    walk and that window go uncounted, so then the span's count is a lower bound.
    """
    budget = _WALK_FACTOR * limit
    stop, low, high = forward.tail[-1], _ZERO, None
    reach = _first_reach(forward, limit, budget)
    for _ in range(_MAX_PROBES):
        reach = min(reach, now - stop)
        window = _Tally(limit + 1)
        is_complete = window.walk(schedule, now - reach, now, budget)
        if is_complete and now - reach == stop:
            forward.absorb(window)
            return _split(forward.tail, forward.first_at, forward.count, limit, is_exact=True)
        if is_complete and window.count > limit:
            count = forward.count + window.count
            return _split(window.tail, forward.first_at, count, limit, is_exact=False)
        low, high = (reach, high) if is_complete else (low, reach)
        reach = reach * 2 if high is None else (low + high) / 2
    raise AssertionError("the probe converges in fewer steps")  # pragma: no cover


def _first_reach(forward: _Tally, limit: int, budget: int) -> timedelta:
    """A window length expected to hold about ``2 * limit`` due times, at the walked density."""
    assert forward.first_at is not None
    walked = forward.tail[-1] - forward.first_at
    return max(walked * (2 * limit) / budget, _MICROSECOND)
