"""Slow, plainly correct references for schedule due times, sharing no code with ``src/``.

The references never parse text. Strategies build a schedule as a structure, render it to the
text cronwell parses, and hand the structure here to be evaluated.

Every calendar kind (cron, daily, weekly, monthly, once) is a ``WallRule``: which local days
are due and which wall-clock seconds on them. ``walk`` finds the next due instant by stepping
through UTC one minute at a time, reading the wall clock of each minute with zoneinfo, and
applying the DST rule of the schedule:

* wall-clock rules fire at every instant whose wall time is due, so times in a spring-forward
  gap never happen and times in a fall-back overlap happen twice;
* fixed-time rules fire at a due wall time unless it is the second pass of an ambiguous wall
  time, and fire once at the instant ending a gap when any wall minute inside the gap is due.

The walk only skips ahead where nothing can be due (see ``_safe_step``) and gives up after
``HORIZON``, answering ``Beyond``: nothing is due up to that instant.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
EPSILON = timedelta(microseconds=1)
ZERO = timedelta(0)
HORIZON = timedelta(days=1900)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Beyond:
    """The walk gave up: nothing is due after the asked instant up to and including ``limit``."""

    limit: datetime


Answer = datetime | None | Beyond


# --- cron expressions as structures ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Star:
    """``*`` or ``*/step``."""

    step: int = 1
    text: str = "*"


@dataclass(frozen=True, slots=True)
class Value:
    """One value; ``text`` is how it is written (``5``, ``fri``, ``FEB``)."""

    value: int
    text: str


@dataclass(frozen=True, slots=True)
class Span:
    """``low-high`` or ``low-high/step``."""

    low: int
    high: int
    step: int
    text: str


@dataclass(frozen=True, slots=True)
class Onward:
    """``start/step``: from ``start`` to the field's maximum."""

    start: int
    step: int
    text: str


@dataclass(frozen=True, slots=True)
class LastDay:
    """Day of month ``L``."""

    text: str = "L"


@dataclass(frozen=True, slots=True)
class LastWeekday:
    """Day of month ``LW``: the last Monday-to-Friday day of the month."""

    text: str = "LW"


@dataclass(frozen=True, slots=True)
class NearestWeekday:
    """Day of month ``15W``: the Monday-to-Friday day nearest the 15th, inside the month."""

    day: int
    text: str


@dataclass(frozen=True, slots=True)
class LastOf:
    """Day of week ``5L``: the last Friday of the month."""

    weekday: int
    text: str


@dataclass(frozen=True, slots=True)
class NthOf:
    """Day of week ``5#2``: the second Friday of the month."""

    weekday: int
    nth: int
    text: str


Item = Star | Value | Span | Onward | LastDay | LastWeekday | NearestWeekday | LastOf | NthOf


@dataclass(frozen=True, slots=True)
class Field:
    """A comma list of items."""

    items: tuple[Item, ...]

    @property
    def starts_with_star(self) -> bool:
        return isinstance(self.items[0], Star)

    def render(self) -> str:
        return ",".join(item.text for item in self.items)


@dataclass(frozen=True, slots=True)
class CronSpec:
    """A cron expression; ``second`` is set for the 6-field form, ``nickname`` for ``@daily``."""

    minute: Field
    hour: Field
    dom: Field
    month: Field
    dow: Field
    second: Field | None = None
    nickname: str | None = None

    @property
    def is_fixed_time(self) -> bool:
        return (
            self.second is None
            and not self.minute.starts_with_star
            and not self.hour.starts_with_star
        )

    def render(self) -> str:
        if self.nickname is not None:
            return self.nickname
        fields = [self.minute, self.hour, self.dom, self.month, self.dow]
        if self.second is not None:
            fields.insert(0, self.second)
        return " ".join(f.render() for f in fields)


def _field(*texts: str) -> Field:
    items: list[Item] = [Star() if text == "*" else Value(int(text), text) for text in texts]
    return Field(tuple(items))


