"""The cron dialect: parsing, day matching and the DST classification of an expression.

Five fields ``minute hour day-of-month month day-of-week``, or six with a leading seconds
field. Items: ``*``, ``a``, ``a-b``, ``*/s``, ``a-b/s``, ``a/s`` and comma lists; JAN-DEC and
SUN-SAT in their own fields; day-of-week 0 and 7 are Sunday. Quartz extensions: day-of-month
``L``, ``LW`` and ``15W``; day-of-week ``5L`` and ``5#2``. Days match as in Vixie cron: when
either day field starts with ``*`` a day must match both, otherwise either.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import Final, NamedTuple

from cronwell.schedules.base import ScheduleError
from cronwell.schedules.calendar import DaySet, DstRule

NICKNAMES: Final = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTH_NAMES: Final = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                      "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")  # fmt: skip
DAY_NAMES: Final = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_NUMBER = re.compile(r"\d{1,4}")


@dataclass(frozen=True, slots=True)
class _FieldKind:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    names_start: int = 0

    def error(self, problem: str) -> ScheduleError:
        return ScheduleError(f"{self.name} field", problem)

    def value(self, text: str) -> int:
        """One number or name of this field, range-checked."""
        upper = text.upper()
        if upper in self.names:
            return self.names.index(upper) + self.names_start
        if not _NUMBER.fullmatch(text):
            return self._not_a_value(text)
        number = int(text)
        if not self.low <= number <= self.high:
            raise self.error(f"{text} is out of range {self.low}-{self.high}")
        return number

    def _not_a_value(self, text: str) -> int:
        upper = text.upper()
        if upper in MONTH_NAMES or upper in DAY_NAMES:
            raise self.error(f"{text} is not a name this field takes")
        expected = f"a number {self.low}-{self.high}"
        if self.names:
            expected += f" or a name {self.names[0]}-{self.names[-1]}"
        raise self.error(f"{text!r} is not {expected}")


SECOND = _FieldKind("second", 0, 59)
MINUTE = _FieldKind("minute", 0, 59)
HOUR = _FieldKind("hour", 0, 23)
DAY_OF_MONTH = _FieldKind("day-of-month", 1, 31)
MONTH = _FieldKind("month", 1, 12, MONTH_NAMES, 1)
DAY_OF_WEEK = _FieldKind("day-of-week", 0, 7, DAY_NAMES, 0)


def parse_values(text: str, kind: _FieldKind) -> frozenset[int]:
    """The plain values a comma list of ``*``, ``a``, ``a-b`` and ``/step`` items selects."""
    if not text:
        raise kind.error("is empty")
    values: set[int] = set()
    for item in text.split(","):
        values.update(_parse_item(item, kind))
    return frozenset(values)


def _parse_item(item: str, kind: _FieldKind) -> range:
    base, slash, step_text = item.partition("/")
    step = _parse_step(step_text, kind) if slash else 1
    if base == "*":
        # Sunday is both 0 and 7: a star walks 0-6 so a step never selects it twice.
        high = 6 if kind is DAY_OF_WEEK else kind.high
        return range(kind.low, high + 1, step)
    first, dash, last = base.partition("-")
    if not first:
        raise kind.error(f"{item!r} is not a valid item")
    low = kind.value(first)
    if dash:
        high = kind.value(last)
        if high < low:
            raise kind.error(f"{base} is a reversed range")
    else:
        high = kind.high if slash else low
    return range(low, high + 1, step)


def _parse_step(text: str, kind: _FieldKind) -> int:
    if not _NUMBER.fullmatch(text):
        raise kind.error(f"step {text!r} is not a number")
    step = int(text)
    if step == 0:
        raise kind.error("step 0 is not allowed")
    return step


class _ByDate(NamedTuple):
    days: frozenset[int]
    is_last_day: bool
    is_last_weekday: bool
    nearest_weekdays: frozenset[int]


class _ByWeekday(NamedTuple):
    weekdays: frozenset[int]
    last_weekdays: frozenset[int]
    nth_weekdays: frozenset[tuple[int, int]]


def parse_day_of_month(text: str) -> _ByDate:
    """Day-of-month items: plain values plus ``L``, ``LW`` and ``nW``."""
    plain: list[str] = []
    nearest: set[int] = set()
    is_last_day = is_last_weekday = False
    for item in text.split(","):
        upper = item.upper()
        if upper == "L":
            is_last_day = True
        elif upper == "LW":
            is_last_weekday = True
        elif len(item) > 1 and upper.endswith("W"):
            nearest.add(DAY_OF_MONTH.value(item[:-1]))
        else:
            plain.append(item)
    days = parse_values(",".join(plain), DAY_OF_MONTH) if plain else frozenset()
    return _ByDate(days, is_last_day, is_last_weekday, frozenset(nearest))


def parse_day_of_week(text: str) -> _ByWeekday:
    """Day-of-week items: plain values plus ``nL`` (last in month) and ``n#k`` (k-th)."""
    plain: list[str] = []
    last: set[int] = set()
    nth: set[tuple[int, int]] = set()
    for item in text.split(","):
        if "#" in item:
            day, _, ordinal = item.partition("#")
            if not re.fullmatch(r"[1-5]", ordinal):
                raise DAY_OF_WEEK.error(f"{item!r}: the occurrence after # must be 1-5")
            nth.add((DAY_OF_WEEK.value(day) % 7, int(ordinal)))
        elif len(item) > 1 and item.upper().endswith("L"):
            last.add(DAY_OF_WEEK.value(item[:-1]) % 7)
        else:
            plain.append(item)
    weekdays = parse_values(",".join(plain), DAY_OF_WEEK) if plain else frozenset()
    return _ByWeekday(frozenset(day % 7 for day in weekdays), frozenset(last), frozenset(nth))


