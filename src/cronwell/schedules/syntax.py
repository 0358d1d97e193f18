"""The one schedule syntax shared by YAML, the CLI and the API.

A schedule is a string (a cron expression or nickname, or a compact form such as
``every 90s``, ``daily 09:00,13:30``, ``weekly mon,thu 10:00``, ``monthly 1,15,last 12:00``,
``once 2026-12-01T10:00``, ``event NAME`` or ``event: NAME``, ``manual``) or a mapping with
exactly one kind key (``cron``, ``every``, ``once``, ``daily``, ``weekly``, ``monthly``,
``event``, ``manual``) and the options ``timezone``, ``start``, ``end`` and ``jitter``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cronwell.schedules.base import Schedule, ScheduleError
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
from cronwell.schedules.window import Window
from cronwell.schedules.zones import fixed_time_instant, load_zone

MAX_DURATION = timedelta(days=366 * 100)
KINDS = ("cron", "every", "once", "daily", "weekly", "monthly", "event", "manual")
OPTIONS = ("timezone", "start", "end", "jitter")
_DURATION = re.compile(r"(\d+)\s*(w|d|h|m|s)", re.IGNORECASE)
_DURATION_TEXT = re.compile(r"(\s*\d+\s*[wdhms]\s*)+", re.IGNORECASE)
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_WEEKDAY_NAMES = {
    name: index
    for index, full in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
    for name in (full, full[:3])
}
_EVENT_NAME = re.compile(r"[A-Za-z0-9_.:-]+")


def parse_schedule(
    spec: str | Mapping[str, Any],
    *,
    timezone: str | ZoneInfo | None = None,
    key: str = "",
) -> Schedule:
    """A Schedule from either form. ``timezone`` is the default zone; a mapping's own wins.

    ``key`` (the job's name) seeds the jitter offset. Raises ScheduleError naming the field.
    """
    if isinstance(spec, str):
        return _from_text(spec, load_zone(timezone or "UTC"), Window(key=key))
    if isinstance(spec, Mapping):
        return _from_mapping(spec, timezone, key)
    raise ScheduleError("schedule", "must be a string or a mapping")


def _from_text(text: str, zone: ZoneInfo, window: Window) -> Schedule:
    word, _, rest = text.strip().partition(" ")
    kind = word.lower()
    rest = rest.strip()
    if kind.startswith("event:"):  # "event: NAME", as the mapping form reads in YAML
        return _build("event", f"{word[6:]} {rest}".strip(), zone, window)
    if kind in KINDS and kind != "cron":
        return _build(kind, rest, zone, window)
    if not text.strip():
        raise ScheduleError("schedule", "is empty")
    return CronSchedule.parse(text, zone, window)


def _from_mapping(
    spec: Mapping[str, Any], default_zone: str | ZoneInfo | None, key: str
) -> Schedule:
    unknown = [name for name in spec if name not in KINDS and name not in OPTIONS]
    if unknown:
        expected = ", ".join(KINDS + OPTIONS)
        raise ScheduleError(str(unknown[0]), f"unknown key; expected one of {expected}")
    kinds = [name for name in KINDS if name in spec]
    if len(kinds) != 1:
        raise ScheduleError("schedule", f"needs exactly one of {', '.join(KINDS)}")
    zone = load_zone(spec.get("timezone") or default_zone or "UTC")
    window = Window(
        start=_instant(spec.get("start"), zone, "start"),
        end=_instant(spec.get("end"), zone, "end"),
        jitter=_jitter(spec.get("jitter")),
        key=key,
    )
    if window.start and window.end and window.end < window.start:
        raise ScheduleError("end", "is before start")
    return _build(kinds[0], spec[kinds[0]], zone, window)


def _build(kind: str, body: Any, zone: ZoneInfo, window: Window) -> Schedule:
    if kind == "cron":
        return CronSchedule.parse(_text(body, "cron"), zone, window)
    if kind == "every":
        return IntervalSchedule(parse_duration(body, "every"), zone, window)
    if kind == "once":
        at = _instant(body, zone, "once")
        assert at is not None
        return OnceSchedule(at, zone, window)
    if kind == "daily":
        return DailySchedule(_times(body, "daily"), zone, window)
    if kind == "weekly":
        days, times = _days_and_times(body, "weekly")
        return WeeklySchedule(times, zone, window, weekdays=_weekdays(days, "weekly.days"))
    if kind == "monthly":
        days, times = _days_and_times(body, "monthly")
        numbers, is_last = _month_days(days, "monthly.days")
        return MonthlySchedule(times, zone, window, days=numbers, is_last_day=is_last)
    if kind == "event":
        name = _text(body, "event")
        if not _EVENT_NAME.fullmatch(name):
            raise ScheduleError("event", f"{name!r} is not an event name (letters, digits, ._:-)")
        return EventSchedule(name, zone)
    if body not in ("", True, None):
        raise ScheduleError("manual", "takes no value")
    return ManualSchedule(zone)


def parse_duration(value: Any, field: str) -> timedelta:
    """``90s``, ``5m``, ``2h``, ``1d``, ``1w``, ``1h30m``, or a number of seconds."""
    if isinstance(value, timedelta):
        duration = value
    elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        duration = _bounded(lambda: timedelta(seconds=value), value, field)
    elif isinstance(value, str) and _DURATION_TEXT.fullmatch(value):
        parts = _DURATION.findall(value)
        seconds = sum(int(count) * _UNIT_SECONDS[unit.lower()] for count, unit in parts)
        duration = _bounded(lambda: timedelta(seconds=seconds), value, field)
    else:
        raise ScheduleError(field, f"{value!r} is not a duration like 90s, 5m, 2h or 1d")
    if duration <= timedelta(0):
        shown = f"{value.total_seconds():g}s" if isinstance(value, timedelta) else repr(value)
        raise ScheduleError(field, f"{shown} must be longer than zero")
    return duration


def _bounded(make: Callable[[], timedelta], value: Any, field: str) -> timedelta:
    try:
        duration = make()
    except (OverflowError, ValueError):
        duration = MAX_DURATION + MAX_DURATION
    if duration > MAX_DURATION:
        raise ScheduleError(field, f"{value!r} is longer than {MAX_DURATION.days} days")
    return duration


def _jitter(value: Any) -> timedelta:
    return timedelta(0) if value in (None, 0, "0", "") else parse_duration(value, "jitter")


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ScheduleError(field, "must be a non-empty string")
    return value.strip()


def _instant(value: Any, zone: ZoneInfo, field: str) -> datetime | None:
    """An ISO-8601 instant; without an offset it is a wall time in ``zone``."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(_text(value, field))
        except ValueError:
            raise ScheduleError(field, f"{value!r} is not an ISO-8601 date and time") from None
    if moment.tzinfo is None:
        return fixed_time_instant(moment, zone)
    return moment.astimezone(UTC)


def _times(value: Any, field: str) -> tuple[int, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise ScheduleError(field, "needs one or more times of day like 09:00")
    return tuple(sorted({_time(str(item).strip(), field) for item in items}))


def _time(text: str, field: str) -> int:
    match = _TIME.fullmatch(text)
    hour, minute, second = (int(part or 0) for part in match.groups()) if match else (99, 0, 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ScheduleError(field, f"{text!r} is not a time of day (HH:MM or HH:MM:SS)")
    return hour * 3600 + minute * 60 + second


def _days_and_times(body: Any, field: str) -> tuple[list[str], tuple[int, ...]]:
    if isinstance(body, str):
        day_text, _, times = body.strip().partition(" ")
        if not times.strip():
            raise ScheduleError(field, f"{body!r}: expected days then times, like 'mon,thu 10:00'")
        return day_text.split(","), _times(times.strip(), field)
    if isinstance(body, Mapping):
        extra = set(body) - {"days", "times"}
        if extra:
            raise ScheduleError(f"{field}.{sorted(extra)[0]}", "unknown key; expected days, times")
        given = body.get("days")
        days: Any = given.split(",") if isinstance(given, str) else given
        if not isinstance(days, list | tuple) or not days:
            raise ScheduleError(f"{field}.days", "needs one or more days")
        return [str(day) for day in days], _times(body.get("times"), f"{field}.times")
    raise ScheduleError(field, "must be 'DAYS TIMES' or a mapping with days and times")


def _weekdays(items: list[str], field: str) -> frozenset[int]:
    days: set[int] = set()
    for item in items:
        first, dash, last = item.strip().partition("-")
        low, high = _weekday(first, field), _weekday(last if dash else first, field)
        if high < low:
            raise ScheduleError(field, f"{item.strip()} is a reversed range")
        days.update(range(low, high + 1))
    return frozenset(days)


def _weekday(text: str, field: str) -> int:
    index = _WEEKDAY_NAMES.get(text.strip().lower())
    if index is None:
        raise ScheduleError(field, f"{text.strip()!r} is not a day of the week (mon-sun)")
    return index


def _month_days(items: list[str], field: str) -> tuple[frozenset[int], bool]:
    numbers: set[int] = set()
    is_last = False
    for item in items:
        text = item.strip().lower()
        if text in ("last", "l"):
            is_last = True
        elif text.isdigit() and 1 <= int(text) <= 31:
            numbers.add(int(text))
        else:
            raise ScheduleError(field, f"{item.strip()!r} is not a day of the month (1-31 or last)")
    return frozenset(numbers), is_last