NICKNAMES: dict[str, tuple[str, str, str, str, str]] = {
    "@yearly": ("0", "0", "1", "1", "*"),
    "@annually": ("0", "0", "1", "1", "*"),
    "@monthly": ("0", "0", "1", "*", "*"),
    "@weekly": ("0", "0", "*", "*", "0"),
    "@daily": ("0", "0", "*", "*", "*"),
    "@midnight": ("0", "0", "*", "*", "*"),
    "@hourly": ("0", "*", "*", "*", "*"),
}


def nickname_spec(nickname: str) -> CronSpec:
    minute, hour, dom, month, dow = (_field(text) for text in NICKNAMES[nickname])
    return CronSpec(minute, hour, dom, month, dow, nickname=nickname)


def values_of(f: Field, low: int, high: int) -> frozenset[int]:
    """The plain numbers a field lists (``*``, values, ranges, steps) between ``low`` and ``high``.

    Day of week runs 0-7 here (7 is Sunday again): ``*/s`` names the same days either way,
    and strategies never write an ``a/s`` whose meaning depends on whether the top is 6 or 7.
    """
    values: set[int] = set()
    for item in f.items:
        if isinstance(item, Star):
            values.update(range(low, high + 1, item.step))
        elif isinstance(item, Value):
            values.add(item.value)
        elif isinstance(item, Span):
            values.update(range(item.low, item.high + 1, item.step))
        elif isinstance(item, Onward):
            values.update(range(item.start, high + 1, item.step))
    return frozenset(values)


# --- days ---------------------------------------------------------------------------------


def last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def is_weekend(year: int, month: int, day: int) -> bool:
    return calendar.weekday(year, month, day) >= calendar.SATURDAY


def last_weekday(year: int, month: int) -> int:
    day = last_day(year, month)
    while is_weekend(year, month, day):
        day -= 1
    return day


def nearest_weekday(year: int, month: int, day: int) -> int | None:
    """The weekday nearest ``day``, never leaving the month; None when the month lacks ``day``."""
    last = last_day(year, month)
    if day > last:
        return None
    weekday = calendar.weekday(year, month, day)
    if weekday == calendar.SATURDAY:
        return day - 1 if day > 1 else day + 2
    if weekday == calendar.SUNDAY:
        return day + 1 if day < last else day - 2
    return day


def cron_weekday(day: date) -> int:
    """Sunday 0 through Saturday 6."""
    return day.isoweekday() % 7


def dom_matches(f: Field, day: date) -> bool:
    if day.day in values_of(f, 1, 31):
        return True
    for item in f.items:
        if isinstance(item, LastDay) and day.day == last_day(day.year, day.month):
            return True
        if isinstance(item, LastWeekday) and day.day == last_weekday(day.year, day.month):
            return True
        if isinstance(item, NearestWeekday) and day.day == nearest_weekday(
            day.year, day.month, item.day
        ):
            return True
    return False


def dow_matches(f: Field, day: date) -> bool:
    weekday = cron_weekday(day)
    if weekday in {value % 7 for value in values_of(f, 0, 7)}:
        return True
    for item in f.items:
        if not isinstance(item, LastOf | NthOf) or item.weekday % 7 != weekday:
            continue
        if isinstance(item, LastOf) and day.day + 7 > last_day(day.year, day.month):
            return True
        if isinstance(item, NthOf) and (day.day - 1) // 7 + 1 == item.nth:
            return True
    return False


def cron_day_matches(spec: CronSpec, day: date) -> bool:
    if day.month not in values_of(spec.month, 1, 12):
        return False
    in_dom = dom_matches(spec.dom, day)
    in_dow = dow_matches(spec.dow, day)
    if spec.dom.starts_with_star or spec.dow.starts_with_star:
        return in_dom and in_dow
    return in_dom or in_dow


# --- wall rules ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WallTime:
    """A wall-clock time of day; ``has_seconds`` says whether it is written HH:MM:SS."""

    hour: int
    minute: int
    second: int = 0
    has_seconds: bool = False

    def render(self) -> str:
        text = f"{self.hour:02d}:{self.minute:02d}"
        return f"{text}:{self.second:02d}" if self.has_seconds else text


