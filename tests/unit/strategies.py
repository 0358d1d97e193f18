"""Hypothesis strategies for schedules: structures for the references, text for cronwell.

Each case strategy yields a ``Case``: the spec as cronwell reads it (text or mapping), the
default zone passed to ``parse_schedule``, the zone the schedule must use, and the rule the
references evaluate. Instants lean hard toward the DST transitions of the zone, leap days and
month ends, where schedulers go wrong.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from tests.unit.reference import (
    NICKNAMES,
    CronSpec,
    Field,
    Interval,
    Item,
    LastDay,
    LastOf,
    LastWeekday,
    NearestWeekday,
    Never,
    NthOf,
    OnceAt,
    Onward,
    Rule,
    Span,
    Star,
    Value,
    WallTime,
    cron_rule,
    daily_rule,
    monthly_rule,
    nickname_spec,
    weekly_rule,
)

ZONES = (
    "UTC",
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "America/Santiago",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
)
FIRST_YEAR = 1995
LAST_YEAR = 2035
MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Case:
    """A schedule as cronwell is given it, and as the references evaluate it.

    ``form`` is ``text`` (the compact text), ``mapping`` (``{kind: value, **extra}``) or
    ``mapping-zone`` (the mapping with its own ``timezone``, over a different default zone).
    ``start`` and ``end`` are the window the references apply; ``extra`` says how cronwell is
    told about it.
    """

    kind: str
    text: str
    value: object
    rule: Rule
    zone: str
    default_zone: str
    form: str = "text"
    extra: tuple[tuple[str, object], ...] = ()
    start: datetime | None = None
    end: datetime | None = None

    @property
    def spec(self) -> str | dict[str, object]:
        if self.form == "text":
            return self.text
        spec: dict[str, object] = {self.kind: self.value, **dict(self.extra)}
        if self.form == "mapping-zone":
            spec["timezone"] = self.zone
        return spec


# --- transitions and instants -------------------------------------------------------------


@cache
def transitions(zone_name: str) -> tuple[datetime, ...]:
    """UTC instants where the zone's offset changes, 1995 through 2035."""
    zone = ZoneInfo(zone_name)
    found = []
    day = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
    offset = day.astimezone(zone).utcoffset()
    while day.year <= LAST_YEAR:
        following = day + timedelta(days=1)
        if following.astimezone(zone).utcoffset() != offset:
            moment = day
            while moment.astimezone(zone).utcoffset() == offset:
                moment += timedelta(minutes=1)
            found.append(moment)
            offset = moment.astimezone(zone).utcoffset()
        day = following
    return tuple(found)


def _utc(wall: datetime, zone: ZoneInfo) -> datetime:
    return wall.replace(tzinfo=zone).astimezone(UTC)


@st.composite
def near_transition(draw: st.DrawFn, zone_name: str) -> datetime:
    known = transitions(zone_name)
    if not known:
        return draw(anywhere())
    moment = draw(st.sampled_from(known))
    minutes = draw(st.one_of(st.integers(-180, 180), st.integers(-36 * 60, 36 * 60)))
    return moment + timedelta(minutes=minutes) + draw(_within_minute())


@st.composite
def _within_minute(draw: st.DrawFn) -> timedelta:
    seconds = draw(st.one_of(st.just(0), st.integers(0, 59)))
    micros = draw(st.one_of(st.just(0), st.integers(0, 999_999)))
    return timedelta(seconds=seconds, microseconds=micros)


@st.composite
def _wall_on(draw: st.DrawFn, zone_name: str, day: date) -> datetime:
    wall = datetime(day.year, day.month, day.day, draw(st.integers(0, 23)))
    wall += timedelta(minutes=draw(st.integers(0, 59)))
    wall = wall.replace(fold=draw(st.integers(0, 1)))
    return _utc(wall, ZoneInfo(zone_name)) + draw(_within_minute())


@st.composite
def month_end(draw: st.DrawFn, zone_name: str) -> datetime:
    year = draw(st.integers(FIRST_YEAR, LAST_YEAR))
    month = draw(st.integers(1, 12))
    last = calendar.monthrange(year, month)[1]
    day = date(year, month, draw(st.integers(27, last)))
    return draw(_wall_on(zone_name, day))


@st.composite
def leap_day(draw: st.DrawFn, zone_name: str) -> datetime:
    year = draw(st.sampled_from([2028, 2032]))
    day = date(year, 2, 28) + timedelta(days=draw(st.integers(-1, 2)))
    return draw(_wall_on(zone_name, day))


