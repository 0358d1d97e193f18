"""The engine shared by every calendar kind (cron, daily, weekly, monthly).

A calendar schedule is a set of local wall times: the days a ``DayRule`` admits, crossed with
the times of day a ``TimeRule`` admits. ``WallSearch`` finds the next such wall time;
``CalendarCore`` turns wall times into UTC instants under one of two daylight-saving rules:

- ``FIXED_TIME`` (Debian cron's rule for jobs at a fixed hour and minute): a wall time in a
  spring-forward gap fires once at the transition instant that ends the gap; a wall time that
  a fall-back overlap repeats fires at its first pass only.
- ``WALL_CLOCK``: the job fires at every instant whose wall time matches, so gap times never
  happen and overlap times happen twice.
"""

from __future__ import annotations

import calendar
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from cronwell.schedules.zones import (
    fixed_time_instant,
    instants_of,
    is_utc,
    overlap_length,
    utc_of,
    wall_of,
)

_ONE_SECOND = timedelta(seconds=1)
_ZERO = timedelta(0)
# The Gregorian calendar, weekdays included, repeats every 400 years: a rule with no match in
# that span has none at all.
SEARCH_MONTHS = 401 * 12


class DstRule(StrEnum):
    FIXED_TIME = "fixed-time"
    WALL_CLOCK = "wall-clock"


class DayRule(Protocol):
    def days_in_month(self, year: int, month: int) -> tuple[int, ...]:
        """The days of that month the rule admits, ascending."""
        ...


class TimeRule(Protocol):
    def first_at_or_after(self, second_of_day: int) -> int | None:
        """The first admitted second of the day at or after ``second_of_day``, or None."""
        ...


