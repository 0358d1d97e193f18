"""Schedules against slow references: every kind, seven zones, DST transitions and windows.

Property tests draw a schedule as a structure, give cronwell its text, and compare
``next_after`` with the references in ``reference.py`` over chains of successive answers.
Example tests pin the cases the DST rules were written for.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cronwell.schedules import ScheduleError, parse_schedule
from cronwell.schedules.base import Schedule
from tests.unit.reference import (
    EPOCH,
    EPSILON,
    SECOND,
    ZERO,
    Answer,
    Beyond,
    Interval,
    WallRule,
    is_never_due,
    next_due,
)
from tests.unit.strategies import (
    MAPPING_FORMS,
    ZONES,
    Case,
    as_given,
    cron_cases,
    daily_cases,
    instants,
    interval_cases,
    monthly_cases,
    nickname_cases,
    once_cases,
    timed_cases,
    transition_cases,
    weekly_cases,
)

KEY = "nightly-report"
CHAIN = st.integers(3, 5)


def ours(case: Case, key: str = KEY) -> Schedule:
    return parse_schedule(case.spec, timezone=case.default_zone, key=key)


def ours_unless_never_due(case: Case, key: str = KEY) -> Schedule | None:
    """Parse ``case``; cronwell may refuse a calendar only when no day of it is ever due."""
    try:
        return ours(case, key)
    except ScheduleError as error:
        assert isinstance(case.rule, WallRule) and is_never_due(case.rule), (
            f"{case.spec!r} refused ({error}), yet the reference finds days it is due"
        )
        return None


def reference(case: Case, instant: datetime, shift: timedelta = ZERO) -> Answer:
    zone = ZoneInfo(case.zone)
    return next_due(case.rule, zone, instant, start=case.start, end=case.end, shift=shift)


def show(moment: datetime | None, zone: str) -> str:
    if moment is None:
        return "None"
    return f"{moment.astimezone(UTC).isoformat()} ({moment.astimezone(ZoneInfo(zone))})"


def assert_agrees(case: Case, instant: datetime, got: datetime | None, expected: Answer) -> None:
    asked = f"{case.spec!r} in {case.zone}, after {show(instant, case.zone)}"
    assert got is None or (got.tzinfo is not None and got.utcoffset() == ZERO), (
        f"{asked}: {got!r} is not an aware UTC datetime"
    )
    if isinstance(expected, Beyond):
        assert got is None or got > expected.limit, (
            f"{asked}: ours {show(got, case.zone)}, reference: nothing up to "
            f"{show(expected.limit, case.zone)}"
        )
        return
    assert got == expected, (
        f"{asked}: ours {show(got, case.zone)}, reference {show(expected, case.zone)}"
    )


def second_pass(moment: datetime, zone: str) -> datetime | None:
    """The same wall time on its second pass, when ``moment`` is the first of an overlap."""
    wall = moment.astimezone(ZoneInfo(zone))
    later = wall.replace(fold=1)
    if wall.fold == 0 and later.utcoffset() != wall.utcoffset():
        return later.astimezone(UTC)
    return None


def check_chain(
    schedule: Schedule, case: Case, instant: datetime, steps: int, shift: timedelta = ZERO
) -> None:
    """Ask ``steps`` times in a row, each time from the previous answer; all must agree.

    From an answer that is the first pass of an ambiguous wall time, ask from its second
    pass too; and one microsecond before an answer must give that answer again.
    """
    assert schedule.timezone.key == case.zone
    asked = instant
    for _ in range(steps):
        got = schedule.next_after(asked)
        expected = reference(case, asked, shift)
        assert_agrees(case, asked, got, expected)
        if got is None or isinstance(expected, Beyond):
            break
        if got - EPSILON > asked:
            assert schedule.next_after(got - EPSILON) == got, f"{case.spec!r}: not stable"
        twin = second_pass(got, case.zone)
        if twin is not None:
            assert_agrees(case, twin, schedule.next_after(twin), reference(case, twin, shift))
        asked = got


def run_case(data: st.DataObject, case: Case) -> None:
    instant = data.draw(instants(case.zone), label="instant")
    schedule = ours_unless_never_due(case)
    if schedule is not None:
        check_chain(schedule, case, instant, data.draw(CHAIN, label="steps"))


# --- cron ---------------------------------------------------------------------------------


@settings(max_examples=250, deadline=None)
@given(st.data())
def test_cron_fixed_time_matches_reference(data: st.DataObject) -> None:
    run_case(data, data.draw(cron_cases("fixed"), label="case"))


@settings(max_examples=250, deadline=None)
@given(st.data())
def test_cron_wall_clock_matches_reference(data: st.DataObject) -> None:
    run_case(data, data.draw(cron_cases("wall"), label="case"))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_cron_six_fields_follow_the_wall_clock(data: st.DataObject) -> None:
    run_case(data, data.draw(cron_cases("six"), label="case"))


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_cron_day_extensions_inside_lists(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(["fixed", "wall"]), label="kind")
    run_case(data, data.draw(cron_cases(kind, extensions_in_lists=True), label="case"))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_cron_nicknames_match_reference(data: st.DataObject) -> None:
    run_case(data, data.draw(nickname_cases(), label="case"))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_schedules_at_skipped_and_repeated_wall_times(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(["fixed", "wall", "six", "daily"]), label="kind")
    case, instant = data.draw(transition_cases(kind), label="case")
    schedule = ours_unless_never_due(case)
    if schedule is not None:
        check_chain(schedule, case, instant, data.draw(CHAIN, label="steps"))


# --- the other kinds ----------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_interval_matches_reference(data: st.DataObject) -> None:
    run_case(data, data.draw(interval_cases(), label="case"))


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_daily_matches_reference(data: st.DataObject) -> None:
    run_case(data, data.draw(daily_cases(), label="case"))


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_weekly_matches_reference(data: st.DataObject) -> None:
    run_case(data, data.draw(weekly_cases(), label="case"))


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_monthly_matches_reference(data: st.DataObject) -> None:
    run_case(data, data.draw(monthly_cases(), label="case"))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_once_matches_reference(data: st.DataObject) -> None:
    case = data.draw(once_cases(), label="case")
    schedule = ours(case)
    instant = data.draw(instants(case.zone), label="instant")
    assert_agrees(case, instant, schedule.next_after(instant), reference(case, instant))
    at = reference(case, EPOCH)
    assert isinstance(at, datetime)
    assert schedule.next_after(at - EPSILON) == at
    assert schedule.next_after(at) is None


@settings(max_examples=30, deadline=None)
@given(
    spec=st.sampled_from(["manual", "event deploy", {"event": "deploy"}]),
    zone=st.sampled_from(ZONES),
    data=st.data(),
)
def test_event_and_manual_are_never_due(
    spec: str | dict[str, object], zone: str, data: st.DataObject
) -> None:
    schedule = parse_schedule(spec, timezone=zone, key=KEY)
    assert schedule.next_after(data.draw(instants(zone))) is None


# --- windows and jitter -------------------------------------------------------------------


@st.composite
def bound_near(draw: st.DrawFn, case: Case, near: datetime, shift: timedelta) -> datetime:
    """An instant within three days of ``near``, often exactly a fire time of ``case``."""
    # In UTC: arithmetic on a zoned datetime would move its wall clock, not the instant.
    moment = near.astimezone(UTC) + timedelta(minutes=draw(st.integers(-72 * 60, 72 * 60)))
    if draw(st.booleans()):
        fire = reference(case, moment, shift)
        if isinstance(fire, datetime):
            return fire
    return moment


@st.composite
def windowed(draw: st.DrawFn, case: Case, near: datetime, shift: timedelta = ZERO) -> Case:
    """``case`` with a start, an end or both near ``near``, given as datetimes or ISO text."""
    bounds = draw(st.sampled_from(["start", "end", "both"]))
    start = draw(bound_near(case, near, shift)) if bounds != "end" else None
    end = draw(bound_near(case, start or near, shift)) if bounds != "start" else None
    if start is not None and end is not None and end < start:
        start, end = end, start
    extra = [(k, v) for k, v in case.extra if k != "start"]
    if start is not None:
        extra.append(("start", draw(as_given(start, case.zone))))
    if end is not None:
        extra.append(("end", draw(as_given(end, case.zone))))
    rule = case.rule
    if isinstance(rule, Interval):
        rule = Interval(rule.every, start or EPOCH)
    return replace(case, rule=rule, extra=tuple(extra), start=start, end=end)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_windows_bound_the_fire_times(data: st.DataObject) -> None:
    case = data.draw(timed_cases(forms=MAPPING_FORMS), label="case")
    instant = data.draw(instants(case.zone), label="instant")
    bounded = data.draw(windowed(case, instant), label="windowed")
    schedule = ours_unless_never_due(bounded)
    if schedule is not None:
        check_chain(schedule, bounded, instant, data.draw(CHAIN, label="steps"))


def jitter_cases() -> st.SearchStrategy[Case]:
    """Kinds whose due instants are at least a minute apart (intervals: their period)."""
    return st.one_of(
        once_cases(forms=MAPPING_FORMS),
        cron_cases("fixed", forms=MAPPING_FORMS),
        cron_cases("wall", forms=MAPPING_FORMS),
        daily_cases(forms=MAPPING_FORMS, with_seconds=False),
        weekly_cases(forms=MAPPING_FORMS, with_seconds=False),
        monthly_cases(forms=MAPPING_FORMS, with_seconds=False),
        interval_cases(forms=MAPPING_FORMS).filter(
            lambda case: isinstance(case.rule, Interval) and case.rule.every >= 2 * SECOND
        ),
    )


@st.composite
def jittered(draw: st.DrawFn, case: Case) -> tuple[Case, timedelta]:
    """``case`` with a jitter smaller than the spacing of its due instants."""
    top = 59
    if isinstance(case.rule, Interval):
        top = min(int(case.rule.every.total_seconds()) - 1, 3600)
    seconds = draw(st.integers(1, top))
    given_as = draw(st.sampled_from([f"{seconds}s", seconds]))
    return replace(case, extra=(*case.extra, ("jitter", given_as))), seconds * SECOND


def measured_shift(
    schedule: Schedule, case: Case, instant: datetime, jitter: timedelta
) -> timedelta | None:
    """The jitter offset d of ``schedule``: its answer less the due instant it shifts.

    Due instants are further apart than the jitter, so exactly one lies in (answer - jitter,
    answer]; None when nothing is due.
    """
    got = schedule.next_after(instant)
    if got is None:
        expected = reference(case, instant)
        assert not isinstance(expected, datetime), (
            f"{case.spec!r}: ours None after {instant}, but {expected} is due"
        )
        return None
    due = reference(case, got - jitter)
    assert isinstance(due, datetime) and due <= got, (
        f"{case.spec!r}: {got} is no due instant shifted by less than {jitter}"
    )
    shift = got - due
    assert ZERO <= shift < jitter, f"{case.spec!r}: offset {shift} outside [0, {jitter})"
    return shift


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_jitter_shifts_every_fire_time_by_one_offset(data: st.DataObject) -> None:
    case, jitter = data.draw(jitter_cases().flatmap(jittered), label="case")
    key = data.draw(st.text(min_size=1, max_size=20), label="key")
    instant = data.draw(instants(case.zone), label="instant")
    schedule = ours_unless_never_due(case, key)
    if schedule is None:
        return
    shift = measured_shift(schedule, case, instant, jitter)
    if shift is None:
        return
    check_chain(schedule, case, instant, data.draw(CHAIN, label="steps"), shift)
    assert ours(case, key).next_after(instant) == schedule.next_after(instant)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_jitter_offset_follows_the_key(data: st.DataObject) -> None:
    first, jitter = data.draw(jitter_cases().flatmap(jittered), label="first")
    every = timedelta(hours=2)
    zone = data.draw(st.sampled_from(ZONES), label="zone")
    jitter_text = f"{int(jitter.total_seconds())}s"
    second = Case("every", "", "2h", Interval(every), zone, zone, "mapping")
    second = replace(second, extra=(("jitter", jitter_text),))
    key = data.draw(st.text(min_size=1, max_size=20), label="key")
    shifts = []
    for case in (first, second):
        instant = data.draw(instants(case.zone), label="instant")
        schedule = ours_unless_never_due(case, key)
        assume(schedule is not None)
        assert schedule is not None
        shifts.append(measured_shift(schedule, case, instant, jitter))
    assume(None not in shifts)
    assert shifts[0] == shifts[1], f"key {key!r}: offsets {shifts[0]} and {shifts[1]}"


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_windows_bound_the_jittered_fire_times(data: st.DataObject) -> None:
    case, jitter = data.draw(jitter_cases().flatmap(jittered), label="case")
    instant = data.draw(instants(case.zone), label="instant")
    schedule = ours_unless_never_due(case)
    assume(schedule is not None)
    assert schedule is not None
    shift = measured_shift(schedule, case, instant, jitter)
    assume(shift is not None)
    assert shift is not None
    bounded = data.draw(windowed(case, instant, shift), label="windowed")
    check_chain(ours(bounded), bounded, instant, data.draw(CHAIN, label="steps"), shift)


# --- examples -----------------------------------------------------------------------------


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def fires(spec: str, zone: str, after: str, count: int) -> list[str]:
    """The next ``count`` fire times after ``after``, as UTC ISO text."""
    schedule = parse_schedule(spec, timezone=zone, key=KEY)
    found: list[str] = []
    moment: datetime | None = utc(after)
    for _ in range(count):
        assert moment is not None
        moment = schedule.next_after(moment)
        found.append("None" if moment is None else moment.isoformat())
    return found


def z(*texts: str) -> list[str]:
    return [utc(text).isoformat() for text in texts]


NEW_YORK = "America/New_York"
LORD_HOWE = "Australia/Lord_Howe"


def test_new_york_spring_forward_fixed_time_fires_once_at_the_transition() -> None:
    assert fires("30 2 * * *", NEW_YORK, "2026-03-08T05:00Z", 2) == z(
        "2026-03-08T07:00Z", "2026-03-09T06:30Z"
    )


def test_new_york_spring_forward_wall_clock_has_no_two_oclock() -> None:
    assert fires("*/15 * * * *", NEW_YORK, "2026-03-08T06:30Z", 3) == z(
        "2026-03-08T06:45Z", "2026-03-08T07:00Z", "2026-03-08T07:15Z"
    )


def test_new_york_fall_back_fixed_time_fires_at_the_first_pass() -> None:
    assert fires("30 1 * * *", NEW_YORK, "2026-11-01T04:00Z", 2) == z(
        "2026-11-01T05:30Z", "2026-11-02T06:30Z"
    )


def test_new_york_fall_back_wall_clock_fires_both_passes() -> None:
    assert fires("*/30 * * * *", NEW_YORK, "2026-11-01T04:50Z", 5) == z(
        "2026-11-01T05:00Z",
        "2026-11-01T05:30Z",
        "2026-11-01T06:00Z",
        "2026-11-01T06:30Z",
        "2026-11-01T07:00Z",
    )


def test_new_york_asked_in_the_second_pass_goes_to_the_next_day() -> None:
    assert fires("45 1 * * *", NEW_YORK, "2026-11-01T06:30Z", 1) == z("2026-11-02T06:45Z")


def test_nicknames_follow_their_dst_rule() -> None:
    # @hourly reads the wall clock: 01:00 happens twice on the fall-back day.
    assert fires("@hourly", NEW_YORK, "2026-11-01T04:30Z", 3) == z(
        "2026-11-01T05:00Z", "2026-11-01T06:00Z", "2026-11-01T07:00Z"
    )
    # @daily is fixed-time: Santiago's midnight is skipped on 2026-09-06 and fires at 01:00.
    assert fires("@daily", "America/Santiago", "2026-09-05T12:00Z", 2) == z(
        "2026-09-06T04:00Z", "2026-09-07T03:00Z"
    )


def test_six_fields_follow_the_wall_clock() -> None:
    assert fires("0 30 2 * * *", NEW_YORK, "2026-03-08T05:00Z", 1) == z("2026-03-09T06:30Z")
    assert fires("0 30 1 * * *", NEW_YORK, "2026-11-01T04:00Z", 3) == z(
        "2026-11-01T05:30Z", "2026-11-01T06:30Z", "2026-11-02T06:30Z"
    )


def test_lord_howe_half_hour_spring_forward() -> None:
    # 02:00 +10:30 jumps to 02:30 +11:00 at 15:30Z.
    assert fires("15 2 * * *", LORD_HOWE, "2026-10-03T12:00Z", 2) == z(
        "2026-10-03T15:30Z", "2026-10-04T15:15Z"
    )
    assert fires("*/15 2 * * *", LORD_HOWE, "2026-10-03T12:00Z", 3) == z(
        "2026-10-03T15:30Z", "2026-10-03T15:45Z", "2026-10-04T15:00Z"
    )


def test_lord_howe_half_hour_fall_back() -> None:
    # 02:00 +11:00 falls back to 01:30 +10:30 at 15:00Z: 01:30-01:59 happens twice.
    assert fires("45 1 * * *", LORD_HOWE, "2026-04-04T12:00Z", 2) == z(
        "2026-04-04T14:45Z", "2026-04-05T15:15Z"
    )
    assert fires("*/15 1 * * *", LORD_HOWE, "2026-04-04T14:20Z", 5) == z(
        "2026-04-04T14:30Z",
        "2026-04-04T14:45Z",
        "2026-04-04T15:00Z",
        "2026-04-04T15:15Z",
        "2026-04-05T14:30Z",
    )


def test_santiago_midnight_gap() -> None:
    # 00:00 -04:00 jumps to 01:00 -03:00 at 04:00Z on 2026-09-06.
    assert fires("* 0 * * *", "America/Santiago", "2026-09-05T12:00Z", 1) == z("2026-09-07T03:00Z")
    assert fires("30 0 * * *", "America/Santiago", "2026-09-05T12:00Z", 2) == z(
        "2026-09-06T04:00Z", "2026-09-07T03:30Z"
    )


def test_kolkata_half_hour_offset() -> None:
    assert fires("0 9 * * *", "Asia/Kolkata", "2026-01-01T00:00Z", 1) == z("2026-01-01T03:30Z")
    assert fires("*/45 * * * *", "Asia/Kolkata", "2026-01-01T00:00Z", 3) == z(
        "2026-01-01T00:15Z", "2026-01-01T00:30Z", "2026-01-01T01:15Z"
    )


def test_leap_day() -> None:
    assert fires("0 0 29 2 *", "UTC", "2026-01-01T00:00Z", 2) == z(
        "2028-02-29T00:00Z", "2032-02-29T00:00Z"
    )
    assert fires("0 0 29 2 *", NEW_YORK, "2026-01-01T00:00Z", 1) == z("2028-02-29T05:00Z")


def test_day_31_skips_shorter_months() -> None:
    assert fires("0 0 31 * *", "UTC", "2026-04-01T00:00Z", 3) == z(
        "2026-05-31T00:00Z", "2026-07-31T00:00Z", "2026-08-31T00:00Z"
    )


def test_nearest_weekday() -> None:
    # 2026-03-15 is a Sunday, 2026-08-15 a Saturday.
    assert fires("0 0 15W * *", "UTC", "2026-03-01T00:00Z", 1) == z("2026-03-16T00:00Z")
    assert fires("0 0 15W * *", "UTC", "2026-08-01T00:00Z", 1) == z("2026-08-14T00:00Z")
    # 2026-08-01 is a Saturday: the 1st's nearest weekday stays in August, on Monday the 3rd.
    assert fires("0 0 1W * *", "UTC", "2026-07-31T12:00Z", 1) == z("2026-08-03T00:00Z")
    # 2026-05-31 is a Sunday: the 31st's nearest weekday is Friday the 29th.
    assert fires("0 0 31W * *", "UTC", "2026-05-01T00:00Z", 1) == z("2026-05-29T00:00Z")
    # June has no 31st: it never fires in June.
    assert fires("0 0 31W * *", "UTC", "2026-06-01T00:00Z", 1) == z("2026-07-31T00:00Z")


def test_last_weekday_of_month() -> None:
    # 2026-02-28 is a Saturday, 2026-05-31 a Sunday.
    assert fires("0 0 LW * *", "UTC", "2026-02-01T00:00Z", 1) == z("2026-02-27T00:00Z")
    assert fires("0 0 LW * *", "UTC", "2026-05-01T00:00Z", 1) == z("2026-05-29T00:00Z")


def test_last_and_nth_weekday_of_month() -> None:
    assert fires("0 0 * * 5L", "UTC", "2026-01-01T00:00Z", 2) == z(
        "2026-01-30T00:00Z", "2026-02-27T00:00Z"
    )
    assert fires("0 0 * * 5#2", "UTC", "2026-01-01T00:00Z", 2) == z(
        "2026-01-09T00:00Z", "2026-02-13T00:00Z"
    )


def test_day_of_month_or_day_of_week() -> None:
    assert fires("0 0 13 * 5", "UTC", "2026-03-01T00:00Z", 8) == z(
        "2026-03-06T00:00Z",
        "2026-03-13T00:00Z",
        "2026-03-20T00:00Z",
        "2026-03-27T00:00Z",
        "2026-04-03T00:00Z",
        "2026-04-10T00:00Z",
        "2026-04-13T00:00Z",
        "2026-04-17T00:00Z",
    )


def test_mapping_zone_wins_over_the_default() -> None:
    schedule = parse_schedule(
        {"cron": "0 9 * * *", "timezone": "Asia/Kolkata"}, timezone=NEW_YORK, key=KEY
    )
    assert schedule.timezone.key == "Asia/Kolkata"
    assert schedule.next_after(utc("2026-01-01T00:00Z")) == utc("2026-01-01T03:30Z")


def test_interval_is_anchored_at_the_epoch_or_the_start() -> None:
    assert fires("every 90s", "UTC", "1970-01-01T00:00Z", 2) == z(
        "1970-01-01T00:01:30Z", "1970-01-01T00:03:00Z"
    )
    schedule = parse_schedule(
        {"every": "1d", "start": "2026-03-07T12:00:00-05:00"}, timezone=NEW_YORK, key=KEY
    )
    # Exact days in absolute time: across the spring-forward the wall time moves to 13:00.
    assert schedule.next_after(utc("2026-03-07T17:00Z")) == utc("2026-03-08T17:00Z")
    assert schedule.next_after(utc("2026-01-01T00:00Z")) == utc("2026-03-07T17:00Z")


def test_once_in_the_gap_and_the_overlap() -> None:
    assert fires("once 2026-03-08T02:30", NEW_YORK, "2026-03-01T00:00Z", 2) == [
        utc("2026-03-08T07:00Z").isoformat(),
        "None",
    ]
    assert fires("once 2026-11-01T01:30", NEW_YORK, "2026-11-01T00:00Z", 1) == z(
        "2026-11-01T05:30Z"
    )


def test_monthly_skips_days_the_month_lacks() -> None:
    assert fires("monthly 31,last 12:00", "UTC", "2026-04-01T00:00Z", 3) == z(
        "2026-04-30T12:00Z", "2026-05-31T12:00Z", "2026-06-30T12:00Z"
    )


def test_windows_are_inclusive() -> None:
    spec = {"cron": "0 * * * *", "start": "2026-01-01T10:00Z", "end": "2026-01-01T12:00Z"}
    schedule = parse_schedule(spec, timezone="UTC", key=KEY)
    assert schedule.next_after(utc("2026-01-01T00:00Z")) == utc("2026-01-01T10:00Z")
    assert schedule.next_after(utc("2026-01-01T11:00Z")) == utc("2026-01-01T12:00Z")
    assert schedule.next_after(utc("2026-01-01T12:00Z")) is None


def test_describe_is_text() -> None:
    for spec in ("30 2 * * *", "every 5m", "daily 09:00", "once 2026-12-01T10:00", "manual"):
        text = parse_schedule(spec, timezone=NEW_YORK, key=KEY).describe()
        assert isinstance(text, str) and text.strip()


# --- errors -------------------------------------------------------------------------------

BAD_SPECS: list[str | dict[str, object]] = [
    "60 * * * *",
    "* 24 * * *",
    "* * 0 * *",
    "* * 32 * *",
    "* * * 13 *",
    "* * * * 8",
    "*/0 * * * *",
    "* * * * FUNDAY",
    "JAN * * * *",
    "* * * *",
    "* * * * * * *",
    "@fortnightly",
    "every 0s",
    "every 5 parsecs",
    "daily 25:00",
    "daily 09:60",
    "weekly funday 10:00",
    "monthly 32 12:00",
    "once 2026-13-01T10:00",
    {"cron": "* * * * *", "every": "5m"},
    {"cron": "* * * * *", "timezone": "Mars/Olympus_Mons"},
    {"cron": "* * * * *", "jitter": "-5s"},
    {},
]


@pytest.mark.parametrize("spec", BAD_SPECS, ids=repr)
def test_bad_specs_raise_one_line_errors(spec: str | dict[str, object]) -> None:
    with pytest.raises(ScheduleError) as raised:
        parse_schedule(spec, timezone="UTC", key=KEY)
    assert isinstance(raised.value, ValueError)
    assert re.fullmatch(r"[^\n:]+: [^\n]+", str(raised.value)), str(raised.value)


def test_unknown_default_zone_is_an_error() -> None:
    with pytest.raises(ScheduleError):
        parse_schedule("* * * * *", timezone="Mars/Olympus_Mons", key=KEY)
