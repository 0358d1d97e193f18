"""Runs asked for by hand: one or many in the same instant, each its own run, none of them
taking a due time from the job's schedule."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from cronwell.app import Cronwell
from cronwell.engine.clock import ManualClock
from cronwell.engine.scheduler import Scheduler
from tests.engine.rows import run_rows

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)  # a whole minute: due for "* * * * *"


def test_two_triggers_in_the_same_microsecond_make_two_runs(app: Cronwell) -> None:
    job_id = app.schedule(command="true", name="sync")
    first = app.trigger_now(job_id)
    second = app.trigger_now(job_id, kwargs={"n": 2})
    assert first != second
    rows = run_rows(app)
    assert [row.id for row in rows] == [first, second]
    assert [row.scheduled_for for row in rows] == [NOW, NOW + timedelta(microseconds=1)]
    assert [row.not_before for row in rows] == [NOW, NOW], "both are claimable at once"
    assert rows[1].kwargs == {"n": 2}


def test_many_runs_in_one_call_keep_their_order(app: Cronwell) -> None:
    job_id = app.schedule(command="true", name="sync")
    app.trigger_now(job_id)
    ids = app.trigger_many(job_id, kwargs=[{"i": i} for i in range(5)])
    more = app.trigger_many("sync", 3)
    rows = {row.id: row for row in run_rows(app)}
    assert len(rows) == 9
    assert [rows[run_id].kwargs for run_id in ids] == [{"i": i} for i in range(5)]
    assert all(rows[run_id].kwargs is None for run_id in more)
    instants = [rows[run_id].scheduled_for for run_id in [*ids, *more]]
    assert instants == sorted(instants)
    assert len({row.scheduled_for for row in rows.values()}) == 9


def test_trigger_many_wants_a_count_or_arguments(app: Cronwell) -> None:
    job_id = app.schedule(command="true", name="sync")
    with pytest.raises(ValueError, match="either count or kwargs"):
        app.trigger_many(job_id)
    assert app.trigger_many(job_id, 0) == []


def test_a_trigger_leaves_the_due_time_to_the_schedule(app: Cronwell, clock: ManualClock) -> None:
    clock.set(NOW - timedelta(seconds=30))
    job_id = app.schedule(command="true", name="minutely", schedule="* * * * *", overlap="allow")
    clock.set(NOW)  # the job is due now
    manual = app.trigger_now(job_id)
    Scheduler(app.database, clock).tick()
    rows = run_rows(app)
    assert [(row.trigger, row.scheduled_for) for row in rows] == [
        ("manual", NOW + timedelta(microseconds=1)),
        ("schedule", NOW),
    ]
    assert rows[0].id == manual


def test_racing_triggers_each_make_their_run(database_url: str) -> None:
    """Many threads trigger the same job at the same frozen instant: every call gets a run."""
    clock = ManualClock(NOW)
    app = Cronwell(database_url, clock=clock)
    try:
        job_id = app.schedule(command="true", name="sync")
        made: list[int] = []
        start = threading.Barrier(4)

        def trigger() -> None:
            start.wait()
            made.extend(app.trigger_many(job_id, 5))

        threads = [threading.Thread(target=trigger) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(made) == len(set(made)) == 20
        assert len(run_rows(app)) == 20
    finally:
        app.database.dispose()
