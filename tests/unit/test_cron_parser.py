"""Every way a cron expression can be wrong gets its own one-line error naming the field."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from cronwell.schedules import DstRule, ScheduleError, parse_schedule
from cronwell.schedules.cron import CronExpression

REJECTED = [
    ("61 * * * *", "minute field: 61 is out of range 0-59"),
    ("* 24 * * *", "hour field: 24 is out of range 0-23"),
    ("* * 0 * *", "day-of-month field: 0 is out of range 1-31"),
    ("* * 32 * *", "day-of-month field: 32 is out of range 1-31"),
    ("* * * 13 *", "month field: 13 is out of range 1-12"),
    ("* * * * 8", "day-of-week field: 8 is out of range 0-7"),
    ("60 * * * * *", "second field: 60 is out of range 0-59"),
    ("*/0 * * * *", "minute field: step 0 is not allowed"),
    ("0-30/0 * * * *", "minute field: step 0 is not allowed"),
    ("5-1 * * * *", "minute field: 5-1 is a reversed range"),
    ("0 0 * * FRI-MON", "day-of-week field: FRI-MON is a reversed range"),
    ("0 0 * DEC-JAN *", "month field: DEC-JAN is a reversed range"),
    ("0 0 * MON *", "month field: MON is not a name this field takes"),
    ("0 0 * * JAN", "day-of-week field: JAN is not a name this field takes"),
    ("0 JAN * * *", "hour field: JAN is not a name this field takes"),
    ("x * * * *", "minute field: 'x' is not a number 0-59"),
    ("*/x * * * *", "minute field: step 'x' is not a number"),
    ("1,,2 * * * *", "minute field: '' is not a valid item"),
    ("-5 * * * *", "minute field: '-5' is not a valid item"),
    ("0 0 * * 5#6", "day-of-week field: '5#6': the occurrence after # must be 1-5"),
    ("0 0 * * 5#0", "day-of-week field: '5#0': the occurrence after # must be 1-5"),
    ("0 0 * * 9L", "day-of-week field: 9 is out of range 0-7"),
    ("0 0 32W * *", "day-of-month field: 32 is out of range 1-31"),
    ("* * * *", "cron: '* * * *' has 4 fields; expected 5"),
    ("* * * * * * *", "cron: '* * * * * * *' has 7 fields; expected 5"),
    ("@reboot", "cron: @reboot is not supported"),
    ("@fortnightly", "cron: unknown nickname '@fortnightly'"),
    ("0 0 30 2 *", "cron: '0 0 30 2 *' never fires"),
    ("0 0 31 4,6,9,11 *", "cron: '0 0 31 4,6,9,11 *' never fires"),
    ("0 0 30W 2 *", "cron: '0 0 30W 2 *' never fires"),
]


@pytest.mark.parametrize(("text", "message"), REJECTED)
def test_rejects_with_one_line_naming_the_field(text: str, message: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(text)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_schedule_that_never_fires_is_refused_quickly() -> None:
    began = time.perf_counter()
    with pytest.raises(ScheduleError):
        parse_schedule("0 0 31 2 *")
    assert time.perf_counter() - began < 1.0


ACCEPTED = [
    ("0 0 * 2 MON#5", datetime(2044, 2, 29, tzinfo=UTC)),  # a fifth Monday of February is rare
    ("0 0 29 2 *", datetime(2028, 2, 29, tzinfo=UTC)),
    ("0 0 * * 7", datetime(2026, 1, 4, tzinfo=UTC)),  # 7 is Sunday
    ("0 0 * * 0", datetime(2026, 1, 4, tzinfo=UTC)),
    ("0 0 * * sun", datetime(2026, 1, 4, tzinfo=UTC)),
    ("0 0 1 jan *", datetime(2027, 1, 1, tzinfo=UTC)),
    ("@yearly", datetime(2027, 1, 1, tzinfo=UTC)),
    ("@ANNUALLY", datetime(2027, 1, 1, tzinfo=UTC)),
    ("@monthly", datetime(2026, 2, 1, tzinfo=UTC)),
    ("@weekly", datetime(2026, 1, 4, tzinfo=UTC)),
    ("@daily", datetime(2026, 1, 2, tzinfo=UTC)),
    ("@midnight", datetime(2026, 1, 2, tzinfo=UTC)),
    ("@hourly", datetime(2026, 1, 1, 1, tzinfo=UTC)),
    ("30/20 * * * *", datetime(2026, 1, 1, 0, 30, tzinfo=UTC)),
    ("0 0 ? * MON", datetime(2026, 1, 5, tzinfo=UTC)),
    ("0 0 L * *", datetime(2026, 1, 31, tzinfo=UTC)),
    ("0 0 LW * *", datetime(2026, 1, 30, tzinfo=UTC)),  # the 31st is a Saturday
    ("0 0 3W * *", datetime(2026, 1, 2, tzinfo=UTC)),  # the 3rd is a Saturday
    (
        "0 0 1W 8 *",
        datetime(2026, 8, 3, tzinfo=UTC),
    ),  # the 1st is a Saturday: stay in August
    ("0 0 31W 5 *", datetime(2026, 5, 29, tzinfo=UTC)),  # the 31st is a Sunday
    ("0 0 * * 5L", datetime(2026, 1, 30, tzinfo=UTC)),
    ("0 0 * * FRI#2", datetime(2026, 1, 9, tzinfo=UTC)),
    ("0 0 13 * 5", datetime(2026, 1, 2, tzinfo=UTC)),  # either day field matches
    ("0 0 */2 * 5", datetime(2026, 1, 9, tzinfo=UTC)),  # a leading * makes it both
    ("15 10 * * * *", datetime(2026, 1, 1, 0, 10, 15, tzinfo=UTC)),
]


@pytest.mark.parametrize(("text", "first"), ACCEPTED)
def test_accepts_the_dialect(text: str, first: datetime) -> None:
    schedule = parse_schedule(text)
    assert schedule.next_after(datetime(2026, 1, 1, tzinfo=UTC)) == first


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("30 2 * * *", DstRule.FIXED_TIME),
        ("0,30 1-3 * * *", DstRule.FIXED_TIME),
        ("@daily", DstRule.FIXED_TIME),
        ("@weekly", DstRule.FIXED_TIME),
        ("@hourly", DstRule.WALL_CLOCK),
        ("*/15 2 * * *", DstRule.WALL_CLOCK),
        ("0 */2 * * *", DstRule.WALL_CLOCK),
        ("0 30 2 * * *", DstRule.WALL_CLOCK),  # every six-field expression
    ],
)
def test_classifies_fixed_time_jobs_as_debian_cron_does(text: str, rule: DstRule) -> None:
    assert CronExpression.parse(text).dst_rule is rule