def anywhere() -> st.SearchStrategy[datetime]:
    return st.datetimes(
        min_value=datetime(FIRST_YEAR, 1, 1), max_value=datetime(LAST_YEAR, 12, 31, 23, 59)
    ).map(lambda naive: naive.replace(tzinfo=UTC))


@st.composite
def instants(draw: st.DrawFn, zone_name: str) -> datetime:
    """An aware instant, most often within a day and a half of a DST transition of the zone.

    It is expressed in UTC, in the zone itself or at a fixed offset: all name the same instant.
    """
    instant: datetime = draw(
        st.one_of(
            near_transition(zone_name),
            near_transition(zone_name),
            near_transition(zone_name),
            month_end(zone_name),
            leap_day(zone_name),
            anywhere(),
        )
    )
    shown_in: list[tzinfo] = [UTC, ZoneInfo(zone_name), timezone(timedelta(hours=-3.5))]
    return instant.astimezone(draw(st.sampled_from(shown_in)))


# --- cron expressions ---------------------------------------------------------------------


def _any_case(word: str) -> st.SearchStrategy[str]:
    letters = [st.sampled_from([letter.lower(), letter.upper()]) for letter in word]
    return st.tuples(*letters).map("".join)


@dataclass(frozen=True)
class Bounds:
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0
    favourites: tuple[int, ...] = ()
    # Day of week: an ``a/s`` reaching 7 means Sunday or nothing, depending on the reading
    # of "the field maximum"; the rules do not settle which, so such items are not drawn.
    onward_top: int | None = None

    def number(self) -> st.SearchStrategy[int]:
        plain = st.integers(self.low, self.high)
        return st.one_of(st.sampled_from(self.favourites), plain) if self.favourites else plain

    def token(self, value: int) -> st.SearchStrategy[str]:
        index = value - self.name_base
        if self.names and 0 <= index < len(self.names):
            return st.one_of(st.just(str(value)), _any_case(self.names[index]))
        return st.just(str(value))


SECOND_BOUNDS = Bounds(0, 59, favourites=(0, 30, 59))
MINUTE_BOUNDS = Bounds(0, 59, favourites=(0, 15, 30, 45, 59))
HOUR_BOUNDS = Bounds(0, 23, favourites=(0, 1, 2, 3, 23))
DOM_BOUNDS = Bounds(1, 31, favourites=(1, 13, 15, 28, 29, 30, 31))
MONTH_BOUNDS = Bounds(1, 12, MONTH_NAMES, name_base=1, favourites=(2, 3, 4, 10, 11))
DOW_BOUNDS = Bounds(0, 7, DAY_NAMES, favourites=(0, 5, 6, 7), onward_top=6)


@st.composite
def star(draw: st.DrawFn, bounds: Bounds) -> Item:
    step = draw(st.one_of(st.just(1), st.integers(1, bounds.high - bounds.low + 1)))
    return Star() if step == 1 and draw(st.booleans()) else Star(step, f"*/{step}")


@st.composite
def value(draw: st.DrawFn, bounds: Bounds) -> Item:
    number = draw(bounds.number())
    return Value(number, draw(bounds.token(number)))


@st.composite
def span(draw: st.DrawFn, bounds: Bounds) -> Item:
    low, high = sorted((draw(bounds.number()), draw(bounds.number())))
    text = f"{draw(bounds.token(low))}-{draw(bounds.token(high))}"
    step = draw(st.one_of(st.just(1), st.integers(1, bounds.high - bounds.low + 1)))
    if step == 1 and draw(st.booleans()):
        return Span(low, high, 1, text)
    return Span(low, high, step, f"{text}/{step}")


@st.composite
def onward(draw: st.DrawFn, bounds: Bounds) -> Item:
    top = bounds.high if bounds.onward_top is None else bounds.onward_top
    start = draw(st.integers(bounds.low, top))
    step = draw(st.integers(1, bounds.high - bounds.low + 1))
    if bounds.onward_top is not None and (bounds.high - start) % step == 0:
        step = bounds.high - start + 1
    return Onward(start, step, f"{draw(bounds.token(start))}/{step}")


def plain_item(bounds: Bounds, *, with_star: bool = True) -> st.SearchStrategy[Item]:
    kinds = [value(bounds), value(bounds), span(bounds), onward(bounds)]
    return st.one_of(*kinds, star(bounds)) if with_star else st.one_of(*kinds)


