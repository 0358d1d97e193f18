"""The one schedule syntax: compact strings and mappings, their kinds, options and errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cronwell.schedules import (
    CronSchedule,
    DailySchedule,
    EventSchedule,
    IntervalSchedule,
    ManualSchedule,
    MonthlySchedule,
    OnceSchedule,
    Schedule,
    ScheduleError,
    WeeklySchedule,
    parse_schedule,
)

AFTER = datetime(2026, 1, 1, tzinfo=UTC)


def upcoming(schedule: Schedule, count: int, after: datetime = AFTER) -> list[str]:
    times = []
    moment: datetime | None = after
    for _ in range(count):
        moment = schedule.next_after(moment) if moment else None
        if moment is None:
            break
        times.append(moment.astimezone(schedule.timezone).isoformat())
    return times


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("*/5 * * * *", CronSchedule),
        ("@daily", CronSchedule),
        ("every 90s", IntervalSchedule),
        ("EVERY 1h30m", IntervalSchedule),
        ("once 2026-12-01T10:00", OnceSchedule),
        ("daily 09:00,13:30", DailySchedule),
        ("weekly mon,thu 10:00", WeeklySchedule),
        ("monthly 1,15,last 12:00", MonthlySchedule),
        ("event inventory.low_stock", EventSchedule),
        ("manual", ManualSchedule),
    ],
)
def test_compact_forms_name_their_kind(text: str, kind: type) -> None:
    schedule = parse_schedule(text)
    assert isinstance(schedule, kind)
    assert isinstance(schedule, Schedule)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("every 90s", ["2026-01-01T00:01:30+00:00", "2026-01-01T00:03:00+00:00"]),
        ("every 1d", ["2026-01-02T00:00:00+00:00", "2026-01-03T00:00:00+00:00"]),
        ({"every": 3600, "start": "2026-01-01T00:20:00Z"}, ["2026-01-01T00:20:00+00:00"]),
        ("daily 09:00,13:30", ["2026-01-01T09:00:00+00:00", "2026-01-01T13:30:00+00:00"]),
        ({"daily": ["13:30", "09:00:15"]}, ["2026-01-01T09:00:15+00:00"]),
        ("weekly mon,thu 10:00", ["2026-01-01T10:00:00+00:00", "2026-01-05T10:00:00+00:00"]),
        ("weekly sat-sun 08:00", ["2026-01-03T08:00:00+00:00", "2026-01-04T08:00:00+00:00"]),
        ({"weekly": {"days": ["Friday"], "times": ["07:00"]}}, ["2026-01-02T07:00:00+00:00"]),
        ("monthly 15,last 12:00", ["2026-01-15T12:00:00+00:00", "2026-01-31T12:00:00+00:00"]),
        ({"monthly": {"days": [31], "times": "06:00"}, "start": "2026-04-01T00:00Z"},
         ["2026-05-31T06:00:00+00:00", "2026-07-31T06:00:00+00:00"]),  # April, June skipped
        ("once 2026-12-01T10:00", ["2026-12-01T10:00:00+00:00"]),
        ("once 2026-12-01T10:00+02:00", ["2026-12-01T08:00:00+00:00"]),
        ("once 2025-12-01T10:00", []),
        ("event inventory.low_stock", []),
        ("manual", []),
        ({"manual": True}, []),
    ],
)  # fmt: skip
def test_forms_are_due_when_they_say(spec: str | dict[str, Any], expected: list[str]) -> None:
    assert upcoming(parse_schedule(spec), 2)[: len(expected)] == expected
    assert len(upcoming(parse_schedule(spec), 2)) >= len(expected)


def test_a_mapping_zone_wins_over_the_default() -> None:
    schedule = parse_schedule({"cron": "0 9 * * *", "timezone": "Asia/Kolkata"}, timezone="UTC")
    assert upcoming(schedule, 1) == ["2026-01-01T09:00:00+05:30"]


def test_start_and_end_bound_the_fire_times_inclusively() -> None:
    spec = {"cron": "0 * * * *", "start": "2026-01-01T03:00", "end": "2026-01-01T05:00"}
    assert upcoming(parse_schedule(spec), 9) == [
        "2026-01-01T03:00:00+00:00",
        "2026-01-01T04:00:00+00:00",
        "2026-01-01T05:00:00+00:00",
    ]


def test_jitter_shifts_every_fire_time_by_one_offset_per_key() -> None:
    offsets = {}
    for key in ("backup", "report", "sync", "etl"):
        times = upcoming(parse_schedule({"cron": "0 * * * *", "jitter": "10m"}, key=key), 5)
        moments = [datetime.fromisoformat(text) for text in times]
        gaps = {moment - moment.replace(minute=0, second=0) for moment in moments}
        assert len(gaps) == 1, "one offset for every fire time of a job"
        (offsets[key],) = gaps
        assert timedelta(0) <= offsets[key] < timedelta(minutes=10)
        assert offsets[key].microseconds == 0
    assert len(set(offsets.values())) > 1, "different jobs spread out"
    once = upcoming(parse_schedule({"cron": "0 * * * *", "jitter": 600}, key="backup"), 5)
    again = upcoming(parse_schedule({"cron": "0 * * * *", "jitter": "10m"}, key="backup"), 5)
    assert once == again


def test_a_jittered_interval_is_still_strictly_after_the_instant() -> None:
    schedule = parse_schedule({"every": "1m", "jitter": "30s"}, key="job")
    moment = AFTER
    for _ in range(50):
        following = schedule.next_after(moment)
        assert following is not None and moment < following <= moment + timedelta(minutes=1)
        moment = following


def test_datetimes_are_accepted_in_python_mappings() -> None:
    start = datetime(2026, 6, 1, 12, tzinfo=UTC)
    schedule = parse_schedule({"every": timedelta(hours=6), "start": start})
    assert upcoming(schedule, 2) == ["2026-06-01T12:00:00+00:00", "2026-06-01T18:00:00+00:00"]


def test_naive_instants_are_refused_by_next_after() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        parse_schedule("@daily").next_after(datetime(2026, 1, 1))


REJECTED: list[tuple[str | dict[str, Any], str]] = [
    ("", "schedule: is empty"),
    ("every", "every: '' is not a duration"),
    ("every 0s", "every: '0s' must be longer than zero"),
    ("every 5 parsecs", "every: '5 parsecs' is not a duration"),
    ("daily 25:00", "daily: '25:00' is not a time of day"),
    ("daily 9am", "daily: '9am' is not a time of day"),
    ("weekly mon", "weekly: 'mon': expected days then times"),
    ("weekly funday 10:00", "weekly.days: 'funday' is not a day of the week"),
    ("weekly fri-mon 10:00", "weekly.days: fri-mon is a reversed range"),
    ("monthly 0 12:00", "monthly.days: '0' is not a day of the month"),
    ("monthly 32 12:00", "monthly.days: '32' is not a day of the month"),
    ("once tomorrow", "once: 'tomorrow' is not an ISO-8601 date and time"),
    ("event", "event: must be a non-empty string"),
    ("event a b", "event: 'a b' is not an event name"),
    ({"cron": "* * * * *", "daily": "09:00"}, "schedule: needs exactly one of"),
    ({}, "schedule: needs exactly one of"),
    ({"cron": "* * * * *", "when": "now"}, "when: unknown key"),
    ({"cron": "* * * * *", "timezone": "Mars/Olympus"}, "timezone: unknown time zone"),
    ({"cron": "* * * * *", "timezone": "../etc/passwd"}, "timezone: '../etc/passwd' is not"),
    ({"cron": "* * * * *", "start": "soon"}, "start: 'soon' is not an ISO-8601"),
    ({"cron": "* * * * *", "start": "2026-02-01", "end": "2026-01-01"}, "end: is before start"),
    ({"cron": "* * * * *", "jitter": "-5s"}, "jitter: '-5s' is not a duration"),
    ({"cron": 5}, "cron: must be a non-empty string"),
    ({"weekly": {"days": [], "times": ["10:00"]}}, "weekly.days: needs one or more days"),
    ({"weekly": {"days": ["mon"], "at": ["10:00"]}}, "weekly.at: unknown key"),
    ({"monthly": {"days": [1], "times": []}}, "monthly.times: needs one or more times"),
    ({"manual": "yes"}, "manual: takes no value"),
    ({"cron": "* * * * *", "timezone": 5}, "timezone: 5 is not an IANA time zone name"),
    ({"every": 1e300}, "every: 1e+300 is longer than 36600 days"),
    ({"every": float("nan")}, "every: nan is not a duration"),
    ("every 99999999999w", "every: '99999999999w' is longer than 36600 days"),
    ({"cron": "* * * * *", "jitter": 1e300}, "jitter: 1e+300 is longer than"),
]


@pytest.mark.parametrize(("spec", "message"), REJECTED)
def test_rejects_with_the_field_at_fault(spec: str | dict[str, Any], message: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(spec)
    assert str(caught.value).startswith(message)


def test_nothing_is_due_past_the_last_representable_instant() -> None:
    end_of_time = datetime(9999, 12, 30, 16, tzinfo=UTC)  # 01:00 on the 31st in Tokyo
    assert parse_schedule("every 1w").next_after(end_of_time) is None
    tokyo_midnight = parse_schedule("0 0 * * *", timezone="Asia/Tokyo")
    assert tokyo_midnight.next_after(end_of_time - timedelta(hours=2)) == end_of_time - timedelta(
        hours=1
    )
    assert tokyo_midnight.next_after(end_of_time) is None


def test_rejects_what_is_neither_string_nor_mapping() -> None:
    with pytest.raises(ScheduleError, match="must be a string or a mapping"):
        parse_schedule(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "zone", "text"),
    [
        ("0 9 * * MON-FRI", "Asia/Tokyo", "At 09:00, Monday through Friday (Asia/Tokyo)"),
        ("*/15 * * * *", "UTC", "Every 15 minutes (UTC)"),
        ("0 */2 * * *", "UTC", "At minute 0, every 2 hours (UTC)"),
        ("30 2 1,15 * *", "UTC", "At 02:30, on days 1 and 15 of the month (UTC)"),
        ("0 0 L * *", "UTC", "At 00:00, on the last day of the month (UTC)"),
        ("0 0 * * 5#2", "UTC", "At 00:00, on the second Friday of the month (UTC)"),
        ("0 0 13 * 5", "UTC", "At 00:00, on day 13 of the month or Friday (UTC)"),
        ("0 12 * JAN-MAR *", "UTC", "At 12:00, in January through March (UTC)"),
        ("0 0 */2 * *", "UTC", "At 00:00, on every 2nd day of the month (UTC)"),
        ("0 0 * * 1/2", "UTC", "At 00:00, every 2nd day of the week from Monday (UTC)"),
        ("0 0 1 */3 *", "UTC", "At 00:00, on day 1 of the month, in every 3rd month (UTC)"),
        ("5,10 * * * * *", "UTC", "At seconds 5 and 10, every minute (UTC)"),
        ("30 */10 * * * *", "UTC", "At second 30, every 10 minutes (UTC)"),
        ("@hourly", "UTC", "At minute 0, every hour (UTC)"),
        ("* * * * *", "UTC", "Every minute (UTC)"),
        ("every 90s", "UTC", "Every 90 seconds (UTC)"),
        ("every 2h", "UTC", "Every 2 hours (UTC)"),
        ("daily 09:00,13:30", "Europe/London", "At 09:00 and 13:30, every day (Europe/London)"),
        ("weekly mon,thu 10:00", "UTC", "At 10:00, on Monday and Thursday (UTC)"),
        ("monthly 1,last 12:00", "UTC", "At 12:00, on day 1 and the last day of the month (UTC)"),
        ("once 2026-12-01T10:00", "UTC", "Once, at 2026-12-01 10:00:00 (UTC)"),
        ("event inventory.low_stock", "UTC", "When event inventory.low_stock fires"),
        ("manual", "UTC", "Only when triggered by hand"),
    ],
)  # fmt: skip
def test_describes_in_plain_english(spec: str, zone: str, text: str) -> None:
    assert parse_schedule(spec, timezone=zone).describe() == text


def test_describes_the_window_and_jitter() -> None:
    spec = {"cron": "0 9 * * *", "start": "2026-04-01", "end": "2026-05-01", "jitter": "30m"}
    assert parse_schedule(spec).describe() == (
        "At 09:00, from 2026-04-01 00:00, until 2026-05-01 00:00, "
        "with up to 30 minutes of jitter (UTC)"
    )