class TimesOfDay:
    """A TimeRule from an explicit list of seconds of the day."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: Sequence[int]) -> None:
        self.seconds = tuple(sorted(set(seconds)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TimesOfDay) and self.seconds == other.seconds

    def __hash__(self) -> int:
        return hash(self.seconds)

    def first_at_or_after(self, second_of_day: int) -> int | None:
        index = bisect_left(self.seconds, second_of_day)
        return self.seconds[index] if index < len(self.seconds) else None


@dataclass(frozen=True, slots=True)
class DaySet:
    """A DayRule over months, days of the month and days of the week, as cron reads them.

    Weekdays are numbered as in cron: 0 is Sunday. With ``is_day_and`` a day must match both
    the by-date items and the by-weekday items; without it, either. Days a month lacks are
    skipped in that month.
    """

    months: frozenset[int]
    days: frozenset[int] = frozenset()
    is_last_day: bool = False
    is_last_weekday: bool = False
    nearest_weekdays: frozenset[int] = frozenset()
    weekdays: frozenset[int] = frozenset()
    last_weekdays: frozenset[int] = frozenset()
    nth_weekdays: frozenset[tuple[int, int]] = frozenset()
    is_day_and: bool = True

    def days_in_month(self, year: int, month: int) -> tuple[int, ...]:
        if month not in self.months:
            return ()
        first_weekday, length = calendar.monthrange(year, month)
        by_date = self._dates_by_day_of_month(year, month, length)
        sunday_based = (first_weekday + 1) % 7
        matches = []
        for day in range(1, length + 1):
            by_weekday = self._matches_weekday(day, (sunday_based + day - 1) % 7, length)
            if (
                (day in by_date and by_weekday)
                if self.is_day_and
                else (day in by_date or by_weekday)
            ):
                matches.append(day)
        return tuple(matches)

    def _dates_by_day_of_month(self, year: int, month: int, length: int) -> set[int]:
        dates = {day for day in self.days if day <= length}
        if self.is_last_day:
            dates.add(length)
        if self.is_last_weekday:
            dates.add(_nearest_weekday(year, month, length, length))
        for day in self.nearest_weekdays:
            if day <= length:
                dates.add(_nearest_weekday(year, month, day, length))
        return dates

    def _matches_weekday(self, day: int, weekday: int, length: int) -> bool:
        return (
            weekday in self.weekdays
            or (weekday in self.last_weekdays and day + 7 > length)
            or (weekday, (day - 1) // 7 + 1) in self.nth_weekdays
        )


def _nearest_weekday(year: int, month: int, day: int, length: int) -> int:
    """The Monday-to-Friday day nearest ``day``, never leaving the month (Quartz ``W``)."""
    weekday = calendar.weekday(year, month, day)  # Monday is 0
    if weekday == 5:
        return day - 1 if day > 1 else day + 2
    if weekday == 6:
        return day + 1 if day < length else day - 2
    return day


class CachedDays:
    """Memoizes a day predicate month by month: searches revisit the same few months."""

    __slots__ = ("_cache", "_compute")

    _LIMIT = 256

    def __init__(self, compute: DayRule) -> None:
        self._compute = compute
        self._cache: dict[tuple[int, int], tuple[int, ...]] = {}

    def days_in_month(self, year: int, month: int) -> tuple[int, ...]:
        key = (year, month)
        days = self._cache.get(key)
        if days is None:
            if len(self._cache) >= self._LIMIT:
                self._cache.clear()
            days = self._cache[key] = self._compute.days_in_month(year, month)
        return days


_SHARED_LIMIT = 256
_shared: dict[DayRule, CachedDays] = {}


def shared_days(rule: DayRule) -> CachedDays:
    """The one CachedDays of ``rule`` (by equality), shared by every schedule with that rule:
    ten thousand jobs on one expression work out each month once, not ten thousand times.
    At most ``_SHARED_LIMIT`` rules are kept; past that the registry starts afresh."""
    cached = _shared.get(rule)
    if cached is None:
        if len(_shared) >= _SHARED_LIMIT:
            _shared.clear()
        cached = _shared[rule] = CachedDays(rule)
    return cached


class WallSearch:
    """Finds the next wall time (naive, whole seconds) that a day and a time rule admit."""

    __slots__ = ("days", "times")

    def __init__(self, days: DayRule, times: TimeRule) -> None:
        self.days = shared_days(days)
        self.times = times

    def next_wall(self, after: datetime) -> datetime | None:
        """The first admitted wall time strictly after ``after``, or None within 400 years."""
        start = after - timedelta(microseconds=after.microsecond) + _ONE_SECOND
        year, month, day = start.year, start.month, start.day
        second = start.hour * 3600 + start.minute * 60 + start.second
        for _ in range(SEARCH_MONTHS):
            found = self._in_month(year, month, day, second)
            if found is not None:
                return found
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            if year > 9999:
                return None
            day, second = 1, 0
        return None

    def _in_month(self, year: int, month: int, day: int, second: int) -> datetime | None:
        days = self.days.days_in_month(year, month)
        for index in range(bisect_left(days, day), len(days)):
            candidate = days[index]
            time = self.times.first_at_or_after(second if candidate == day else 0)
            if time is not None:
                hour, rest = divmod(time, 3600)
                return datetime(year, month, candidate, hour, rest // 60, rest % 60)
        return None


class CalendarCore:
    """Due instants of a calendar schedule in one zone under one DST rule."""

    __slots__ = ("_is_utc", "rule", "search", "zone")

    def __init__(self, search: WallSearch, zone: ZoneInfo, rule: DstRule) -> None:
        self.search = search
        self.zone = zone
        self.rule = rule
        self._is_utc = is_utc(zone)

    def next_due(self, instant: datetime) -> datetime | None:
        """The first due instant strictly after ``instant`` (aware UTC)."""
        if self._is_utc:
            wall = self.search.next_wall(wall_of(instant, UTC))
            return None if wall is None else utc_of(wall, _ZERO)
        local = wall_of(instant, self.zone)
        if self.rule is DstRule.FIXED_TIME:
            return self._next_fixed_time(instant, local)
        return self._next_wall_clock(instant, local)

    def _next_fixed_time(self, instant: datetime, local: datetime) -> datetime | None:
        # Fixed-time instants never decrease as wall times increase, and no wall time at or
        # before ``local`` maps past ``instant``; so scan forward from it. Only when
        # ``instant`` lies in an overlap's second pass do a few wall times map behind it.
        wall = local
        while (found := self.search.next_wall(wall)) is not None:
            due = fixed_time_instant(found, self.zone)
            if due > instant:
                return due
            wall = found
        return None

    def _next_wall_clock(self, instant: datetime, local: datetime) -> datetime | None:
        # Inside a fall-back overlap, the second pass of wall times earlier than ``local`` may
        # still lie ahead, so the scan starts one overlap length back. The earliest instant is
        # settled once the first wall time after ``local`` has been seen: every later wall time
        # happens later still.
        wall = local - overlap_length(local, self.zone)
        best: datetime | None = None
        while (found := self.search.next_wall(wall)) is not None:
            for due in instants_of(found, self.zone):
                if due > instant and (best is None or due < best):
                    best = due
            if best is not None and found > local:
                return best
            wall = found
        return best
