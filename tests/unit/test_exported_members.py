"""The public API is what ``__all__`` says, no more: a change to it is a deliberate one."""

from __future__ import annotations

import subprocess
import sys

import cronwell
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


def test_package_exports() -> None:
    assert sorted(cronwell.__all__) == [
        "Backfill",
        "ControlError",
        "Cronwell",
        "EventError",
        "FiredEvent",
        "Job",
        "JobExists",
        "JobNotFound",
        "JobSpec",
        "Plan",
        "RunEnded",
        "RunNotFound",
        "SpecError",
        "TaskContext",
        "TaskEvent",
        "Version",
        "VersionConflict",
        "VersionNotFound",
    ]
    for name in cronwell.__all__:
        assert getattr(cronwell, name).__module__.startswith("cronwell.")


def test_a_task_child_does_not_import_the_engine() -> None:
    code = "import sys, cronwell.engine.child; print('cronwell.app' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
