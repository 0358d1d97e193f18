"""The worker and the reaper over real stores: real commands, retries, leases, dead letters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from cronwell.engine.clock import ManualClock
from cronwell.engine.reaper import Reaper
from cronwell.engine.worker import Worker
from cronwell.store.database import Database
from cronwell.store.runs import claim_runs
from cronwell.store.tables import attempts, jobs, runs
from tests.engine.rows import job_with_run

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def add_run(database: Database, **definition: Any) -> int:
    """A job from ``definition`` and one pending run of it, due now."""
    return job_with_run(database, NOW, **definition)


def run_row(database: Database, run_id: int) -> Any:
    with database.transaction(write=False) as connection:
        return connection.execute(select(runs).where(runs.c.id == run_id)).one()


def attempt_rows(database: Database, run_id: int) -> list[Any]:
    with database.transaction(write=False) as connection:
        query = select(attempts).where(attempts.c.run_id == run_id).order_by(attempts.c.number)
        return list(connection.execute(query).all())


def work(worker: Worker, at: datetime) -> None:
    worker.tick(at)
    worker.join()


def test_a_command_runs_and_its_output_is_kept(database: Database, worker: Worker) -> None:
    run_id = add_run(database, command="echo hello; echo oops >&2")
    work(worker, NOW)
    assert run_row(database, run_id).status == "succeeded"
    (attempt,) = attempt_rows(database, run_id)
    assert (attempt.status, attempt.exit_code, attempt.worker_id) == ("succeeded", 0, worker.id)
    assert "hello" in attempt.output and "oops" in attempt.output


def test_output_error_and_logs_with_nul_characters_are_kept(
    database: Database, worker: Worker
) -> None:
    """PostgreSQL's text and jsonb cannot hold NUL: each becomes U+FFFD, on both stores."""
    printed = add_run(database, command="printf 'a\\0b'; printf 'c\\0d' >&2; exit 3")
    logged = add_run(database, name="logged", task="tests.engine.tasks.sample:log_nul")
    work(worker, NOW)
    (attempt,) = attempt_rows(database, printed)
    assert (attempt.status, attempt.exit_code) == ("failed", 3)
    assert "a\ufffdb" in attempt.output and "c\ufffdd" in attempt.output
    (attempt,) = attempt_rows(database, logged)
    assert attempt.status == "succeeded"
    (entry,) = attempt.logs
    assert (entry["message"], entry["fields"]["note"]) == ("x\ufffdy", "p\ufffdq")
    assert run_row(database, printed).status == "retrying", "the worker went on to settle it"


def test_a_failing_run_retries_by_its_policy_then_goes_dead(
    database: Database, worker: Worker, clock: ManualClock
) -> None:
    retry = {"strategy": "fixed", "max_attempts": 2, "initial_delay": "1m", "jitter": 0}
    run_id = add_run(database, command="exit 3", retry=retry)
    work(worker, NOW)
    row = run_row(database, run_id)
    assert (row.status, row.not_before) == ("retrying", NOW + timedelta(minutes=1))
    work(worker, NOW + timedelta(seconds=30))  # the retry delay is not over: nothing claimed
    assert len(attempt_rows(database, run_id)) == 1
    clock.set(NOW + timedelta(minutes=1))
    work(worker, NOW + timedelta(minutes=1))
    assert run_row(database, run_id).status == "dead"
    assert [(a.number, a.status, a.exit_code) for a in attempt_rows(database, run_id)] == [
        (1, "failed", 3),
        (2, "failed", 3),
    ]


def test_on_dead_disable_takes_the_job_out_of_service(database: Database, worker: Worker) -> None:
    add_run(database, command="false", retry={"strategy": "none"}, on_dead="disable")
    work(worker, NOW)
    with database.transaction(write=False) as connection:
        job = connection.execute(select(jobs)).one()
    assert (job.is_enabled, job.dead_reason) == (False, "failed on attempt 1, the last")


def test_a_timeout_is_a_failed_attempt(database: Database, worker: Worker) -> None:
    run_id = add_run(database, command="sleep 30", timeout="1s", retry={"strategy": "none"})
    work(worker, NOW)
    assert run_row(database, run_id).status == "dead"
    assert attempt_rows(database, run_id)[0].status == "timed_out"


def test_a_dead_workers_run_is_taken_back_and_retried(
    database: Database, worker: Worker, clock: ManualClock
) -> None:
    retry = {"strategy": "fixed", "max_attempts": 3, "initial_delay": "10s", "jitter": 0}
    run_id = add_run(database, command="echo second", retry=retry)
    with database.transaction() as connection:  # a worker that claims and then dies
        lease = timedelta(seconds=30)
        claim_runs(connection, owner="gone", queues=["default"], now=NOW, lease=lease, limit=1)
    reaper = Reaper(database, clock, rand=lambda: 0.0)
    reaper.tick(NOW + timedelta(seconds=29))
    assert run_row(database, run_id).status == "running", "the lease has not expired yet"
    reaper.tick(NOW + timedelta(seconds=31))
    row = run_row(database, run_id)
    assert (row.status, row.not_before) == ("retrying", NOW + timedelta(seconds=41))
    work(worker, NOW + timedelta(seconds=41))
    assert run_row(database, run_id).status == "succeeded"
    assert [(a.worker_id, a.status) for a in attempt_rows(database, run_id)] == [
        ("gone", "lost"),
        (worker.id, "succeeded"),
    ]


def test_a_cancel_request_stops_a_running_command(database: Database, worker: Worker) -> None:
    run_id = add_run(database, command="sleep 30")
    worker.tick(NOW)
    with database.transaction() as connection:
        connection.execute(
            runs.update().where(runs.c.id == run_id).values(is_cancel_requested=True)
        )
    worker.heartbeat(NOW + timedelta(seconds=5))
    worker.join(timeout=10)
    assert run_row(database, run_id).status == "cancelled"
    assert attempt_rows(database, run_id)[0].status == "cancelled"
