"""plan_due_times on a scheduler's ordinary ticks: from the last due time planned to just
after the next one. Those take a shorter path than a backlog; the plan must be the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cronwell.lifecycle import Trigger
from cronwell.policies import (
    DEFAULT_ON_TIME_TOLERANCE,
    Disposition,
    DueTime,
    MisfirePolicy,
    plan_due_times,
)
from cronwell.policies.misfire import _backlog, _dispose
from cronwell.schedules import Schedule, parse_schedule
from tests.unit.test_policies import brute_force, instants, misfire_policies, schedules

# On the dot, just after, a tick's usual lateness, the tolerance's edge each side, late.
delays = st.sampled_from(
    [
        timedelta(0),
        timedelta(microseconds=1),
        timedelta(milliseconds=3),
        timedelta(seconds=5),
        timedelta(seconds=5, microseconds=1),
        timedelta(minutes=3),
    ]
)


def walked(schedule: Schedule, after: datetime, now: datetime, policy: MisfirePolicy) -> object:
    """The plan by the backlog walk alone, as plan_due_times made it before its short path."""
    recent, span = _backlog(schedule, after, now, 1001)
    return (_dispose(recent, now, policy, DEFAULT_ON_TIME_TOLERANCE), span)


@given(schedules, instants, delays, misfire_policies)
def test_a_tick_just_after_a_due_time_plans_it_as_the_walk_does(
    schedule: Schedule, start: datetime, delay: timedelta, policy: MisfirePolicy
) -> None:
    previous = schedule.next_after(start)
    if previous is None:
        return
    due = schedule.next_after(previous)
    if due is None:
        return
    now = due + delay
    plan = plan_due_times(schedule, previous, now, policy)
    assert (plan.due_times, plan.missed_span) == walked(schedule, previous, now, policy)
    assert [d.scheduled_for for d in plan.due_times] == brute_force(schedule, previous, now)
    assert plan.next_due_at == schedule.next_after(now)


@given(schedules, instants, st.sampled_from([0.0, 0.25, 0.5, 0.99]), misfire_policies)
def test_a_tick_between_due_times_plans_nothing(
    schedule: Schedule, start: datetime, fraction: float, policy: MisfirePolicy
) -> None:
    due = schedule.next_after(start)
    if due is None:
        return
    after = start + (due - start) * fraction
    if after >= due:
        return
    plan = plan_due_times(schedule, start, after, policy)
    assert plan.due_times == ()
    assert plan.missed_span is None
    assert plan.next_due_at == due


@pytest.mark.parametrize("text", ["every 1s", "*/5 * * * *", "30 2 * * *"])
def test_the_one_due_time_on_time_runs_on_schedule(text: str) -> None:
    schedule = parse_schedule(text, timezone="Europe/London")
    previous = schedule.next_after(datetime(2026, 6, 1, tzinfo=UTC))
    assert previous is not None
    due = schedule.next_after(previous)
    assert due is not None
    plan = plan_due_times(schedule, previous, due + timedelta(milliseconds=2), MisfirePolicy())
    assert plan.due_times == (DueTime(due, Disposition.RUN, Trigger.SCHEDULE),)
    assert plan.next_due_at == schedule.next_after(due)