def plain_field(bounds: Bounds, *, first_is_star: bool | None) -> st.SearchStrategy[Field]:
    """A comma list; ``first_is_star`` True/False forces how it starts, None lets it vary."""
    if first_is_star is None:
        first = plain_item(bounds)
    elif first_is_star:
        first = star(bounds)
    else:
        first = plain_item(bounds, with_star=False)
    rest = st.lists(plain_item(bounds), max_size=2)
    return st.tuples(first, rest).map(lambda pair: Field((pair[0], *pair[1])))


def just_star() -> st.SearchStrategy[Field]:
    return st.just(Field((Star(),)))


@st.composite
def dom_extension(draw: st.DrawFn) -> Item:
    kind = draw(st.sampled_from(["L", "LW", "W"]))
    if kind == "L":
        return LastDay()
    if kind == "LW":
        return LastWeekday()
    day = draw(st.one_of(st.sampled_from([1, 15, 28, 29, 30, 31]), st.integers(1, 31)))
    return NearestWeekday(day, f"{day}W")


@st.composite
def dow_extension(draw: st.DrawFn) -> Item:
    weekday = draw(st.integers(0, 7))
    if draw(st.booleans()):
        return LastOf(weekday, f"{weekday}L")
    nth = draw(st.integers(1, 5))
    return NthOf(weekday, nth, f"{weekday}#{nth}")


def extension_field(
    extension: st.SearchStrategy[Item], bounds: Bounds, *, in_lists: bool
) -> st.SearchStrategy[Field]:
    if not in_lists:
        return extension.map(lambda item: Field((item,)))
    items = st.lists(st.one_of(extension, plain_item(bounds, with_star=False)), max_size=2)
    return st.tuples(extension, items).map(lambda pair: Field((pair[0], *pair[1])))


def dom_field(*, in_lists: bool) -> st.SearchStrategy[Field]:
    return st.one_of(
        just_star(),
        just_star(),
        plain_field(DOM_BOUNDS, first_is_star=None),
        extension_field(dom_extension(), DOM_BOUNDS, in_lists=in_lists),
    )


def dow_field(*, in_lists: bool) -> st.SearchStrategy[Field]:
    return st.one_of(
        just_star(),
        just_star(),
        plain_field(DOW_BOUNDS, first_is_star=None),
        extension_field(dow_extension(), DOW_BOUNDS, in_lists=in_lists),
    )


def month_field() -> st.SearchStrategy[Field]:
    return st.one_of(just_star(), just_star(), plain_field(MONTH_BOUNDS, first_is_star=None))


@st.composite
def cron_specs(draw: st.DrawFn, kind: str, *, extensions_in_lists: bool = False) -> CronSpec:
    """``kind`` is ``fixed`` (5 fields, minute and hour not starting with ``*``), ``wall``
    (5 fields, minute or hour starting with ``*``) or ``six`` (a leading seconds field)."""
    if kind == "fixed":
        minute = draw(plain_field(MINUTE_BOUNDS, first_is_star=False))
        hour = draw(plain_field(HOUR_BOUNDS, first_is_star=False))
    else:
        star_in = draw(st.sampled_from(["minute", "hour", "both"] if kind == "wall" else ["-"]))
        minute_star = True if star_in in {"minute", "both"} else None
        hour_star = True if star_in in {"hour", "both"} else None
        minute = draw(plain_field(MINUTE_BOUNDS, first_is_star=minute_star))
        hour = draw(plain_field(HOUR_BOUNDS, first_is_star=hour_star))
    second = draw(plain_field(SECOND_BOUNDS, first_is_star=None)) if kind == "six" else None
    return CronSpec(
        minute,
        hour,
        draw(dom_field(in_lists=extensions_in_lists)),
        draw(month_field()),
        draw(dow_field(in_lists=extensions_in_lists)),
        second=second,
    )


def nicknames() -> st.SearchStrategy[CronSpec]:
    return st.sampled_from(sorted(NICKNAMES)).map(nickname_spec)


# --- cases --------------------------------------------------------------------------------


@st.composite
def case_of(
    draw: st.DrawFn, kind: str, text: str, value: object, rule: Rule, *, forms: tuple[str, ...]
) -> Case:
    zone = draw(st.sampled_from(ZONES))
    form = draw(st.sampled_from(forms))
    default = zone
    if form == "mapping-zone":
        default = draw(st.sampled_from([z for z in ZONES if z != zone]))
    return Case(kind, text, value, rule, zone, default, form)


ALL_FORMS = ("text", "mapping", "mapping-zone")
MAPPING_FORMS = ("mapping", "mapping-zone")


@st.composite
def cron_cases(
    draw: st.DrawFn,
    kind: str,
    *,
    extensions_in_lists: bool = False,
    forms: tuple[str, ...] = ALL_FORMS,
) -> Case:
    spec = draw(cron_specs(kind, extensions_in_lists=extensions_in_lists))
    text = spec.render()
    return draw(case_of("cron", text, text, cron_rule(spec), forms=forms))


