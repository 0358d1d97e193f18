"""The engine's pure decisions: retry backoff, overlap, misfire plans and priorities.

Misfire plans are checked against brute-force enumeration of ``next_after`` over real
schedules; long backlogs are checked for bounded work by counting ``next_after`` calls.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cronwell.policies
from cronwell.lifecycle import AttemptStatus, RunStatus, SkipReason, Trigger
from cronwell.policies import (
    ActiveRun,
    Disposition,
    DuePlan,
    DueTime,
    MisfireAction,
    MisfirePolicy,
    MissedSpan,
    OverlapAction,
    OverlapDecision,
    OverlapPolicy,
    Overlaps,
    PolicyError,
    Priority,
    RetryPolicy,
    RetryStrategy,
    count_interval_due_times,
    decide_overlap,
    next_retry,
    plan_due_times,
    retry_delay,
    settle,
)
from cronwell.schedules import IntervalSchedule, Schedule, parse_schedule

MICROSECOND = timedelta(microseconds=1)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(weeks=1)
FAILED_AT = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")


def at(hour: int, minute: int = 0, second: int = 0, microsecond: int = 0) -> datetime:
    return datetime(2026, 5, 4, hour, minute, second, microsecond, tzinfo=UTC)


def brute_force(schedule: Schedule, after: datetime, until: datetime) -> list[datetime]:
    found: list[datetime] = []
    instant = after
    while (due := schedule.next_after(instant)) is not None and due <= until:
        found.append(due)
        instant = due
    return found


@dataclass
class CountingSchedule:
    """A schedule that counts the ``next_after`` calls made on it."""

    inner: Schedule
    calls: int = 0

    @property
    def timezone(self) -> ZoneInfo:
        return self.inner.timezone

    def next_after(self, instant: datetime) -> datetime | None:
        self.calls += 1
        return self.inner.next_after(instant)

    def describe(self) -> str:
        return self.inner.describe()


@dataclass(frozen=True)
class ListedSchedule:
    """A schedule due at exactly the listed instants (ascending), to shape a backlog."""

    dues: tuple[datetime, ...]
    timezone: ZoneInfo = UTC_ZONE

    def next_after(self, instant: datetime) -> datetime | None:
        index = bisect_right(self.dues, instant)
        return self.dues[index] if index < len(self.dues) else None

    def describe(self) -> str:
        return f"At {len(self.dues)} listed instants"


def test_policies_exports() -> None:
    assert set(cronwell.policies.__all__) == {
        "ACTIVE_STATUSES",
        "DEFAULT_ON_TIME_TOLERANCE",
        "DEFAULT_PLAN_LIMIT",
        "MAX_CATCH_UP",
        "ActiveRun",
        "Disposition",
        "DuePlan",
        "DueTime",
        "MisfireAction",
        "MisfirePolicy",
        "MissedSpan",
        "OverlapAction",
        "OverlapDecision",
        "OverlapPolicy",
        "Overlaps",
        "PolicyError",
        "Priority",
        "RetryPolicy",
        "RetryStrategy",
        "Settlement",
        "count_interval_due_times",
        "decide_overlap",
        "next_retry",
        "plan_due_times",
        "retry_delay",
        "settle",
    }
    for name in cronwell.policies.__all__:
        assert hasattr(cronwell.policies, name)


# --- priorities ------------------------------------------------------------------------------


def test_a_smaller_priority_is_claimed_first() -> None:
    assert sorted(Priority, key=int) == [
        Priority.CRITICAL,
        Priority.HIGH,
        Priority.NORMAL,
        Priority.LOW,
        Priority.BACKGROUND,
    ]
    assert [int(priority) for priority in Priority] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("critical", Priority.CRITICAL),
        ("HIGH", Priority.HIGH),
        (" Background ", Priority.BACKGROUND),
    ],
)
def test_priorities_parse_from_names_in_any_case(name: str, expected: Priority) -> None:
    assert Priority.parse(name) is expected


@pytest.mark.parametrize("name", ["urgent", "", "2"])
def test_an_unknown_priority_names_the_choices(name: str) -> None:
    with pytest.raises(ValueError, match=r"^priority: .* is not one of critical, high, normal"):
        Priority.parse(name)


# --- retries ---------------------------------------------------------------------------------


def policy(**changes: Any) -> RetryPolicy:
    """A retry policy without jitter unless asked, so waits are exact."""
    return RetryPolicy(**{"jitter": 0.0, **changes})


def test_retry_defaults() -> None:
    default = RetryPolicy()
    assert default.strategy is RetryStrategy.EXPONENTIAL
    assert default.max_attempts == 3
    assert (default.initial_delay, default.max_delay) == (10 * SECOND, HOUR)
    assert (default.multiplier, default.jitter) == (2.0, 0.1)


def test_strategy_none_means_one_attempt() -> None:
    assert RetryPolicy(strategy=RetryStrategy.NONE, max_attempts=5).max_attempts == 1
    assert next_retry(RetryPolicy(strategy=RetryStrategy.NONE), 1, FAILED_AT, 0.0) is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_attempts": 0}, "max_attempts: must be at least 1"),
        ({"initial_delay": -SECOND}, "initial_delay: must not be negative"),
        ({"max_delay": 5 * SECOND}, "max_delay: must be at least initial_delay"),
        ({"multiplier": 0.5}, "multiplier: must be a finite number, at least 1"),
        ({"multiplier": float("inf")}, "multiplier: "),
        ({"multiplier": float("nan")}, "multiplier: "),
        ({"jitter": -0.1}, "jitter: must be a fraction from 0 to 1"),
        ({"jitter": 1.5}, "jitter: "),
    ],
)
def test_a_bad_retry_policy_names_the_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=rf"^{message}") as caught:
        RetryPolicy(**changes)
    assert caught.value.field == message.split(":", maxsplit=1)[0]


@pytest.mark.parametrize(
    ("strategy", "waits"),
    [
        (RetryStrategy.EXPONENTIAL, [10, 20, 40, 80, 160]),
        (RetryStrategy.LINEAR, [10, 20, 30, 40, 50]),
        (RetryStrategy.FIXED, [10, 10, 10, 10, 10]),
        (RetryStrategy.IMMEDIATE, [0, 0, 0, 0, 0]),
    ],
)
def test_each_strategy_waits_its_way(strategy: RetryStrategy, waits: list[int]) -> None:
    retry = policy(strategy=strategy, max_attempts=6)
    got = [next_retry(retry, attempt, FAILED_AT, 0.0) for attempt in range(1, 6)]
    assert got == [FAILED_AT + wait * SECOND for wait in waits]


def test_the_last_attempt_leaves_the_run_dead() -> None:
    retry = policy(max_attempts=3)
    assert next_retry(retry, 2, FAILED_AT, 0.0) == FAILED_AT + 20 * SECOND
    assert next_retry(retry, 3, FAILED_AT, 0.0) is None
    assert next_retry(policy(max_attempts=1), 1, FAILED_AT, 0.0) is None


def test_waits_are_capped_at_max_delay() -> None:
    retry = policy(max_attempts=100, max_delay=5 * MINUTE)
    assert retry_delay(retry, 5, 0.0) == 160 * SECOND
    assert retry_delay(retry, 6, 0.0) == 5 * MINUTE
    assert retry_delay(retry, 99, 0.0) == 5 * MINUTE
    linear = policy(strategy=RetryStrategy.LINEAR, max_delay=MINUTE)
    assert retry_delay(linear, 10**400, 0.0) == MINUTE


@pytest.mark.parametrize(
    ("multiplier", "attempt"), [(1e300, 3), (1e300, 10**9), (2.0, 10**18), (1.0000001, 10**15)]
)
def test_huge_growth_is_capped_not_overflowed(multiplier: float, attempt: int) -> None:
    retry = policy(multiplier=multiplier, max_attempts=10**19)
    assert retry_delay(retry, attempt, 0.0) == HOUR
    assert next_retry(retry, attempt, FAILED_AT, 0.5) == FAILED_AT + HOUR


def test_a_zero_initial_delay_never_grows() -> None:
    retry = policy(initial_delay=timedelta(0), multiplier=1e300, max_attempts=10)
    assert retry_delay(retry, 9, 0.0) == timedelta(0)


def test_jitter_only_shortens_the_wait() -> None:
    retry = policy(jitter=0.1, max_attempts=10)
    assert retry_delay(retry, 1, 0.0) == 10 * SECOND
    assert retry_delay(retry, 1, 0.999) == timedelta(seconds=9, microseconds=1000)
    assert retry_delay(retry, 20, 0.0) == HOUR
    assert retry_delay(retry, 20, 0.999) == HOUR * (1 - 0.0999)
    full = policy(jitter=1.0)
    assert retry_delay(full, 1, 0.999) == timedelta(milliseconds=10)


@pytest.mark.parametrize("rand", [-0.1, 1.0, float("nan")])
def test_rand_must_lie_in_the_unit_interval(rand: float) -> None:
    with pytest.raises(PolicyError, match=r"^rand: must be in \[0, 1\)"):
        next_retry(RetryPolicy(), 1, FAILED_AT, rand)


def test_attempts_count_from_one() -> None:
    with pytest.raises(PolicyError, match=r"^failed_attempt: must be at least 1"):
        retry_delay(RetryPolicy(), 0, 0.0)


def test_retries_are_timed_in_absolute_time_and_answered_in_utc() -> None:
    new_york = ZoneInfo("America/New_York")
    failed_at = datetime(2026, 3, 8, 1, 59, 50, tzinfo=new_york)  # ten seconds before the gap
    retry = policy(strategy=RetryStrategy.FIXED, initial_delay=HOUR)
    answer = next_retry(retry, 1, failed_at, 0.0)
    assert answer == datetime(2026, 3, 8, 7, 59, 50, tzinfo=UTC)
    assert answer is not None and answer.tzinfo is UTC
    with pytest.raises(PolicyError, match=r"^failed_at: must be timezone-aware"):
        next_retry(retry, 1, datetime(2026, 3, 8), 0.0)


@st.composite
def retry_policies(draw: st.DrawFn) -> RetryPolicy:
    initial_delay = draw(st.timedeltas(timedelta(0), DAY))
    return RetryPolicy(
        strategy=draw(st.sampled_from(RetryStrategy)),
        max_attempts=draw(st.integers(1, 10**6)),
        initial_delay=initial_delay,
        max_delay=initial_delay + draw(st.timedeltas(timedelta(0), 30 * DAY)),
        multiplier=draw(st.floats(1.0, 1e300)),
        jitter=draw(st.floats(0.0, 1.0)),
    )


rands = st.floats(0.0, 1.0, exclude_max=True)


@given(retry_policies(), st.integers(1, 10**30), rands)
def test_a_wait_is_never_negative_nor_past_max_delay(
    retry: RetryPolicy, attempt: int, rand: float
) -> None:
    assert timedelta(0) <= retry_delay(retry, attempt, rand) <= retry.max_delay


@given(retry_policies(), st.integers(1, 200), rands, rands)
def test_more_jitter_never_lengthens_a_wait(
    retry: RetryPolicy, attempt: int, rand: float, other: float
) -> None:
    low, high = sorted((rand, other))
    assert retry_delay(retry, attempt, high) <= retry_delay(retry, attempt, low)


@given(retry_policies(), st.integers(1, 200), rands)
def test_a_retry_is_due_exactly_while_attempts_remain(
    retry: RetryPolicy, attempt: int, rand: float
) -> None:
    answer = next_retry(retry, attempt, FAILED_AT, rand)
    if attempt >= retry.max_attempts:
        assert answer is None
    else:
        assert answer == FAILED_AT + retry_delay(retry, attempt, rand)


# --- overlap ---------------------------------------------------------------------------------

START = OverlapDecision(OverlapAction.START)
WAIT = OverlapDecision(OverlapAction.WAIT)
SKIP_OVERLAP = OverlapDecision(OverlapAction.SKIP, SkipReason.OVERLAP)
SKIP_QUEUE_FULL = OverlapDecision(OverlapAction.SKIP, SkipReason.OVERLAP_QUEUE_FULL)
RUNNING = ActiveRun(7, "running")
PENDING = ActiveRun(9, "pending")
RETRYING = ActiveRun(3, "retrying")


@pytest.mark.parametrize("overlap", list(OverlapPolicy))
def test_with_nothing_active_every_policy_starts(overlap: OverlapPolicy) -> None:
    assert decide_overlap(overlap, []) == START


@pytest.mark.parametrize(
    ("overlap", "active", "expected"),
    [
        (OverlapPolicy.ALLOW, [RUNNING, PENDING], START),
        (OverlapPolicy.FORBID, [RUNNING], SKIP_OVERLAP),
        (OverlapPolicy.FORBID, [RETRYING], SKIP_OVERLAP),
        (OverlapPolicy.FORBID, [PENDING], SKIP_OVERLAP),
        (OverlapPolicy.QUEUE, [RUNNING], WAIT),
        (OverlapPolicy.QUEUE, [RETRYING], WAIT),
        (OverlapPolicy.QUEUE, [RUNNING, PENDING], SKIP_QUEUE_FULL),
        (OverlapPolicy.QUEUE, [RUNNING, RUNNING], WAIT),
        (
            OverlapPolicy.REPLACE,
            [PENDING, RUNNING, RETRYING],
            OverlapDecision(OverlapAction.REPLACE, cancel_run_ids=(3, 7, 9)),
        ),
    ],
)
def test_overlap_decisions(
    overlap: OverlapPolicy, active: list[ActiveRun], expected: OverlapDecision
) -> None:
    assert decide_overlap(overlap, active) == expected


@pytest.mark.parametrize(
    ("overlap", "active", "statuses", "cancel"),
    [
        (OverlapPolicy.ALLOW, [RUNNING], ["pending", "pending"], []),
        (OverlapPolicy.FORBID, [], ["pending", "skipped", "skipped"], []),
        (OverlapPolicy.QUEUE, [], ["pending", "waiting", "skipped"], []),
        (OverlapPolicy.QUEUE, [RUNNING], ["waiting", "skipped"], []),
        (OverlapPolicy.REPLACE, [RUNNING, PENDING], ["pending", "pending"], [7, 9]),
    ],
)
def test_runs_decided_one_after_another_see_the_ones_before(
    overlap: OverlapPolicy, active: list[ActiveRun], statuses: list[str], cancel: list[int]
) -> None:
    overlaps = Overlaps(overlap, active)
    assert [overlaps.decide()[1] for _ in statuses] == statuses
    assert overlaps.cancel == cancel, "only stored runs are cancelled; new ones have no id"


def test_an_active_run_is_pending_running_or_retrying() -> None:
    with pytest.raises(PolicyError, match=r"^status: 'succeeded' is not pending, running or"):
        ActiveRun(1, "succeeded")


@pytest.mark.parametrize(
    ("action", "reason", "run_ids", "field"),
    [
        (OverlapAction.SKIP, None, (), "reason"),
        (OverlapAction.START, SkipReason.OVERLAP, (), "reason"),
        (OverlapAction.REPLACE, None, (), "cancel_run_ids"),
        (OverlapAction.WAIT, None, (1,), "cancel_run_ids"),
    ],
)
def test_a_decision_carries_exactly_what_its_action_needs(
    action: OverlapAction, reason: SkipReason | None, run_ids: tuple[int, ...], field: str
) -> None:
    with pytest.raises(PolicyError, match=rf"^{field}: "):
        OverlapDecision(action, reason, run_ids)


# --- misfire plans: examples -----------------------------------------------------------------

QUARTERLY = parse_schedule("*/15 * * * *")
AFTER = at(8)  # the last due time the scheduler handled
LATE = [at(8, 15), at(8, 30), at(8, 45), at(9), at(9, 15), at(9, 30), at(9, 45)]


def run(due: datetime, trigger: Trigger = Trigger.MISFIRE) -> DueTime:
    return DueTime(due, Disposition.RUN, trigger)


def missed(due: datetime) -> DueTime:
    return DueTime(due, Disposition.SKIP, Trigger.MISFIRE, SkipReason.MISSED)


def on_time(due: datetime) -> DueTime:
    return run(due, Trigger.SCHEDULE)


def test_misfire_defaults() -> None:
    default = MisfirePolicy()
    assert (default.action, default.grace, default.max_catch_up) == (
        MisfireAction.RUN_ONCE,
        DAY,
        100,
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"grace": -SECOND}, "grace: must not be negative"),
        ({"max_catch_up": 0}, "max_catch_up: must be from 1 to 1000"),
        ({"max_catch_up": 1001}, "max_catch_up: "),
    ],
)
def test_a_bad_misfire_policy_names_the_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=rf"^{message}"):
        MisfirePolicy(**changes)


def test_a_tick_on_time_runs_the_due_time_and_nothing_else() -> None:
    plan = plan_due_times(QUARTERLY, at(9, 45), at(10, 0, 0, 3000), MisfirePolicy())
    assert plan == DuePlan((on_time(at(10)),), None, at(10, 15))
    assert plan.missed_count == 0


def test_run_once_runs_the_latest_late_one_and_skips_the_rest() -> None:
    plan = plan_due_times(QUARTERLY, AFTER, at(10, 0, 2), MisfirePolicy())
    assert plan.due_times == (*map(missed, LATE[:-1]), run(LATE[-1]), on_time(at(10)))
    assert plan.missed_span is None
    assert plan.next_due_at == at(10, 15)
    assert plan.missed_count == 6
    assert plan.runs == (run(at(9, 45)), on_time(at(10)))


def test_run_all_runs_every_late_one() -> None:
    plan = plan_due_times(QUARTERLY, AFTER, at(10, 0, 2), MisfirePolicy(MisfireAction.RUN_ALL))
    assert plan.due_times == (*map(run, LATE), on_time(at(10)))


def test_run_all_catches_up_at_most_max_catch_up_most_recent() -> None:
    catch_up_3 = MisfirePolicy(MisfireAction.RUN_ALL, max_catch_up=3)
    plan = plan_due_times(QUARTERLY, AFTER, at(10, 0, 2), catch_up_3)
    assert plan.due_times == (*map(missed, LATE[:4]), *map(run, LATE[4:]), on_time(at(10)))


def test_skip_skips_every_late_one_but_not_the_one_on_time() -> None:
    plan = plan_due_times(QUARTERLY, AFTER, at(10, 0, 2), MisfirePolicy(MisfireAction.SKIP))
    assert plan.due_times == (*map(missed, LATE), on_time(at(10)))


def test_a_due_time_older_than_grace_is_missed_whatever_the_action() -> None:
    within_hour = MisfirePolicy(MisfireAction.RUN_ALL, grace=HOUR)
    plan = plan_due_times(QUARTERLY, AFTER, at(10), within_hour)
    assert plan.due_times == (*map(missed, LATE[:3]), *map(run, LATE[3:]), on_time(at(10)))
    none_late = MisfirePolicy(MisfireAction.RUN_ALL, grace=timedelta(0))
    plan = plan_due_times(QUARTERLY, AFTER, at(10, 0, 1), none_late)
    assert plan.due_times == (*map(missed, LATE), on_time(at(10)))


def test_past_the_tolerance_the_latest_due_time_is_late_too() -> None:
    plan = plan_due_times(QUARTERLY, AFTER, at(10, 0, 6), MisfirePolicy())
    assert plan.due_times == (*map(missed, LATE), run(at(10)))
    tolerant = plan_due_times(
        QUARTERLY, AFTER, at(10, 0, 6), MisfirePolicy(), on_time_tolerance=10 * SECOND
    )
    assert tolerant.due_times[-2:] == (run(at(9, 45)), on_time(at(10)))
    strict = plan_due_times(
        QUARTERLY, at(9, 50), at(10, 0, 0, 1), MisfirePolicy(), on_time_tolerance=timedelta(0)
    )
    assert strict.due_times == (run(at(10)),)


def test_between_due_times_nothing_is_due() -> None:
    plan = plan_due_times(QUARTERLY, at(10, 1), at(10, 14, 59), MisfirePolicy())
    assert plan == DuePlan((), None, at(10, 15))


def test_now_at_or_before_after_plans_nothing() -> None:
    assert plan_due_times(QUARTERLY, at(10), at(10), MisfirePolicy()).due_times == ()
    backwards = plan_due_times(QUARTERLY, at(10, 20), at(10, 5), MisfirePolicy())
    assert backwards == DuePlan((), None, at(10, 30))  # never a due time already planned


@pytest.mark.parametrize("spec", ["manual", "event deploy", "once 2026-05-04T06:00"])
def test_a_schedule_that_is_over_has_no_next_due_time(spec: str) -> None:
    plan = plan_due_times(parse_schedule(spec), at(7), at(9), MisfirePolicy())
    assert plan == DuePlan((), None, None)


def test_a_late_once_schedule_runs_once_as_a_misfire() -> None:
    once = parse_schedule("once 2026-05-04T08:30")
    plan = plan_due_times(once, at(7), at(9), MisfirePolicy())
    assert plan == DuePlan((run(at(8, 30)),), None, None)


def test_plan_input_is_checked() -> None:
    with pytest.raises(PolicyError, match=r"^limit: must be at least 1"):
        plan_due_times(QUARTERLY, AFTER, at(10), MisfirePolicy(), limit=0)
    with pytest.raises(PolicyError, match=r"^on_time_tolerance: must not be negative"):
        plan_due_times(QUARTERLY, AFTER, at(10), MisfirePolicy(), on_time_tolerance=-SECOND)
    with pytest.raises(PolicyError, match=r"^now: must be timezone-aware"):
        plan_due_times(QUARTERLY, AFTER, datetime(2026, 5, 4, 10), MisfirePolicy())


def test_an_hourly_wall_clock_job_misses_both_passes_of_a_repeated_hour() -> None:
    hourly = parse_schedule("0 * * * *", timezone="America/New_York")
    after = datetime(2026, 11, 1, 3, 30, tzinfo=UTC)  # 23:30 EDT, before the fall-back night
    now = datetime(2026, 11, 1, 8, 0, 1, tzinfo=UTC)  # 03:00:01 EST
    plan = plan_due_times(hourly, after, now, MisfirePolicy(MisfireAction.SKIP))
    instants = [due.scheduled_for for due in plan.due_times]
    assert instants == [datetime(2026, 11, 1, hour, tzinfo=UTC) for hour in range(4, 9)]
    assert [due.disposition for due in plan.due_times] == [Disposition.SKIP] * 4 + [Disposition.RUN]
    assert plan.next_due_at == datetime(2026, 11, 1, 9, tzinfo=UTC)


def test_a_fixed_time_job_in_a_spring_forward_gap_is_due_at_the_transition() -> None:
    nightly = parse_schedule("30 2 * * *", timezone="America/New_York")
    after = datetime(2026, 3, 7, 12, tzinfo=UTC)
    now = datetime(2026, 3, 9, 12, tzinfo=UTC)
    plan = plan_due_times(nightly, after, now, MisfirePolicy())
    transition = datetime(2026, 3, 8, 7, tzinfo=UTC)  # 03:00 EDT: 02:30 does not exist
    assert plan.due_times == (missed(transition), run(datetime(2026, 3, 9, 6, 30, tzinfo=UTC)))
    assert plan.next_due_at == datetime(2026, 3, 10, 6, 30, tzinfo=UTC)


# --- misfire plans: long backlogs ------------------------------------------------------------

WEEK_END = datetime(2026, 3, 10, 12, 0, 0, 400_000, tzinfo=UTC)
WEEK_START = WEEK_END - WEEK


def test_a_week_down_for_a_one_second_interval_is_counted_exactly_and_quickly() -> None:
    every_second = parse_schedule("every 1s")
    plan = plan_due_times(every_second, WEEK_START, WEEK_END, MisfirePolicy(), limit=1000)
    last = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert len(plan.due_times) == 1000
    assert plan.due_times[0].scheduled_for == last - 999 * SECOND
    assert plan.runs == (run(last - SECOND), on_time(last))
    first = datetime(2026, 3, 3, 12, 0, 1, tzinfo=UTC)
    assert plan.missed_span == MissedSpan(first, last - 1000 * SECOND, 604_800 - 1000, True)
    assert plan.missed_count == 604_800 - 2
    assert plan.next_due_at == last + SECOND


def test_a_week_down_for_a_one_second_cron_job_is_bounded_by_the_limit() -> None:
    every_second = CountingSchedule(parse_schedule("* * * * * *"))
    plan = plan_due_times(every_second, WEEK_START, WEEK_END, MisfirePolicy(), limit=200)
    assert every_second.calls <= 16 * 200
    last = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert [due.scheduled_for for due in plan.due_times] == [
        last - k * SECOND for k in range(199, -1, -1)
    ]
    assert plan.runs == (run(last - SECOND), on_time(last))
    span = plan.missed_span
    assert span is not None and not span.is_exact
    assert (span.first_at, span.last_at) == (
        WEEK_START.replace(microsecond=0) + SECOND,
        last - 200 * SECOND,
    )
    assert 4 * 200 <= span.count <= 604_800 - 200
    assert plan.next_due_at == last + SECOND


def test_a_backlog_within_the_walk_budget_is_counted_exactly() -> None:
    every_minute = CountingSchedule(parse_schedule("* * * * *"))
    plan = plan_due_times(every_minute, at(0), at(1, 0, 0, 5), MisfirePolicy(), limit=20)
    assert every_minute.calls <= 4 * 20 + 2
    assert plan.missed_span == MissedSpan(at(0, 1), at(0, 40), 40, True)
    assert [due.scheduled_for for due in plan.due_times] == [at(0, m) for m in range(41, 60)] + [
        at(1)
    ]


@pytest.mark.parametrize("spec", ["* 0 1 * *", "* * 0 1 * *", "*/10 9-17 * * mon-fri"])
def test_a_bursty_backlog_still_lists_the_most_recent_due_times(spec: str) -> None:
    """Bursts (every second of the first hour of each month) make the walked density lie."""
    schedule = parse_schedule(spec, timezone="Europe/London")
    after = datetime(2026, 1, 1, tzinfo=UTC)
    now = datetime(2026, 4, 15, 9, 30, tzinfo=UTC)
    counted = CountingSchedule(schedule)
    plan = plan_due_times(counted, after, now, MisfirePolicy(), limit=5)
    assert counted.calls <= 5_000
    expected = brute_force(schedule, after, now)
    assert [due.scheduled_for for due in plan.due_times] == expected[-5:]
    assert plan.missed_span is not None
    assert (plan.missed_span.first_at, plan.missed_span.last_at) == (expected[0], expected[-6])
    assert plan.missed_span.count <= len(expected) - 5


def test_a_window_short_of_the_limit_is_widened_until_it_holds_more() -> None:
    """A dense start, a burst in the middle, and exactly ``limit`` due times near ``now``."""
    origin = datetime(2026, 5, 4, tzinfo=UTC)
    seconds = [*range(1, 21), *range(500, 521), *range(991, 996)]
    listed = ListedSchedule(tuple(origin + s * SECOND for s in seconds))
    counted = CountingSchedule(listed)
    plan = plan_due_times(counted, origin, origin + 1000 * SECOND, MisfirePolicy(), limit=5)
    assert counted.calls <= 500
    assert [due.scheduled_for for due in plan.due_times] == list(listed.dues[-5:])
    assert plan.missed_span is not None
    assert plan.missed_span.first_at == listed.dues[0]
    assert plan.missed_span.last_at == origin + 520 * SECOND
    assert 20 <= plan.missed_span.count <= 41


# --- misfire plans: properties ---------------------------------------------------------------

SPECS: tuple[str | Mapping[str, object], ...] = (
    "*/5 * * * *",
    "0 * * * *",
    "30 1 * * *",
    "30 2 * * *",
    "*/20 * * * * *",
    "*/7 0-3 * * *",
    "every 7m",
    "every 90s",
    "daily 01:30,02:15",
    "weekly sun 02:30",
    {"every": "13m", "start": "2026-03-08T01:00", "end": "2026-03-08T03:00"},
    {"every": "45s", "jitter": "2m"},
    {"cron": "*/10 * * * *", "jitter": "3m", "end": "2026-11-01T03:00"},
)
ZONES = ("UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe")
# Days of clock changes in those zones, where plans are most likely to go wrong.
DAYS = (
    datetime(2026, 3, 8, tzinfo=UTC),
    datetime(2026, 3, 29, tzinfo=UTC),
    datetime(2026, 4, 4, 12, tzinfo=UTC),
    datetime(2026, 10, 25, tzinfo=UTC),
    datetime(2026, 11, 1, tzinfo=UTC),
    datetime(2026, 6, 1, tzinfo=UTC),
)

schedules = st.builds(
    lambda spec, zone: parse_schedule(spec, timezone=zone, key="nightly-report"),
    st.sampled_from(SPECS),
    st.sampled_from(ZONES),
)


def durations(max_minutes: int) -> st.SearchStrategy[timedelta]:
    """Durations spread over the range (hypothesis would lean hard toward zero)."""
    return st.builds(
        lambda minutes, seconds, micros: minutes * MINUTE + seconds * SECOND + micros * MICROSECOND,
        st.sampled_from(range(max_minutes + 1)),
        st.sampled_from(range(60)),
        st.sampled_from([0, 1, 400_000, 999_999]),
    )


instants = st.builds(lambda day, offset: day - DAY + offset, st.sampled_from(DAYS), durations(2880))


spans = st.one_of(durations(10), durations(180))
misfire_policies = st.builds(
    MisfirePolicy,
    action=st.sampled_from(MisfireAction),
    grace=st.sampled_from([timedelta(0), 10 * MINUTE, HOUR, DAY]),
    max_catch_up=st.integers(1, 5),
)
limits = st.one_of(st.integers(1, 4), st.integers(1, 20), st.just(1000))
tolerances = st.sampled_from([timedelta(0), 5 * SECOND, 10 * MINUTE])


@dataclass(frozen=True)
class PlanCase:
    """One call of ``plan_due_times`` and the brute-force answer to check it against."""

    schedule: Schedule
    after: datetime
    now: datetime
    misfire: MisfirePolicy
    limit: int
    tolerance: timedelta

    def plan(self) -> DuePlan:
        return plan_due_times(
            self.schedule,
            self.after,
            self.now,
            self.misfire,
            limit=self.limit,
            on_time_tolerance=self.tolerance,
        )

    def expected(self) -> list[datetime]:
        return brute_force(self.schedule, self.after, self.now)


plan_cases = st.builds(
    lambda schedule, after, length, misfire, limit, tolerance: PlanCase(
        schedule, after, after + length, misfire, limit, tolerance
    ),
    schedules,
    instants,
    spans,
    misfire_policies,
    limits,
    tolerances,
)


@settings(max_examples=150)
@given(plan_cases)
def test_a_plan_accounts_for_every_due_time_in_its_range(case: PlanCase) -> None:
    plan, expected = case.plan(), case.expected()
    listed = [due.scheduled_for for due in plan.due_times]
    assert listed == expected[len(expected) - len(listed) :]
    assert len(listed) == min(case.limit, len(expected))
    assert all(case.after < instant <= case.now for instant in listed)
    span = plan.missed_span
    if span is None:
        assert len(listed) == len(expected)
    else:
        assert (span.first_at, span.last_at) == (expected[0], expected[-len(listed) - 1])
        unlisted = len(expected) - len(listed)
        assert span.count == unlisted if span.is_exact else 1 <= span.count <= unlisted
        if isinstance(case.schedule, IntervalSchedule) or len(expected) <= 4 * case.limit:
            assert span.is_exact
    assert plan.next_due_at == case.schedule.next_after(case.now)
    assert plan.next_due_at is None or plan.next_due_at > case.now


@settings(max_examples=150)
@given(plan_cases)
def test_a_plan_runs_what_its_policy_says(case: PlanCase) -> None:
    plan, now, grace = case.plan(), case.now, case.misfire.grace
    for due in plan.due_times:
        assert (due.reason is SkipReason.MISSED) == (due.disposition is Disposition.SKIP)
        if due.trigger is Trigger.MISFIRE and due.is_run:
            assert now - due.scheduled_for <= grace
    on_time = [due for due in plan.due_times if due.trigger is Trigger.SCHEDULE]
    is_latest_on_time = bool(plan.due_times) and (
        now - plan.due_times[-1].scheduled_for <= case.tolerance
    )
    assert on_time == ([plan.due_times[-1]] if is_latest_on_time else [])
    assert all(due.is_run for due in on_time)
    late_runs = [due for due in plan.runs if due.trigger is Trigger.MISFIRE]
    late_within_grace = [
        due
        for due in plan.due_times
        if due.trigger is Trigger.MISFIRE and now - due.scheduled_for <= grace
    ]
    assert late_runs == late_within_grace[len(late_within_grace) - len(late_runs) :]
    assert len(late_runs) == min(case.misfire.late_runs, len(late_within_grace))


interval_schedules = st.builds(
    lambda every, start, length, jitter: parse_schedule(
        {
            "every": every,
            "start": start.isoformat() if start else None,
            "end": (start + length).isoformat() if start and length else None,
            "jitter": jitter,
        },
        key="sync",
    ),
    st.integers(1, 60) | st.integers(60, 7200),
    st.none() | instants,
    st.none() | st.timedeltas(timedelta(0), DAY),
    st.integers(0, 600),
)


@given(interval_schedules, instants, st.timedeltas(-HOUR, 3 * HOUR))
def test_interval_due_times_are_counted_by_arithmetic(
    schedule: Schedule, after: datetime, length: timedelta
) -> None:
    assert isinstance(schedule, IntervalSchedule)
    until = after + length
    expected = brute_force(schedule, after, until)
    assert count_interval_due_times(schedule, after, until) == len(expected)


# --- settling an attempt ---------------------------------------------------------------------

ENDED_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ended", "attempt", "status", "not_before"),
    [
        (AttemptStatus.SUCCEEDED, 1, RunStatus.SUCCEEDED, None),
        (AttemptStatus.CANCELLED, 1, RunStatus.CANCELLED, None),
        (AttemptStatus.FAILED, 1, RunStatus.RETRYING, ENDED_AT + timedelta(seconds=10)),
        (AttemptStatus.TIMED_OUT, 2, RunStatus.RETRYING, ENDED_AT + timedelta(seconds=20)),
        (AttemptStatus.LOST, 2, RunStatus.RETRYING, ENDED_AT + timedelta(seconds=20)),
        (AttemptStatus.FAILED, 3, RunStatus.DEAD, None),
    ],
)
def test_settle_retries_while_attempts_remain(
    ended: AttemptStatus, attempt: int, status: RunStatus, not_before: datetime | None
) -> None:
    policy = RetryPolicy(jitter=0.0)  # exponential, 3 attempts, 10 s doubling
    settled = settle(policy, ended, attempt, ENDED_AT, rand=0.5)
    assert (settled.status, settled.not_before) == (status, not_before)
    assert (settled.reason is None) == (status is RunStatus.SUCCEEDED)
