"""The schedule kinds: cron, interval, once, daily, weekly, monthly, event and manual.

Each timed kind is a frozen value; ``next_after`` answers in UTC. Daily, weekly, monthly and
once read their wall times by the fixed-time DST rule (see ``calendar``); intervals are exact
durations in absolute time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cronwell.schedules.base import ScheduleError
from cronwell.schedules.calendar import (
    CalendarCore,
    DaySet,
    DstRule,
    TimeRule,
    TimesOfDay,
    WallSearch,
)
from cronwell.schedules.cron import CronExpression
from cronwell.schedules.describe import (
    WEEKDAYS,
    describe_cron,
    describe_days_of_month,
    describe_duration,
    describe_times,
    join,
)
from cronwell.schedules.window import Window, WindowedSchedule
from cronwell.schedules.zones import fixed_time_instant

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")
NO_WINDOW = Window()
_ALL_MONTHS = frozenset(range(1, 13))
_ALL_DAYS = frozenset(range(1, 32))
_ALL_WEEKDAYS = frozenset(range(7))
_REFERENCE_WALL = datetime(2000, 1, 1)


def _calendar(days: DaySet, times: TimeRule, zone: ZoneInfo, rule: DstRule) -> CalendarCore:
    return CalendarCore(WallSearch(days, times), zone, rule)


def _require_fires(core: CalendarCore, field_name: str, text: str) -> None:
    """Refuse a calendar that no date in a whole 400-year cycle satisfies."""
    if core.search.next_wall(_REFERENCE_WALL) is None:
        raise ScheduleError(field_name, f"{text!r} never fires: no date matches it")


@dataclass(frozen=True, slots=True)
class CronSchedule(WindowedSchedule):
    expression: CronExpression
    timezone: ZoneInfo = UTC_ZONE
    window: Window = NO_WINDOW
    _core: CalendarCore = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        core = _calendar(
            self.expression.days, self.expression.times, self.timezone, self.expression.dst_rule
        )
        _require_fires(core, "cron", self.expression.text)
        object.__setattr__(self, "_core", core)

    @classmethod
    def parse(cls, text: str, timezone: ZoneInfo, window: Window = NO_WINDOW) -> CronSchedule:
        return cls(CronExpression.parse(text), timezone, window)

    @property
    def dst_rule(self) -> DstRule:
        return self.expression.dst_rule

    def _next_due(self, instant: datetime) -> datetime | None:
        return self._core.next_due(instant)

    def _describe_when(self) -> str:
        return describe_cron(self.expression.fields)


@dataclass(frozen=True, slots=True)
class IntervalSchedule(WindowedSchedule):
    """Every ``every``, at anchor + k * every: the anchor is the start, else the Unix epoch."""

    every: timedelta
    timezone: ZoneInfo = UTC_ZONE
    window: Window = NO_WINDOW

    def __post_init__(self) -> None:
        if self.every <= timedelta(0):
            raise ScheduleError("every", "the interval must be positive")

    @property
    def anchor(self) -> datetime:
        return self.window.start or EPOCH

    def _next_due(self, instant: datetime) -> datetime | None:
        anchor = self.anchor
        if instant < anchor:
            return anchor
        return anchor + self.every * ((instant - anchor) // self.every + 1)

    def _describe_when(self) -> str:
        return f"Every {describe_duration(self.every)}"


@dataclass(frozen=True, slots=True)
class OnceSchedule(WindowedSchedule):
    """Due once. A naive ``at`` is a wall time in the zone, read by the fixed-time rule."""

    at: datetime
    timezone: ZoneInfo = UTC_ZONE
    window: Window = NO_WINDOW
    instant: datetime = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        instant = (
            fixed_time_instant(self.at, self.timezone)
            if self.at.tzinfo is None
            else self.at.astimezone(UTC)
        )
        object.__setattr__(self, "instant", instant)

    def _next_due(self, instant: datetime) -> datetime | None:
        return self.instant if self.instant > instant else None

    def _describe_when(self) -> str:
        return f"Once, at {self.instant.astimezone(self.timezone):%Y-%m-%d %H:%M:%S}"


@dataclass(frozen=True, slots=True)
class _FixedTimes(WindowedSchedule):
    """Calendar kinds at fixed times of day on the days a DaySet admits."""

    times: tuple[int, ...]  # seconds of the day
    timezone: ZoneInfo = UTC_ZONE
    window: Window = NO_WINDOW
    _core: CalendarCore = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.times:
            raise ScheduleError("times", "at least one time of day is needed")
        for second in self.times:
            if not 0 <= second < 86400:
                raise ScheduleError("times", f"{second} is not a second of the day")
        core = _calendar(self._days(), TimesOfDay(self.times), self.timezone, DstRule.FIXED_TIME)
        object.__setattr__(self, "_core", core)

    def _days(self) -> DaySet:
        return DaySet(months=_ALL_MONTHS, days=_ALL_DAYS, weekdays=_ALL_WEEKDAYS)

    def _next_due(self, instant: datetime) -> datetime | None:
        return self._core.next_due(instant)

    def _describe_when(self) -> str:
        return describe_times(self.times)


@dataclass(frozen=True, slots=True)
class DailySchedule(_FixedTimes):
    def _describe_when(self) -> str:
        return f"{describe_times(self.times)}, every day"


@dataclass(frozen=True, slots=True)
class WeeklySchedule(_FixedTimes):
    """On the given weekdays (0 is Monday, as ``date.weekday()``) at the given times."""

    weekdays: frozenset[int] = frozenset()

    def _days(self) -> DaySet:
        if not self.weekdays or not self.weekdays <= _ALL_WEEKDAYS:
            raise ScheduleError("days", "give one or more days of the week (mon-sun)")
        sunday_based = frozenset((day + 1) % 7 for day in self.weekdays)
        return DaySet(months=_ALL_MONTHS, days=_ALL_DAYS, weekdays=sunday_based)

    def _describe_when(self) -> str:
        names = [WEEKDAYS[(day + 1) % 7] for day in sorted(self.weekdays)]
        return f"{describe_times(self.times)}, on {join(names)}"


@dataclass(frozen=True, slots=True)
class MonthlySchedule(_FixedTimes):
    """On the given days of the month (and/or the last) at the given times.

    A day a month lacks (31 in April) is skipped in that month, not moved.
    """

    days: frozenset[int] = frozenset()
    is_last_day: bool = False

    def _days(self) -> DaySet:
        if not (self.days or self.is_last_day) or not self.days <= _ALL_DAYS:
            raise ScheduleError("days", "give days of the month 1-31 or 'last'")
        return DaySet(
            months=_ALL_MONTHS,
            days=self.days,
            is_last_day=self.is_last_day,
            weekdays=_ALL_WEEKDAYS,
        )

    def _describe_when(self) -> str:
        items = [str(day) for day in sorted(self.days)] + (["L"] if self.is_last_day else [])
        return f"{describe_times(self.times)}, {describe_days_of_month(','.join(items))}"


@dataclass(frozen=True, slots=True)
class EventSchedule:
    """Never due by time: a run starts when the named event fires."""

    event: str
    timezone: ZoneInfo = UTC_ZONE

    def next_after(self, instant: datetime) -> datetime | None:
        return None

    def describe(self) -> str:
        return f"When event {self.event} fires"


@dataclass(frozen=True, slots=True)
class ManualSchedule:
    """Never due by time: runs start only when triggered by hand."""

    timezone: ZoneInfo = UTC_ZONE

    def next_after(self, instant: datetime) -> datetime | None:
        return None

    def describe(self) -> str:
        return "Only when triggered by hand"
