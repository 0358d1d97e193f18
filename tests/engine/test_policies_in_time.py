"""Policies played out by the scheduler, worker and reaper on a simulated clock over real
stores: windows, schedule changes, retry strategies, dead letters and cancellation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from cronwell.app import Cronwell
from cronwell.engine.clock import ManualClock
from cronwell.engine.reaper import Reaper
from cronwell.engine.scheduler import Scheduler
from cronwell.engine.worker import Worker
from cronwell.store.runs import claim_runs
from cronwell.store.tables import runs

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def stored(app: Cronwell) -> list[tuple[str, str, str, str | None]]:
    """(due HH:MM, trigger, status, reason) of every run, in due order."""
    with app.database.transaction(write=False) as connection:
        query = select(runs.c.scheduled_for, runs.c.trigger, runs.c.status, runs.c.reason)
        rows = connection.execute(query.order_by(runs.c.scheduled_for, runs.c.id)).all()
    return [(f"{row[0]:%H:%M}", row[1], row[2], row[3]) for row in rows]


def tick_every_minute(app: Cronwell, clock: ManualClock, minutes: int) -> None:
    scheduler = Scheduler(app.database, clock)
    for _ in range(minutes):
        clock.advance(MINUTE)
        scheduler.tick()


def test_a_window_fires_only_between_its_start_and_end(app: Cronwell, clock: ManualClock) -> None:
    schedule = {"cron": "*/10 * * * *", "start": "2026-06-01T10:00Z", "end": "2026-06-01T10:30Z"}
    job_id = app.schedule(command="true", schedule=schedule, name="window", overlap="allow")
    tick_every_minute(app, clock, 90)
    assert [row[0] for row in stored(app)] == ["10:00", "10:10", "10:20", "10:30"]
    assert app.get_schedule(job_id).next_due_at is None, "the window is over"


def test_a_new_schedule_takes_effect_from_now_without_misfires(
    app: Cronwell, clock: ManualClock
) -> None:
    job_id = app.schedule(command="true", schedule="0 * * * *", name="sync", overlap="allow")
    tick_every_minute(app, clock, 40)  # 10:00 fires; it is 10:10
    app.update_schedule(job_id, schedule="*/5 * * * *")
    tick_every_minute(app, clock, 10)
    assert stored(app) == [
        ("10:00", "schedule", "pending", None),
        ("10:15", "schedule", "pending", None),
        ("10:20", "schedule", "pending", None),
    ]


@pytest.mark.parametrize(
    ("retry", "waits"),
    [
        ({"strategy": "exponential", "initial_delay": "1m", "multiplier": 2}, [1, 2, 4]),
        ({"strategy": "linear", "initial_delay": "1m"}, [1, 2, 3]),
        ({"strategy": "fixed", "initial_delay": "3m"}, [3, 3, 3]),
        ({"strategy": "immediate"}, [0, 0, 0]),
    ],
)
def test_each_retry_strategy_spaces_the_attempts_its_way(
    app: Cronwell, clock: ManualClock, retry: dict[str, Any], waits: list[int]
) -> None:
    policy = {**retry, "max_attempts": 4, "jitter": 0}
    job_id = app.schedule(command="exit 1", name="flaky", retry=policy)
    run_id = app.trigger_now(job_id)
    worker = Worker(app.database, clock, rand=lambda: 0.0)
    try:
        seen = []
        for _ in waits:
            worker.tick()
            assert worker.join(timeout=10)
            not_before = _run(app, run_id).not_before
            seen.append(round((not_before - clock.now()) / MINUTE))
            clock.set(not_before)
        worker.tick()
        assert worker.join(timeout=10)
    finally:
        worker.close()
    assert seen == waits
    assert (_run(app, run_id).status, _run(app, run_id).attempts) == ("dead", 4)


def _run(app: Cronwell, run_id: int) -> Any:
    with app.database.transaction(write=False) as connection:
        return connection.execute(select(runs).where(runs.c.id == run_id)).one()


def test_a_lost_last_attempt_puts_the_job_in_the_dead_letter_queue(
    app: Cronwell, clock: ManualClock
) -> None:
    retry = {"strategy": "none"}
    job_id = app.schedule(command="true", name="fragile", retry=retry, on_dead="disable")
    run_id = app.trigger_now(job_id)
    with app.database.transaction() as connection:  # a worker claims it, then dies
        lease = timedelta(seconds=30)
        claim_runs(connection, owner="gone", queues=["default"], now=NOW, lease=lease, limit=1)
    clock.advance(MINUTE)
    Reaper(app.database, clock).tick()
    assert (_run(app, run_id).status, _run(app, run_id).reason) == ("dead", "the lease expired")
    job = app.get_schedule(job_id)
    assert (job.is_enabled, job.dead_reason) == (False, "the lease expired")
    assert app.recover(job_id, retry=True) is not None
    assert app.get_schedule(job_id).is_enabled


def test_a_cancelled_pending_run_never_starts(app: Cronwell, clock: ManualClock) -> None:
    job_id = app.schedule(command="true", name="sync")
    run_id = app.trigger_now(job_id)
    app.cancel_run(run_id)
    worker = Worker(app.database, clock)
    try:
        worker.tick()
        assert worker.in_flight == 0
    finally:
        worker.close()
    assert (_run(app, run_id).status, _run(app, run_id).attempts) == ("cancelled", 0)
