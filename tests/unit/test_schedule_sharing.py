"""Schedules parsed from one expression share its parse and its month cache, and answer
exactly as schedules parsed on their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cronwell.schedules import ScheduleError, parse_schedule
from cronwell.schedules import calendar as calendar_module
from cronwell.schedules.calendar import CachedDays, DaySet, shared_days
from cronwell.schedules.cron import CronExpression

START = datetime(2026, 3, 7, 12, tzinfo=UTC)


def chain(text: str, zone: str, count: int = 60) -> list[datetime]:
    schedule = parse_schedule(text, timezone=zone)
    found, instant = [], START
    for _ in range(count):
        due = schedule.next_after(instant)
        assert due is not None
        found.append(due)
        instant = due
    return found


def test_one_text_is_parsed_once() -> None:
    assert CronExpression.parse("0 9 * * MON-FRI") is CronExpression.parse("0 9 * * MON-FRI")


def test_a_bad_text_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(ScheduleError, match="minute field"):
            CronExpression.parse("61 * * * *")


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
@pytest.mark.parametrize(
    "text", ["0 9 * * MON-FRI", "30 2 * * *", "0 0 L * *", "daily 09:00", "weekly sun 02:30"]
)
def test_schedules_sharing_a_day_rule_answer_as_alone(text: str, zone: str) -> None:
    calendar_module._shared.clear()
    alone = chain(text, zone)
    shared = [chain(text, zone) for _ in range(3)]
    assert shared == [alone] * 3


def test_equal_day_rules_share_one_month_cache() -> None:
    weekdays = DaySet(months=frozenset(range(1, 13)), weekdays=frozenset(range(1, 6)))
    again = DaySet(months=frozenset(range(1, 13)), weekdays=frozenset(range(1, 6)))
    assert shared_days(weekdays) is shared_days(again)
    assert shared_days(weekdays) is not shared_days(DaySet(months=frozenset({1})))


def test_the_shared_registry_is_bounded() -> None:
    calendar_module._shared.clear()
    for month in range(1, 13):
        for day in range(1, 32):
            shared_days(DaySet(months=frozenset({month}), days=frozenset({day})))
    assert len(calendar_module._shared) <= calendar_module._SHARED_LIMIT
    assert isinstance(shared_days(DaySet(months=frozenset({1}))), CachedDays)


def test_a_jittered_schedule_keeps_its_own_offset() -> None:
    spec = {"every": "1h", "jitter": "30m"}
    first = parse_schedule(spec, key="one").next_after(START)
    second = parse_schedule(spec, key="two").next_after(START)
    assert first is not None and second is not None
    assert first != second
    assert abs(first - second) < timedelta(minutes=30)