@st.composite
def nickname_cases(draw: st.DrawFn) -> Case:
    spec = draw(nicknames())
    text = spec.render()
    return draw(case_of("cron", text, text, cron_rule(spec), forms=ALL_FORMS))


def wall_times(*, with_seconds: bool = True) -> st.SearchStrategy[WallTime]:
    return st.builds(
        WallTime,
        hour=HOUR_BOUNDS.number(),
        minute=st.one_of(st.sampled_from([0, 30, 59]), st.integers(0, 59)),
        second=st.one_of(st.just(0), st.integers(0, 59)),
        has_seconds=st.booleans() if with_seconds else st.just(False),
    ).map(lambda t: t if t.has_seconds else WallTime(t.hour, t.minute))


def time_lists(*, with_seconds: bool = True) -> st.SearchStrategy[tuple[WallTime, ...]]:
    """One to three distinct wall times; without seconds they are HH:MM."""
    return st.lists(
        wall_times(with_seconds=with_seconds),
        min_size=1,
        max_size=3,
        unique_by=lambda t: (t.hour, t.minute, t.second),
    ).map(tuple)


def _times_text(times: tuple[WallTime, ...]) -> str:
    return ",".join(t.render() for t in times)


@st.composite
def daily_cases(
    draw: st.DrawFn, *, forms: tuple[str, ...] = ALL_FORMS, with_seconds: bool = True
) -> Case:
    times = draw(time_lists(with_seconds=with_seconds))
    text = _times_text(times)
    value = draw(st.sampled_from([text, [t.render() for t in times]]))
    return draw(case_of("daily", f"daily {text}", value, daily_rule(times), forms=forms))


@st.composite
def weekday_sets(draw: st.DrawFn) -> tuple[frozenset[int], str, list[str]]:
    """Days (Monday 0) with their compact text (names and ranges) and a list of names.

    Ranges stay within Monday to Saturday, where Sunday-first and Monday-first weeks agree.
    """
    parts: list[str] = []
    days: set[int] = set()
    for _ in range(draw(st.integers(1, 3))):
        first = draw(st.integers(0, 6))
        last = draw(st.integers(first, 5)) if first < 6 and draw(st.booleans()) else first
        parts.append(WEEK[first] if first == last else f"{WEEK[first]}-{WEEK[last]}")
        days.update(range(first, last + 1))
    return frozenset(days), ",".join(parts), [WEEK[d] for d in sorted(days)]


@st.composite
def weekly_cases(
    draw: st.DrawFn, *, forms: tuple[str, ...] = ALL_FORMS, with_seconds: bool = True
) -> Case:
    days, days_text, day_list = draw(weekday_sets())
    times = draw(time_lists(with_seconds=with_seconds))
    text = f"weekly {days_text} {_times_text(times)}"
    value = {"days": day_list, "times": [t.render() for t in times]}
    return draw(case_of("weekly", text, value, weekly_rule(days, times), forms=forms))


@st.composite
def monthly_cases(
    draw: st.DrawFn, *, forms: tuple[str, ...] = ALL_FORMS, with_seconds: bool = True
) -> Case:
    day_numbers = st.one_of(st.sampled_from([1, 15, 28, 29, 30, 31]), st.integers(1, 31))
    days = draw(st.lists(day_numbers, max_size=3, unique=True))
    has_last = draw(st.booleans()) or not days
    listed: list[int | str] = [*days, "last"] if has_last else list(days)
    times = draw(time_lists(with_seconds=with_seconds))
    text = f"monthly {','.join(str(d) for d in listed)} {_times_text(times)}"
    value = {"days": listed, "times": [t.render() for t in times]}
    rule = monthly_rule(frozenset(days), has_last, times)
    return draw(case_of("monthly", text, value, rule, forms=forms))


UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def as_given(moment: datetime, zone_name: str) -> st.SearchStrategy[object]:
    """An aware datetime, or ISO-8601 text with an offset, in UTC or in the zone."""
    local = moment.astimezone(ZoneInfo(zone_name))
    return st.sampled_from([moment, local, moment.isoformat(), local.isoformat()])