class CronTimes:
    """The seconds, minutes and hours fields as a TimeRule: their cross product."""

    __slots__ = ("hours", "minutes", "seconds")

    def __init__(self, seconds: frozenset[int], minutes: frozenset[int], hours: frozenset[int]):
        self.seconds = tuple(sorted(seconds))
        self.minutes = tuple(sorted(minutes))
        self.hours = tuple(sorted(hours))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CronTimes) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[tuple[int, ...], ...]:
        return self.seconds, self.minutes, self.hours

    def first_at_or_after(self, second_of_day: int) -> int | None:
        hour, rest = divmod(second_of_day, 3600)
        minute, second = divmod(rest, 60)
        hours, minutes, seconds = self.hours, self.minutes, self.seconds
        h = bisect_left(hours, hour)
        if h < len(hours) and hours[h] == hour:
            m = bisect_left(minutes, minute)
            if m < len(minutes) and minutes[m] == minute:
                s = bisect_left(seconds, second)
                if s < len(seconds):
                    return hour * 3600 + minute * 60 + seconds[s]
                m += 1
            if m < len(minutes):
                return hour * 3600 + minutes[m] * 60 + seconds[0]
            h += 1
        if h < len(hours):
            return hours[h] * 3600 + minutes[0] * 60 + seconds[0]
        return None


@dataclass(frozen=True, slots=True)
class CronExpression:
    """A parsed cron expression: what matches, and which DST rule it follows."""

    text: str
    fields: tuple[str, ...]  # always six: seconds first ("0" when the text had five)
    times: CronTimes
    days: DaySet
    dst_rule: DstRule

    @classmethod
    def parse(cls, text: str) -> CronExpression:
        # An expression is an immutable value and many jobs share one: each text is parsed
        # once, up to _PARSED_LIMIT texts; past that the memo starts afresh.
        parsed = _parsed.get(text)
        if parsed is None:
            if len(_parsed) >= _PARSED_LIMIT:
                _parsed.clear()
            parsed = _parsed[text] = _parse(text)
        return parsed


_PARSED_LIMIT = 1024
_parsed: dict[str, CronExpression] = {}


def _parse(text: str) -> CronExpression:
    stripped = " ".join(text.split())
    fields = _split_fields(stripped)
    seconds, minutes, hours, dom, months, dow = fields
    days = _day_set(dom, months, dow)
    times = CronTimes(
        parse_values(seconds, SECOND), parse_values(minutes, MINUTE), parse_values(hours, HOUR)
    )
    return CronExpression(stripped, fields, times, days, _dst_rule(stripped, minutes, hours))


def _split_fields(text: str) -> tuple[str, ...]:
    if text.startswith("@"):
        expanded = NICKNAMES.get(text.lower())
        if expanded is None:
            if text.lower() == "@reboot":
                raise ScheduleError("cron", "@reboot is not supported: jobs fire on a clock")
            raise ScheduleError("cron", f"unknown nickname {text!r}")
        text = expanded
    fields = text.split()
    if len(fields) == 5:
        return ("0", *fields)
    if len(fields) == 6:
        return tuple(fields)
    count = f"{len(fields)} field" + ("" if len(fields) == 1 else "s")
    raise ScheduleError(
        "cron",
        f"{text!r} has {count}; expected 5 (minute hour day-of-month month day-of-week) "
        "or 6 (seconds first)",
    )


def _day_set(dom: str, months: str, dow: str) -> DaySet:
    # '?' is Quartz for "no specific value": the same as '*' here.
    by_date = parse_day_of_month("*" if dom == "?" else dom)
    by_weekday = parse_day_of_week("*" if dow == "?" else dow)
    return DaySet(
        months=parse_values(months, MONTH),
        **by_date._asdict(),
        **by_weekday._asdict(),
        is_day_and=dom.startswith(("*", "?")) or dow.startswith(("*", "?")),
    )


def _dst_rule(text: str, minutes: str, hours: str) -> DstRule:
    """Debian cron's split: a 5-field job at a fixed minute and hour is fixed-time."""
    is_five_fields = text.startswith("@") or len(text.split()) == 5
    if is_five_fields and not minutes.startswith("*") and not hours.startswith("*"):
        return DstRule.FIXED_TIME
    return DstRule.WALL_CLOCK
