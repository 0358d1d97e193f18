"""A run executed directly (``cronwell exec``): made now, executed in this process, recorded
like any other run, on both dialects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cronwell.app import Cronwell
from cronwell.engine.clock import ManualClock
from cronwell.engine.worker import Worker
from cronwell.store.jobs import JobNotFound
from cronwell.store.tables import workers
from tests.engine.rows import run_rows

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
ONCE = {"max_attempts": 1}


def test_a_succeeded_run_is_recorded_with_its_output(app: Cronwell) -> None:
    app.schedule(command="echo hello; echo oops >&2", name="greet", schedule="@daily")
    executed = app.execute_now("greet")
    assert (executed.run.status, executed.run.trigger, executed.run.job) == (
        "succeeded", "exec", "greet",
    )  # fmt: skip
    assert executed.run.scheduled_for == NOW
    attempt = executed.attempt
    assert attempt is not None
    assert (attempt.number, attempt.status, attempt.exit_code) == (1, "succeeded", 0)
    assert attempt.output == "hello\noops\n"
    (row,) = run_rows(app)
    assert (row.id, row.status, row.lease_owner) == (executed.run.id, "succeeded", None)


def test_the_executing_worker_is_registered_and_stopped(app: Cronwell) -> None:
    app.schedule(command="true", name="sync", queue="reports")
    attempt = app.execute_now("sync").attempt
    assert attempt is not None
    with app.database.transaction(write=False) as connection:
        (worker,) = connection.execute(select(workers)).all()
    assert (worker.id, worker.concurrency) == (attempt.worker_id, 1)
    assert worker.stopped_at is not None


def test_a_failed_command_keeps_its_exit_code_and_the_run_is_dead(app: Cronwell) -> None:
    app.schedule(command="echo failing; exit 3", name="broken", retry=ONCE)
    executed = app.execute_now("broken")
    assert executed.run.status == "dead"
    assert executed.attempt is not None
    assert (executed.attempt.status, executed.attempt.exit_code) == ("failed", 3)
    assert executed.attempt.error == "exited with code 3"
    assert executed.attempt.output == "failing\n"


def test_one_attempt_then_the_retry_waits_for_a_worker(app: Cronwell, clock: ManualClock) -> None:
    retry = {"max_attempts": 2, "initial_delay": "1m", "max_delay": "1m", "jitter": 0}
    app.schedule(command="exit 1", name="flaky", retry=retry)
    executed = app.execute_now("flaky")
    assert (executed.run.status, executed.run.attempts) == ("retrying", 1)
    worker = Worker(app.database, clock, concurrency=1)
    try:
        assert worker.tick() > timedelta(0)  # not before its retry delay
        assert worker.in_flight == 0
        clock.advance(timedelta(minutes=1))
        worker.tick()
        assert worker.join(10)
    finally:
        worker.close()
    (row,) = run_rows(app)
    assert (row.id, row.status, row.attempts) == (executed.run.id, "dead", 2)


def test_the_job_timeout_holds(app: Cronwell) -> None:
    app.schedule(command="sleep 30", name="slow", timeout=0.3, retry=ONCE)
    executed = app.execute_now("slow")
    assert executed.attempt is not None
    assert (executed.run.status, executed.attempt.status) == ("dead", "timed_out")


def test_the_job_env_reaches_the_command(app: Cronwell) -> None:
    app.schedule(command='echo "$REGION"', name="env", env={"REGION": "emea"})
    attempt = app.execute_now("env").attempt
    assert attempt is not None and attempt.output == "emea\n"


def test_a_paused_job_is_recorded_skipped_and_not_run(app: Cronwell) -> None:
    app.schedule(command="touch /nonexistent/never", name="paused")
    app.pause_schedule("paused")
    executed = app.execute_now("paused")
    assert (executed.run.status, executed.run.reason, executed.attempt) == (
        "skipped", "paused", None,
    )  # fmt: skip
    assert executed.run.attempts == 0


def test_a_job_paused_until_a_later_instant_is_not_run_before_it(
    app: Cronwell, clock: ManualClock
) -> None:
    app.schedule(command="true", name="paused", schedule="every 1h")
    app.pause_until("paused", NOW + timedelta(hours=3))
    executed = app.execute_now("paused")
    assert (executed.run.status, executed.run.reason, executed.attempt) == (
        "skipped", "paused", None,
    )  # fmt: skip
    clock.advance(timedelta(hours=3))
    assert app.execute_now("paused").run.status == "succeeded"


def test_two_execs_in_one_instant_make_two_runs(app: Cronwell) -> None:
    app.schedule(command="true", name="sync")
    first, second = app.execute_now("sync"), app.execute_now("sync")
    assert second.run.scheduled_for == first.run.scheduled_for + timedelta(microseconds=1)
    assert [row.status for row in run_rows(app)] == ["succeeded", "succeeded"]


def test_an_unknown_job_is_refused_and_nothing_is_made(app: Cronwell) -> None:
    with pytest.raises(JobNotFound, match="'missing' does not exist"):
        app.execute_now("missing")
    assert run_rows(app) == []


def test_an_executed_run_fires_its_downstream_jobs(app: Cronwell) -> None:
    app.schedule(command="true", name="extract", schedule="0 3 * * *")
    app.schedule(command="true", name="transform", depends_on=["extract"])
    executed = app.execute_now("extract")
    assert executed.run.status == "succeeded"
    rows = {row.id: row for row in run_rows(app)}
    (downstream,) = [row for row in rows.values() if row.id != executed.run.id]
    assert (downstream.trigger, downstream.status) == ("dependency", "pending")