@st.composite
def interval_cases(draw: st.DrawFn, *, forms: tuple[str, ...] = ALL_FORMS) -> Case:
    unit = draw(st.sampled_from(sorted(UNITS)))
    count = draw(st.one_of(st.sampled_from([1, 5, 90]), st.integers(1, 1000)))
    every = timedelta(seconds=count * UNITS[unit])
    text = f"{count}{unit}"
    case = draw(case_of("every", f"every {text}", text, Interval(every), forms=forms))
    if case.form == "text" or draw(st.booleans()):
        return case
    start = draw(instants(case.zone))
    extra = (("start", draw(as_given(start, case.zone))),)
    return replace(case, rule=Interval(every, start), extra=extra, start=start)


@st.composite
def once_cases(draw: st.DrawFn, *, forms: tuple[str, ...] = ALL_FORMS) -> Case:
    """Once at a wall time read in the zone (gap and overlap included) or at a fixed offset."""
    case = draw(case_of("once", "", "", Never(), forms=forms))
    local = draw(instants(case.zone)).astimezone(ZoneInfo(case.zone))
    wall = local.replace(tzinfo=None, microsecond=0)
    if draw(st.booleans()):
        wall = wall.replace(second=0)
    timespec = "minutes" if wall.second == 0 and draw(st.booleans()) else "seconds"
    rule = OnceAt(wall)
    if draw(st.booleans()):
        offset = timezone(local.utcoffset() or timedelta(0))
        rule = OnceAt(wall.replace(tzinfo=offset))
    text = rule.when.isoformat(timespec=timespec)
    return replace(case, text=f"once {text}", value=text, rule=rule)


def timed_cases(*, forms: tuple[str, ...] = ALL_FORMS) -> st.SearchStrategy[Case]:
    """Cases of every timed kind, for windows."""
    return st.one_of(
        once_cases(forms=forms),
        cron_cases("fixed", forms=forms),
        cron_cases("wall", forms=forms),
        cron_cases("six", forms=forms),
        daily_cases(forms=forms),
        weekly_cases(forms=forms),
        monthly_cases(forms=forms),
        interval_cases(forms=forms),
    )


# --- schedules aimed at a transition ------------------------------------------------------


@st.composite
def wall_minute_at_transition(draw: st.DrawFn, zone_name: str) -> tuple[datetime, datetime]:
    """A transition of the zone, and a naive wall minute it skips or repeats."""
    moment = draw(st.sampled_from(transitions(zone_name)))
    zone = ZoneInfo(zone_name)
    offsets = [(moment - timedelta(microseconds=1)).astimezone(zone).utcoffset(),
               moment.astimezone(zone).utcoffset()]  # fmt: skip
    low, high = sorted(offset or timedelta(0) for offset in offsets)
    minutes = (high - low) // timedelta(minutes=1)
    wall = moment.replace(tzinfo=None) + low
    return moment, wall + timedelta(minutes=draw(st.integers(0, minutes - 1)))


def _with_value(f: Field, number: int, *, first: bool) -> Field:
    item = Value(number, str(number))
    return Field((item, *f.items)) if first else Field((*f.items, item))


@st.composite
def transition_cases(draw: st.DrawFn, kind: str) -> tuple[Case, datetime]:
    """A schedule due at a wall time that a transition skips or repeats, and an instant up to
    a day and a half before that transition.

    ``kind`` is a cron kind (``fixed``, ``wall``, ``six``) or ``daily``.
    """
    zone = draw(st.sampled_from([name for name in ZONES if transitions(name)]))
    moment, wall = draw(wall_minute_at_transition(zone))
    instant = moment - timedelta(
        minutes=draw(st.one_of(st.integers(1, 90), st.integers(1, 36 * 60)))
    )
    instant += draw(_within_minute())
    if kind == "daily":
        times = draw(time_lists())
        second = draw(st.one_of(st.just(0), st.integers(0, 59)))
        times = (*times, WallTime(wall.hour, wall.minute, second, has_seconds=second != 0))
        text = _times_text(times)
        case = draw(case_of("daily", f"daily {text}", text, daily_rule(times), forms=ALL_FORMS))
    else:
        spec = draw(cron_specs(kind))
        is_fixed = kind == "fixed"
        spec = replace(
            spec,
            minute=_with_value(spec.minute, wall.minute, first=is_fixed),
            hour=_with_value(spec.hour, wall.hour, first=is_fixed),
        )
        if draw(st.booleans()):
            every_day = Field((Star(),))
            spec = replace(spec, dom=every_day, month=every_day, dow=every_day)
        text = spec.render()
        case = draw(case_of("cron", text, text, cron_rule(spec), forms=ALL_FORMS))
    case = replace(case, zone=zone, default_zone=zone if case.form != "mapping-zone" else "UTC")
    return case, instant.astimezone(draw(st.sampled_from([UTC, ZoneInfo(zone)])))