@dataclass(frozen=True)
class WallRule:
    """Which local days are due, which wall seconds on them, and which DST rule applies."""

    is_due_on: Callable[[date], bool] = field(repr=False)
    seconds_at: Callable[[int, int], frozenset[int]] = field(repr=False)
    is_fixed_time: bool
    label: str = ""
    _hours: dict[int, bool] = field(default_factory=dict, compare=False, repr=False)

    def has_hour(self, hour: int) -> bool:
        if hour not in self._hours:
            self._hours[hour] = any(self.seconds_at(hour, minute) for minute in range(60))
        return self._hours[hour]


def cron_rule(spec: CronSpec) -> WallRule:
    minutes = values_of(spec.minute, 0, 59)
    hours = values_of(spec.hour, 0, 23)
    seconds = frozenset({0}) if spec.second is None else values_of(spec.second, 0, 59)
    empty: frozenset[int] = frozenset()

    def seconds_at(hour: int, minute: int) -> frozenset[int]:
        return seconds if hour in hours and minute in minutes else empty

    return WallRule(
        cache(lambda day: cron_day_matches(spec, day)),
        seconds_at,
        spec.is_fixed_time,
        label=spec.render(),
    )


def times_rule(
    is_due_on: Callable[[date], bool], times: tuple[WallTime, ...], label: str
) -> WallRule:
    """A fixed-time rule firing at ``times`` on the days ``is_due_on`` accepts."""

    def seconds_at(hour: int, minute: int) -> frozenset[int]:
        return frozenset(t.second for t in times if (t.hour, t.minute) == (hour, minute))

    return WallRule(cache(is_due_on), seconds_at, is_fixed_time=True, label=label)


def daily_rule(times: tuple[WallTime, ...]) -> WallRule:
    return times_rule(lambda day: True, times, "daily")


def weekly_rule(weekdays: frozenset[int], times: tuple[WallTime, ...]) -> WallRule:
    """``weekdays`` counts Monday as 0, as ``date.weekday`` does."""
    return times_rule(lambda day: day.weekday() in weekdays, times, "weekly")


def monthly_rule(days: frozenset[int], has_last: bool, times: tuple[WallTime, ...]) -> WallRule:
    def is_due_on(day: date) -> bool:
        is_last = day.day == last_day(day.year, day.month)
        return day.day in days or (has_last and is_last)

    return times_rule(is_due_on, times, "monthly")


def once_rule(wall: datetime) -> WallRule:
    """A naive wall time read in the zone, under the fixed-time rule."""
    moment = WallTime(wall.hour, wall.minute, wall.second)
    return times_rule(lambda day: day == wall.date(), (moment,), "once")


def is_never_due(rule: WallRule) -> bool:
    """No day of a whole 400-year Gregorian cycle is due, so no day ever is."""
    day = date(2000, 1, 1)
    while day < date(2400, 1, 1):
        if rule.is_due_on(day):
            return False
        day += DAY
    return True


# --- the walk -----------------------------------------------------------------------------


def _is_second_pass(wall: datetime) -> bool:
    return wall.fold == 1 and wall.replace(fold=0).utcoffset() != wall.utcoffset()


def _is_due_minute(rule: WallRule, wall: datetime) -> bool:
    return rule.is_due_on(wall.date()) and bool(rule.seconds_at(wall.hour, wall.minute))


def _gap_ending_at(zone: ZoneInfo, instant: datetime) -> list[datetime]:
    """The naive wall minutes skipped by a spring-forward ending at ``instant``, if any."""
    before = (instant - EPSILON).astimezone(zone).utcoffset()
    after = instant.astimezone(zone).utcoffset()
    assert before is not None and after is not None
    if after <= before:
        return []
    naive = instant.replace(tzinfo=None)
    minutes = []
    wall = naive + before
    while wall < naive + after:
        minutes.append(wall)
        wall += MINUTE
    return minutes


