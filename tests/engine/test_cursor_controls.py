"""Skip the next due time, pause until an instant, resume with or without catch-up, move a
job's cursor: played out by the scheduler on a simulated clock, on both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from cronwell.app import Cronwell
from cronwell.engine.clock import ManualClock
from cronwell.engine.scheduler import Scheduler
from cronwell.policies.controls import ControlError
from cronwell.store.plans import earliest_due_at
from cronwell.store.tables import runs

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOURLY = "0 * * * *"


def stored(app: Cronwell) -> list[tuple[str, str, str, str | None]]:
    """(due HH:MM, trigger, status, reason) of every run, in due order."""
    with app.database.transaction(write=False) as connection:
        query = select(runs.c.scheduled_for, runs.c.trigger, runs.c.status, runs.c.reason)
        rows = connection.execute(query.order_by(runs.c.scheduled_for, runs.c.id)).all()
    return [(f"{row[0]:%H:%M}", row[1], row[2], row[3]) for row in rows]


def tick_until(app: Cronwell, clock: ManualClock, hour: int, minute: int) -> None:
    """Tick every minute until the simulated clock reads hour:minute (UTC, same day)."""
    scheduler = Scheduler(app.database, clock)
    until = NOW.replace(hour=hour, minute=minute)
    while clock.now() < until:
        clock.advance(MINUTE)
        scheduler.tick()


def at(hour: int, minute: int = 0) -> datetime:
    return NOW.replace(hour=hour, minute=minute)


def hourly(app: Cronwell, **options: Any) -> int:
    return app.schedule(command="true", schedule=HOURLY, name="sync", overlap="allow", **options)


def on_time(*hours: int) -> list[tuple[str, str, str, str | None]]:
    return [(f"{hour:02}:00", "schedule", "pending", None) for hour in hours]


# --- skip next -------------------------------------------------------------------------------


def test_skip_next_records_the_next_due_time_skipped_and_the_one_after_runs(
    app: Cronwell, clock: ManualClock
) -> None:
    job_id = hourly(app)
    assert app.skip_next(job_id) == at(10)
    assert app.get_schedule(job_id).next_due_at == at(11)
    tick_until(app, clock, 12, 30)
    assert stored(app) == [
        ("10:00", "schedule", "skipped", "skipped by hand"),
        *on_time(11, 12),
    ]


def test_skipping_twice_skips_the_next_two(app: Cronwell, clock: ManualClock) -> None:
    job_id = hourly(app)
    app.skip_next(job_id)
    assert app.skip_next(job_id) == at(11)
    tick_until(app, clock, 12, 30)
    assert [row[2] for row in stored(app)] == ["skipped", "skipped", "pending"]


def test_skip_next_refuses_a_paused_job_and_one_never_due(app: Cronwell) -> None:
    job_id = hourly(app)
    app.pause_schedule(job_id)
    with pytest.raises(ControlError, match=r"^job: 'sync' is paused: resume it first"):
        app.skip_next(job_id)
    manual = app.schedule(command="true", name="by-hand")
    with pytest.raises(ControlError, match=r"^job: 'by-hand' is not due again"):
        app.skip_next(manual)
    assert stored(app) == []


# --- pause until -----------------------------------------------------------------------------


def test_a_job_paused_until_an_instant_fires_again_then_without_a_burst(
    app: Cronwell, clock: ManualClock
) -> None:
    job_id = hourly(app)
    assert app.pause_until(job_id, at(12, 15)) == at(12, 15)
    assert app.get_schedule(job_id).paused_until == at(12, 15)
    # Schedulers wake for the due time the pause ends on, not a minute late.
    with app.database.transaction(write=False) as connection:
        assert earliest_due_at(connection, clock.now()) == at(13)
    tick_until(app, clock, 14, 30)
    assert stored(app) == on_time(13, 14)


def test_a_pause_until_a_due_time_runs_that_due_time(app: Cronwell, clock: ManualClock) -> None:
    job_id = hourly(app)
    app.pause_schedule(job_id, until=at(12))
    tick_until(app, clock, 12, 30)
    assert stored(app) == on_time(12)


def test_a_pause_until_reads_a_naive_instant_in_the_jobs_zone(app: Cronwell) -> None:
    job_id = hourly(app, timezone="America/New_York")
    until = app.pause_until(job_id, datetime(2026, 6, 1, 9, 0))  # EDT, -04:00
    assert until == at(13)
    assert app.get_schedule(job_id).next_due_at == at(13)


def test_a_job_paused_by_hand_and_then_until_an_instant_fires_then(
    app: Cronwell, clock: ManualClock
) -> None:
    job_id = hourly(app)
    app.pause_schedule(job_id)
    app.pause_until(job_id, at(11, 30))
    assert app.get_schedule(job_id).is_enabled
    tick_until(app, clock, 12, 30)
    assert stored(app) == on_time(12)


def test_a_changed_schedule_during_a_pause_fabricates_no_misfires(
    app: Cronwell, clock: ManualClock
) -> None:
    job_id = hourly(app, misfire="skip")
    app.pause_until(job_id, at(12, 20))
    tick_until(app, clock, 10, 10)
    app.update_schedule(job_id, schedule="*/20 * * * *")
    assert app.get_schedule(job_id).next_due_at == at(12, 20), "its schedulers wake then"
    tick_until(app, clock, 13, 0)
    assert stored(app) == [
        ("12:20", "schedule", "pending", None),
        ("12:40", "schedule", "pending", None),
        ("13:00", "schedule", "pending", None),
    ]


def test_resuming_every_job_keeps_a_pause_until_an_instant(
    app: Cronwell, clock: ManualClock
) -> None:
    job_id = hourly(app, misfire="skip")
    app.pause_until(job_id, at(12))
    app.pause()
    tick_until(app, clock, 10, 30)
    app.resume()
    assert app.get_schedule(job_id).next_due_at == at(12)
    tick_until(app, clock, 13, 30)
    assert stored(app) == on_time(12, 13)


def test_a_pause_until_an_instant_past_is_refused(app: Cronwell) -> None:
    job_id = hourly(app)
    with pytest.raises(ControlError, match=r"^until: 2026-06-01T09:00:00\+00:00 is not in the"):
        app.pause_until(job_id, at(9))
    assert app.get_schedule(job_id).next_due_at == at(10)


# --- resume ----------------------------------------------------------------------------------


def test_resume_plans_from_now_and_drops_what_came_due_while_paused(
    app: Cronwell, clock: ManualClock
) -> None:
    job_id = hourly(app)
    app.pause_schedule(job_id)
    tick_until(app, clock, 13, 30)
    app.resume_schedule(job_id)
    tick_until(app, clock, 14, 30)
    assert stored(app) == on_time(14)


def test_resume_ends_a_pause_until_an_instant_and_plans_from_now(
    app: Cronwell, clock: ManualClock
) -> None:
    job_id = hourly(app)
    app.pause_until(job_id, at(18))
    tick_until(app, clock, 10, 30)
    app.resume_schedule(job_id)
    tick_until(app, clock, 12, 30)
    assert stored(app) == on_time(11, 12)


def test_resume_with_catch_up_hands_the_paused_due_times_to_the_misfire_policy(
    app: Cronwell, clock: ManualClock
) -> None:
    job_id = hourly(app)  # misfire: run once, within a day (the default)
    app.pause_schedule(job_id)
    tick_until(app, clock, 13, 30)
    app.resume_schedule(job_id, catch_up=True)
    tick_until(app, clock, 14, 30)
    missed = [(f"{hour}:00", "misfire", "skipped", "missed") for hour in (10, 11, 12)]
    assert stored(app) == [*missed, ("13:00", "misfire", "pending", None), *on_time(14)]


def test_resume_with_catch_up_ends_a_pause_until_an_instant(
    app: Cronwell, clock: ManualClock
) -> None:
    job_id = hourly(app, misfire="run_all")
    app.pause_until(job_id, at(18))
    tick_until(app, clock, 11, 30)
    assert app.resume_catching_up(job_id) == at(10)
    tick_until(app, clock, 12, 30)
    assert stored(app) == [
        ("10:00", "misfire", "pending", None),
        ("11:00", "misfire", "pending", None),
        *on_time(12),
    ]


# --- move the cursor -------------------------------------------------------------------------


def test_moving_the_cursor_back_replays_the_due_times_that_have_no_run(
    app: Cronwell, clock: ManualClock
) -> None:
    job_id = hourly(app, misfire="run_all")
    tick_until(app, clock, 12, 30)
    assert app.move_cursor(job_id, to=at(8)) == at(8)
    tick_until(app, clock, 13, 30)
    assert stored(app) == [
        ("08:00", "misfire", "pending", None),
        ("09:00", "misfire", "pending", None),
        *on_time(10, 11, 12, 13),
    ]


def test_moving_the_cursor_ahead_skips_the_due_times_before_it(
    app: Cronwell, clock: ManualClock
) -> None:
    job_id = hourly(app)
    assert app.move_cursor(job_id, to=at(12)) == at(12)
    tick_until(app, clock, 13, 30)
    assert stored(app) == on_time(12, 13)


def test_moving_the_cursor_of_a_job_never_due_is_refused(app: Cronwell) -> None:
    job_id = app.schedule(command="true", name="by-hand")
    with pytest.raises(ControlError, match=r"^schedule: 'Only when triggered by hand' has no"):
        app.move_cursor(job_id, to=at(8))


# --- a changed schedule ----------------------------------------------------------------------


def test_a_schedule_changed_while_due_times_are_overdue_plans_from_now(
    app: Cronwell, clock: ManualClock
) -> None:
    job_id = hourly(app, misfire="run_all")
    clock.advance(timedelta(hours=3, minutes=10))  # no scheduler: 10:00 to 12:00 overdue
    app.update_schedule(job_id, schedule="30 * * * *")  # at 12:40
    tick_until(app, clock, 14, 40)
    assert stored(app) == [
        ("13:30", "schedule", "pending", None),
        ("14:30", "schedule", "pending", None),
    ]
