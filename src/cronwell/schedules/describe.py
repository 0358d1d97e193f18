"""Plain-English descriptions of schedules, e.g. ``At 09:00, Monday through Friday``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from itertools import product

from cronwell.schedules.cron import DAY_NAMES, MONTH_NAMES

WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip
ORDINALS = ("first", "second", "third", "fourth", "fifth")
_PLAIN_LIST = re.compile(r"\d+(,\d+)*")
_UNITS = (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def join(words: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def clock(second_of_day: int) -> str:
    hour, rest = divmod(second_of_day, 3600)
    minute, second = divmod(rest, 60)
    return f"{hour:02}:{minute:02}" + (f":{second:02}" if second else "")


def describe_times(seconds_of_day: Iterable[int]) -> str:
    return f"At {join([clock(second) for second in sorted(seconds_of_day)])}"


def describe_duration(span: timedelta) -> str:
    """``90 seconds``, ``5 minutes``, ``2 hours``: the largest unit that divides evenly."""
    total = span // timedelta(seconds=1)
    if span % timedelta(seconds=1) or total == 0:
        return f"{span.total_seconds():g} seconds"
    for unit, size in _UNITS:
        if total % size == 0:
            count = total // size
            return f"{count} {unit}" + ("s" if count != 1 else "")
    raise AssertionError("the second divides every whole number of seconds")


def describe_cron(fields: Sequence[str]) -> str:
    """The English for a six-field cron expression (seconds first)."""
    seconds, minutes, hours, dom, month, dow = fields
    parts = [_describe_time(seconds, minutes, hours), _describe_days(dom, dow)]
    if month != "*":
        parts.append(f"in {_field(month, MONTHS_UNIT)}")
    return ", ".join(part for part in parts if part)


def _describe_time(seconds: str, minutes: str, hours: str) -> str:
    if all(_PLAIN_LIST.fullmatch(field) for field in (seconds, minutes, hours)):
        fields = (hours.split(","), minutes.split(","), seconds.split(","))
        times = [int(h) * 3600 + int(m) * 60 + int(s) for h, m, s in product(*fields)]
        if len(times) <= 6:
            return describe_times(times)
    parts = []
    if seconds != "0":
        parts.append(_field(seconds, SECONDS))
    if minutes != "*" or not parts or not parts[-1].startswith("every"):
        parts.append(_field(minutes, MINUTES))
    if hours != "*" or not parts[-1].startswith("every"):
        parts.append(_field(hours, HOURS))
    text = ", ".join(parts)
    return text[0].upper() + text[1:] if text.startswith("every") else f"At {text}"


def _describe_days(dom: str, dow: str) -> str:
    by_date = "" if dom in ("*", "?") else describe_days_of_month(dom)
    by_weekday = "" if dow in ("*", "?") else _describe_dow(dow)
    if by_date and by_weekday:
        joiner = " if it is also " if dom.startswith("*") or dow.startswith("*") else " or "
        return f"{by_date}{joiner}{by_weekday}"
    return by_date or by_weekday


def describe_days_of_month(dom: str) -> str:
    """``on days 1 and 15 of the month``, from a cron day-of-month field."""
    plain, words = [], []
    for item in dom.split(","):
        upper = item.upper()
        if upper == "L":
            words.append("the last day")
        elif upper == "LW":
            words.append("the last weekday")
        elif upper.endswith("W"):
            words.append(f"the weekday nearest day {item[:-1]}")
        else:
            plain.append(item)
    if plain and all(item.isdigit() for item in plain):
        words[:0] = [f"day{'s' if len(plain) > 1 else ''} {plain[0]}", *plain[1:]]
    elif plain:
        words.insert(0, _field(",".join(plain), DAYS))
    return f"on {join(words)} of the month"


def _describe_dow(dow: str) -> str:
    words = []
    for item in dow.split(","):
        upper = item.upper()
        if "#" in upper:
            day, _, ordinal = upper.partition("#")
            words.append(f"on the {ORDINALS[int(ordinal) - 1]} {_weekday(day)} of the month")
        elif len(upper) > 1 and upper.endswith("L"):
            words.append(f"on the last {_weekday(upper[:-1])} of the month")
        else:
            words.append(_field(item, WEEKDAYS_UNIT))
    return join(words)


def _weekday(text: str) -> str:
    return WEEKDAYS[(DAY_NAMES.index(text) if text in DAY_NAMES else int(text)) % 7]


@dataclass(frozen=True, slots=True)
class _Unit:
    """How one cron field reads in English."""

    singular: str
    plural: str
    names: tuple[str, ...] = ()
    base: int = 0
    words: tuple[str, ...] = ()
    counts_steps: bool = True  # "every 15 minutes", else "every 2nd day of the month"

    def value(self, item: str) -> str:
        upper = item.upper()
        number = self.names.index(upper) + self.base if upper in self.names else int(item)
        return self.words[(number - self.base) % len(self.words)] if self.words else str(number)

    def every(self, step: str) -> str:
        if not step:
            return f"every {self.singular}"
        if self.counts_steps:
            return f"every {step} {self.plural}"
        return f"every {ordinal(int(step))} {self.singular}"


SECONDS = _Unit("second", "seconds")
MINUTES = _Unit("minute", "minutes")
HOURS = _Unit("hour", "hours")
DAYS = _Unit("day", "days", counts_steps=False)
MONTHS_UNIT = _Unit("month", "months", MONTH_NAMES, 1, MONTHS, counts_steps=False)
WEEKDAYS_UNIT = _Unit(
    "day of the week", "days of the week", DAY_NAMES, 0, WEEKDAYS, counts_steps=False
)


def ordinal(number: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ``11th``, ``22nd``."""
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def _field(text: str, unit: _Unit) -> str:
    """One field's items in words: ``every 15 minutes``, ``Monday through Friday``, ..."""
    phrases = [_item(item, unit) for item in text.split(",")]
    if unit.words or all(phrase.startswith("every") for phrase in phrases):
        return join(phrases)
    is_plural = len(phrases) > 1 or " through " in phrases[0]
    return f"{unit.plural if is_plural else unit.singular} {join(phrases)}"


def _item(item: str, unit: _Unit) -> str:
    base, slash, step = item.partition("/")
    if base == "*":
        return unit.every(step)
    low, dash, high = base.partition("-")
    span = f"{unit.value(low)} through {unit.value(high)}" if dash else unit.value(low)
    return f"{unit.every(step)} from {span}" if slash else span