def _due_in_minute(rule: WallRule, zone: ZoneInfo, instant: datetime) -> list[datetime]:
    """Due instants inside the UTC minute starting at ``instant``, in order."""
    wall = instant.astimezone(zone)
    due: set[datetime] = set()
    if rule.is_fixed_time and any(
        _is_due_minute(rule, gap) for gap in _gap_ending_at(zone, instant)
    ):
        due.add(instant)
    if rule.is_due_on(wall.date()) and not (rule.is_fixed_time and _is_second_pass(wall)):
        due.update(instant + s * SECOND for s in rule.seconds_at(wall.hour, wall.minute))
    return sorted(due)


def _safe_step(rule: WallRule, zone: ZoneInfo, instant: datetime) -> timedelta:
    """How far the walk may jump from ``instant`` without passing a due instant.

    A day that is not due is left for the next local midnight, an hour with no due time for
    the next wall hour; never more than an hour, and only when the UTC offset is the same at
    both ends, so no transition (and no gap ending) lies in between.
    """
    wall = instant.astimezone(zone)
    naive = wall.replace(tzinfo=None)
    if not rule.is_due_on(wall.date()):
        step = min(HOUR, datetime.combine(wall.date() + DAY, time()) - naive)
    elif not rule.has_hour(wall.hour):
        step = min(HOUR, naive.replace(minute=0) + HOUR - naive)
    else:
        return MINUTE
    if (instant + step).astimezone(zone).utcoffset() == wall.utcoffset():
        return step
    return MINUTE


def walk(rule: WallRule, zone: ZoneInfo, instant: datetime) -> Answer:
    """The first instant strictly after ``instant`` that ``rule`` makes due in ``zone``."""
    after = instant.astimezone(UTC)
    limit = after + HORIZON
    # Offsets of the zones under test are whole minutes, so UTC minutes are wall minutes.
    cursor = after.replace(second=0, microsecond=0)
    while cursor <= limit:
        for due in _due_in_minute(rule, zone, cursor):
            if due > after:
                return due
        cursor += _safe_step(rule, zone, cursor)
    return Beyond(limit)


# --- other kinds and the window -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Interval:
    """Due at ``anchor + k * every`` for every k >= 0."""

    every: timedelta
    anchor: datetime = EPOCH


@dataclass(frozen=True, slots=True)
class OnceAt:
    """Due once: at ``instant`` if aware, else at the naive wall time read in the zone."""

    when: datetime


@dataclass(frozen=True, slots=True)
class Never:
    """``event`` and ``manual``: never due by time."""


Rule = WallRule | Interval | OnceAt | Never


def interval_next(rule: Interval, instant: datetime) -> datetime:
    anchor = rule.anchor.astimezone(UTC)
    if instant < anchor:
        return anchor
    count = (instant.astimezone(UTC) - anchor) // rule.every + 1
    return anchor + count * rule.every


def once_instant(rule: OnceAt, zone: ZoneInfo) -> datetime:
    if rule.when.tzinfo is not None:
        return rule.when.astimezone(UTC)
    # No zone is more than a day away from UTC, so the walk starts before the wall time.
    found = walk(once_rule(rule.when), zone, rule.when.replace(tzinfo=UTC) - DAY)
    assert isinstance(found, datetime)
    return found


def unbounded_next(rule: Rule, zone: ZoneInfo, instant: datetime) -> Answer:
    if isinstance(rule, WallRule):
        return walk(rule, zone, instant)
    if isinstance(rule, Interval):
        return interval_next(rule, instant)
    if isinstance(rule, OnceAt):
        at = once_instant(rule, zone)
        return at if at > instant else None
    return None


def next_due(
    rule: Rule,
    zone: ZoneInfo,
    instant: datetime,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    shift: timedelta = ZERO,
) -> Answer:
    """The first fire time strictly after ``instant``.

    Fire times are due instants plus ``shift`` (the jitter), kept when inside the inclusive
    window ``[start, end]``.
    """
    after = instant.astimezone(UTC)
    if start is not None:
        after = max(after, start.astimezone(UTC) - EPSILON)
    found = unbounded_next(rule, zone, after - shift)
    if found is None:
        return None
    if isinstance(found, Beyond):
        limit = found.limit + shift
        return None if end is not None and end <= limit else Beyond(limit)
    fire = found + shift
    return None if end is not None and fire > end else fire
