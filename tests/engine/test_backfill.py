"""Backfill: a run for each due time of a range, on both stores and a simulated clock: across
daylight-saving changes, around runs that exist, one at a time by default, within a cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cronwell.app import Cronwell
from cronwell.engine.clock import ManualClock
from cronwell.engine.scheduler import Scheduler
from cronwell.engine.worker import Worker
from cronwell.policies.controls import ControlError
from cronwell.store.tables import runs
from tests.engine.rows import run_rows

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def made(app: Cronwell) -> list[tuple[datetime, str, str]]:
    """(due, trigger, status) of every run, in due order."""
    rows = sorted(run_rows(app), key=lambda row: row.scheduled_for)
    return [(row.scheduled_for, row.trigger, row.status) for row in rows]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_a_daily_job_is_backfilled_across_spring_forward_once_a_day(app: Cronwell) -> None:
    job_id = app.schedule(
        command="true", name="nightly", schedule="30 2 * * *", timezone="Europe/Berlin"
    )
    done = app.backfill(job_id, datetime(2026, 3, 27), datetime(2026, 3, 30, 23, 59))
    # 02:30 does not happen on 2026-03-29: the job's rule runs it at 03:00 CEST, 01:00 UTC.
    due = [utc(2026, 3, 27, 1, 30), utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1)]
    due.append(utc(2026, 3, 30, 0, 30))
    assert done.due_times == tuple(due)
    assert (done.made, done.existing, len(done.run_ids)) == (4, 0, 4)
    assert made(app) == [
        (due[0], "backfill", "pending"),
        *((at, "backfill", "waiting") for at in due[1:]),
    ]


def test_an_hourly_job_is_backfilled_across_fall_back_for_both_passes(app: Cronwell) -> None:
    job_id = app.schedule(
        command="true", name="sync", schedule="0 * * * *", timezone="Europe/Berlin"
    )
    # From midnight Berlin time (22:00 UTC the day before), to 04:00 Berlin time given with
    # its offset: the hour 02:00-02:59 happens twice, and an hourly job fires in both.
    done = app.backfill(
        job_id, datetime(2026, 10, 25), datetime.fromisoformat("2026-10-25T04:00+01:00")
    )
    assert done.due_times == tuple(utc(2026, 10, 24, 22) + HOUR * hours for hours in range(6))
    assert done.made == 6


def test_due_times_that_have_a_run_are_left_alone(app: Cronwell, clock: ManualClock) -> None:
    job_id = app.schedule(command="true", name="sync", schedule="0 * * * *", overlap="allow")
    scheduler = Scheduler(app.database, clock)
    for _ in range(5):  # 13:00 and 14:00 fire as scheduled
        clock.advance(timedelta(minutes=30))
        scheduler.tick()
    first = app.backfill(job_id, utc(2026, 11, 2, 9), utc(2026, 11, 2, 10), overlap="allow")
    assert (first.made, first.existing) == (2, 0)
    again = app.backfill(job_id, utc(2026, 11, 2, 8), utc(2026, 11, 2, 14), overlap="allow")
    assert (again.made, again.existing) == (3, 4)
    assert [(row[0].hour, row[1]) for row in made(app)] == [
        (8, "backfill"),
        (9, "backfill"),
        (10, "backfill"),
        (11, "backfill"),
        (12, "backfill"),
        (13, "schedule"),
        (14, "schedule"),
    ]
    assert {row[2] for row in made(app)} == {"pending"}


def test_a_dry_run_says_what_it_would_make_and_makes_nothing(app: Cronwell) -> None:
    job_id = app.schedule(command="true", name="sync", schedule="0 * * * *")
    app.backfill(job_id, utc(2026, 11, 2, 9), utc(2026, 11, 2, 9))
    done = app.backfill(job_id, utc(2026, 11, 2, 8), utc(2026, 11, 2, 11), dry_run=True)
    assert (done.made, done.existing, done.run_ids, done.is_dry_run) == (3, 1, (), True)
    assert len(made(app)) == 1


def test_queued_backfill_runs_one_at_a_time_oldest_first(app: Cronwell, clock: ManualClock) -> None:
    # The job's own policy (allow) does not make waiting runs: the backfill's runs still wait
    # for each other, and each that ends starts the next.
    job_id = app.schedule(command="true", name="sync", schedule="0 * * * *", overlap="allow")
    app.backfill(job_id, utc(2026, 11, 2, 8), utc(2026, 11, 2, 10))
    worker = Worker(app.database, clock, concurrency=3)
    try:
        seen = []
        for _ in range(3):
            seen.append([row[2] for row in made(app)])
            worker.tick()  # starts what is pending, and settles what ended before
            worker.join()
            worker.settle_ended()
        seen.append([row[2] for row in made(app)])
    finally:
        worker.close()
    assert seen == [
        ["pending", "waiting", "waiting"],
        ["succeeded", "pending", "waiting"],
        ["succeeded", "succeeded", "pending"],
        ["succeeded", "succeeded", "succeeded"],
    ]


def test_a_queued_backfill_waits_for_the_unfinished_run_of_a_queue_job(app: Cronwell) -> None:
    job_id = app.schedule(command="true", name="sync", schedule="0 * * * *", overlap="queue")
    app.trigger_now(job_id)
    app.backfill(job_id, utc(2026, 11, 2, 8), utc(2026, 11, 2, 9))
    assert [(row.trigger, row.status) for row in run_rows(app)] == [
        ("manual", "pending"),
        ("backfill", "waiting"),
        ("backfill", "waiting"),
    ]


def test_a_forbid_backfill_runs_the_first_and_skips_the_rest(app: Cronwell) -> None:
    job_id = app.schedule(command="true", name="sync", schedule="0 * * * *")
    app.backfill(job_id, utc(2026, 11, 2, 8), utc(2026, 11, 2, 10), overlap="forbid")
    assert [(row.status, row.reason) for row in run_rows(app)] == [
        ("pending", None),
        ("skipped", "overlap"),
        ("skipped", "overlap"),
    ]


def count_runs(app: Cronwell) -> int:
    with app.database.transaction(write=False) as connection:
        return int(connection.execute(select(func.count()).select_from(runs)).scalar_one())


DAY = (utc(2026, 11, 1), utc(2026, 11, 2))
REFUSED = {
    "over the cap": (
        ("* * * * *", utc(2026, 1, 1), utc(2026, 11, 1), None),
        "start/end: 2026-01-01T00:00:00+00:00 to 2026-11-01T00:00:00+00:00 holds more than "
        "10000 due times: narrow the range",
    ),
    "end before start": (
        ("0 * * * *", utc(2026, 11, 2), utc(2026, 11, 1), None),
        "end: 2026-11-01T00:00:00+00:00 is before start 2026-11-02T00:00:00+00:00",
    ),
    "end in the future": (
        ("0 * * * *", utc(2026, 11, 1), utc(2026, 11, 3), None),
        "end: 2026-11-03T00:00:00+00:00 is in the future: the schedule runs those due times itself",
    ),
    "never due": (
        ("manual", *DAY, None),
        "schedule: 'Only when triggered by hand' has no due times to backfill",
    ),
    "replace": (
        ("0 * * * *", *DAY, "replace"),
        "overlap: 'replace' is not one of allow, queue, forbid",
    ),
    "unknown overlap": (
        ("0 * * * *", *DAY, "sometimes"),
        "overlap: 'sometimes' is not one of allow, queue, forbid",
    ),
}


@pytest.mark.parametrize(("asked", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_a_backfill_that_cannot_be_is_refused_and_makes_nothing(
    app: Cronwell, asked: tuple[str, datetime, datetime, str | None], message: str
) -> None:
    schedule, start, end, overlap = asked
    job_id = app.schedule(command="true", name="sync", schedule=schedule)
    for dry_run in (True, False):
        with pytest.raises(ControlError) as raised:
            app.backfill(job_id, start, end, overlap=overlap, dry_run=dry_run)
        assert str(raised.value) == message
    assert count_runs(app) == 0


def test_a_backfill_of_exactly_the_cap_is_made(app: Cronwell) -> None:
    job_id = app.schedule(command="true", name="sync", schedule="* * * * *", overlap="allow")
    start = NOW - timedelta(minutes=9_999)
    done = app.backfill(job_id, start, NOW, overlap="allow")
    assert done.made == 10_000 == count_runs(app)
