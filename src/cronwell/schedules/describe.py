"""Plain-English descriptions of schedules, e.g. ``At 09:00, Monday through Friday``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import timedelta

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
        parts.append(f"in {_field(month, 'month', MONTH_NAMES, 1, MONTHS)}")
    return ", ".join(part for part in parts if part)


def _describe_time(seconds: str, minutes: str, hours: str) -> str:
    if all(_PLAIN_LIST.fullmatch(field) for field in (seconds, minutes, hours)):
        times = [
            int(h) * 3600 + int(m) * 60 + int(s)
            for h in hours.split(",") for m in minutes.split(",") for s in seconds.split(",")
        ]  # fmt: skip
        if len(times) <= 6:
            return describe_times(times)
    parts = []
    if seconds != "0":
        parts.append(_field(seconds, "second"))
    if minutes != "*" or not parts:
        parts.append(_field(minutes, "minute"))
    if hours != "*" or not parts[-1].startswith("every"):
        parts.append(_field(hours, "hour"))
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
        words.insert(0, _field(",".join(plain), "day"))
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
            words.append(_field(item, "day-of-week", DAY_NAMES, 0, WEEKDAYS))
    return join(words)


def _weekday(text: str) -> str:
    return WEEKDAYS[(DAY_NAMES.index(text) if text in DAY_NAMES else int(text)) % 7]


def _field(
    text: str,
    unit: str,
    names: Sequence[str] = (),
    base: int = 0,
    words: Sequence[str] = (),
) -> str:
    """One field's items in words: ``every 15 minutes``, ``Monday through Friday``, ..."""

    def value(item: str) -> str:
        upper = item.upper()
        number = names.index(upper) + base if upper in names else int(item)
        return words[(number - base) % len(words)] if words else str(number)

    phrases = []
    for item in text.split(","):
        base_text, slash, step = item.partition("/")
        low, dash, high = base_text.partition("-")
        if base_text == "*":
            phrase = f"every {step} {unit}s" if slash else f"every {unit}"
        elif dash:
            phrase = f"{value(low)} through {value(high)}"
            phrase = f"every {step} {unit}s from {phrase}" if slash else phrase
        else:
            phrase = f"every {step} {unit}s from {value(low)}" if slash else value(low)
        phrases.append(phrase)
    if words or all(phrase.startswith("every") for phrase in phrases):
        return join(phrases)
    return f"{unit}{'s' if len(phrases) > 1 or ' through ' in phrases[0] else ''} {join(phrases)}"
