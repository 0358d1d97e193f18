"""Pure time math: when is a job due? No I/O, no clock: every answer is a function of its input.

``parse_schedule`` reads the one schedule syntax shared by YAML, the CLI and the API; every
kind follows the ``Schedule`` protocol.
"""

from cronwell.schedules.base import Schedule, ScheduleError
from cronwell.schedules.calendar import DstRule
from cronwell.schedules.kinds import (
    CronSchedule,
    DailySchedule,
    EventSchedule,
    IntervalSchedule,
    ManualSchedule,
    MonthlySchedule,
    OnceSchedule,
    WeeklySchedule,
)
from cronwell.schedules.syntax import parse_duration, parse_schedule
from cronwell.schedules.window import Window

__all__ = [
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
