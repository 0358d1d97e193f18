"""The public API is what ``__all__`` says, no more: a change to it is a deliberate one."""

from __future__ import annotations

import cronwell.schedules


def test_schedules_exports() -> None:
    assert sorted(cronwell.schedules.__all__) == [
        "CronSchedule",
        "DailySchedule",
        "DstRule",
        "EventSchedule",
        "IntervalSchedule",
        "ManualSchedule",
        "MonthlySchedule",
        "OnceSchedule",
        "Schedule",
        "ScheduleError",
        "WeeklySchedule",
        "Window",
        "parse_duration",
        "parse_schedule",
    ]
    for name in cronwell.schedules.__all__:
        assert getattr(cronwell.schedules, name).__module__.startswith("cronwell.schedules")
