"""Why the cron engine is our own: the well-kept libraries break rules we promise.

Each test pins a case where cronsim or croniter disagrees with the documented DST rules (and
shows ours right on the same case). If a release of theirs fixes every case here, these
tests fail: that is the moment to reconsider wrapping the library instead.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from cronsim import CronSim, CronSimError

from cronwell.schedules import parse_schedule

NEW_YORK = ZoneInfo("America/New_York")
SANTIAGO = ZoneInfo("America/Santiago")
# 01:30 EST on 2026-11-01: the second pass of New York's fall-back hour.
SECOND_PASS = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)


def test_cronsim_answers_an_earlier_instant_from_an_overlaps_second_pass() -> None:
    theirs = next(CronSim("45 1 * * *", SECOND_PASS.astimezone(NEW_YORK)))
    assert theirs.astimezone(UTC) < SECOND_PASS, "cronsim: next time is no longer in the past"
    ours = parse_schedule("45 1 * * *", timezone=NEW_YORK).next_after(SECOND_PASS)
    assert ours == datetime(2026, 11, 2, 6, 45, tzinfo=UTC)


def test_cronsim_rejects_the_nearest_weekday_item() -> None:
    with pytest.raises(CronSimError):
        CronSim("0 0 15W * *", datetime(2026, 2, 1))
    ours = parse_schedule("0 0 15W * *").next_after(datetime(2026, 2, 1, tzinfo=UTC))
    assert ours == datetime(2026, 2, 16, tzinfo=UTC)  # the 15th is a Sunday


def test_croniter_fires_a_fixed_time_job_twice_on_a_fall_back_day() -> None:
    first_pass = datetime(2026, 11, 1, 5, 45, tzinfo=UTC)  # 01:45 EDT
    theirs = croniter("45 1 * * *", first_pass.astimezone(NEW_YORK)).get_next(datetime)
    assert theirs.astimezone(UTC) == datetime(2026, 11, 1, 6, 45, tzinfo=UTC), (
        "croniter no longer repeats 01:45 at its second pass"
    )
    ours = parse_schedule("45 1 * * *", timezone=NEW_YORK).next_after(first_pass)
    assert ours == datetime(2026, 11, 2, 6, 45, tzinfo=UTC)


def test_croniter_fires_a_wall_clock_job_at_an_hour_it_does_not_name() -> None:
    # Santiago springs forward at midnight on 2026-09-06: that day has no hour 0.
    evening = datetime(2026, 9, 5, 20, 0, tzinfo=SANTIAGO)
    theirs = croniter("* 0 * * *", evening).get_next(datetime)
    assert theirs.hour != 0, "croniter no longer fires outside hour 0"
    ours = parse_schedule("* 0 * * *", timezone=SANTIAGO).next_after(evening)
    assert ours is not None
    assert ours.astimezone(SANTIAGO).replace(tzinfo=None) == datetime(2026, 9, 7, 0, 0)
