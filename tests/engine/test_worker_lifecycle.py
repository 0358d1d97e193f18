"""A worker's life: it registers and beats, hands back what outlives its grace period, starts
queued runs when the active one ends, and sleeps exactly until the next retry or lease end."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from cronwell.engine.clock import ManualClock, SystemClock
from cronwell.engine.reaper import INTERVAL, Reaper
from cronwell.engine.scheduler import Scheduler
from cronwell.engine.worker import IDLE, Worker
from cronwell.lifecycle import Trigger
from cronwell.spec import JobSpec
from cronwell.store.database import Database
from cronwell.store.jobs import insert_job
from cronwell.store.runs import NewRun, cancel_runs, claim_runs, insert_runs
from cronwell.store.tables import attempts, jobs, runs
from cronwell.store.workers import is_alive, list_workers

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def add_job(database: Database, **definition: Any) -> int:
    spec = JobSpec.parse({"name": "job", "command": "true", **definition})
    with database.transaction() as connection:
        return insert_job(connection, spec, NOW)


def add_run(database: Database, job_id: int, at: datetime = NOW, max_attempts: int = 3) -> int:
    run = NewRun(job_id, at, Trigger.MANUAL, "default", 2, max_attempts)
    with database.transaction() as connection:
        (run_id,) = insert_runs(connection, [run], at)
    return run_id


def statuses(database: Database) -> list[tuple[str, str | None]]:
    with database.transaction(write=False) as connection:
        query = select(runs.c.status, runs.c.reason).order_by(runs.c.id)
        return [(row.status, row.reason) for row in connection.execute(query)]


def run_row(database: Database, run_id: int) -> Any:
    with database.transaction(write=False) as connection:
        return connection.execute(select(runs).where(runs.c.id == run_id)).one()


def attempt_statuses(database: Database, run_id: int) -> list[str]:
    with database.transaction(write=False) as connection:
        query = select(attempts.c.status).where(attempts.c.run_id == run_id)
        return list(connection.execute(query.order_by(attempts.c.number)).scalars())


def test_an_interrupted_run_is_handed_back_and_taken_at_once(
    database: Database, worker: Worker, clock: ManualClock
) -> None:
    run_id = add_run(database, add_job(database, command="sleep 30"), max_attempts=1)
    worker.tick(NOW)
    clock.set(NOW + timedelta(seconds=3))
    assert worker.interrupt() == [run_id]
    assert worker.join(timeout=10), "the interrupted command was killed"
    row = run_row(database, run_id)
    assert (row.status, row.not_before, row.lease_owner) == ("retrying", clock.now(), None)
    assert row.max_attempts == 2, "an interrupted attempt does not use up the retry budget"
    assert attempt_statuses(database, run_id) == ["interrupted"]

    other = Worker(database, clock, rand=lambda: 0.0)
    try:
        other.tick()  # no lease to wait out
        row = run_row(database, run_id)
        assert (row.status, row.lease_owner, row.attempts) == ("running", other.id, 2)
        other.interrupt()
        assert other.join(timeout=10)
    finally:
        other.close()


def test_a_stopping_worker_lets_short_runs_finish_and_hands_back_long_ones(
    database: Database,
) -> None:
    # Real time is the point here: the grace period is a wall-clock promise.
    short = add_run(database, add_job(database, name="short", command="sleep 0.3"))
    long = add_run(database, add_job(database, name="long", command="sleep 30"))
    worker = Worker(database, SystemClock(), grace=timedelta(seconds=1.5))
    stop = threading.Event()
    loop = threading.Thread(target=worker.run, args=(stop,))
    loop.start()
    _wait_for(lambda: run_row(database, long).status == "running")
    stopped_at = time.monotonic()
    stop.set()
    worker.wake.set()
    loop.join(timeout=20)
    worker.close()
    assert not loop.is_alive()
    assert time.monotonic() - stopped_at < 10, "the worker stops within its grace period"
    assert run_row(database, short).status == "succeeded"
    assert (run_row(database, long).status, attempt_statuses(database, long)) == (
        "retrying",
        ["interrupted"],
    )
    with database.transaction(write=False) as connection:
        (row,) = list_workers(connection)
    assert (row.id, row.pid, row.queues, row.concurrency) == (
        worker.id,
        os.getpid(),
        ["default"],
        4,
    )
    assert row.stopped_at is not None
    assert not is_alive(row, row.stopped_at)


def _wait_for(check: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_worker_registers_and_beats(database: Database, clock: ManualClock) -> None:
    worker = Worker(database, clock, queues=("default", "reports"), concurrency=3)
    worker._register()
    worker.heartbeat(NOW + MINUTE)
    worker.close()
    with database.transaction(write=False) as connection:
        (row,) = list_workers(connection)
        assert list_workers(connection, include_stopped=False) == [row]
    assert (row.queues, row.concurrency, row.heartbeat_at) == (
        ["default", "reports"],
        3,
        NOW + MINUTE,
    )
    assert row.lease == timedelta(seconds=30)
    assert is_alive(row, NOW + MINUTE + timedelta(seconds=29))
    assert not is_alive(row, NOW + 2 * MINUTE)


def test_a_queued_run_starts_when_the_active_one_ends(
    database: Database, worker: Worker, clock: ManualClock
) -> None:
    add_job(database, schedule="* * * * *", overlap="queue", command="true")
    scheduler = Scheduler(database, clock)
    scheduler.tick(NOW + MINUTE)
    worker.tick(NOW + MINUTE)  # the first run is running
    scheduler.tick(NOW + 2 * MINUTE)
    assert statuses(database)[1] == ("waiting", None)
    assert worker.join(timeout=10)
    assert statuses(database) == [("succeeded", None), ("pending", None)]


def test_cancelling_the_active_run_starts_the_queued_one(database: Database) -> None:
    add_job(database, schedule="* * * * *", overlap="queue")
    scheduler = Scheduler(database)
    scheduler.tick(NOW + MINUTE)
    scheduler.tick(NOW + 2 * MINUTE)
    with database.transaction() as connection:
        (first, _) = connection.execute(select(runs.c.id).order_by(runs.c.id)).scalars()
        cancel_runs(connection, [first], NOW + 2 * MINUTE, "cancelled by hand")
    assert statuses(database) == [("cancelled", "cancelled by hand"), ("pending", None)]


def test_a_waiting_run_left_alone_starts_at_the_next_tick(database: Database) -> None:
    add_job(database, schedule="* * * * *", overlap="queue")
    scheduler = Scheduler(database)
    scheduler.tick(NOW + MINUTE)
    scheduler.tick(NOW + 2 * MINUTE)
    with database.transaction() as connection:  # the active run ended without promoting
        connection.execute(runs.update().where(runs.c.status == "pending").values(status="dead"))
    scheduler.tick(NOW + 3 * MINUTE)
    assert statuses(database)[:2] == [("dead", None), ("pending", None)]


def test_a_worker_sleeps_until_a_retry_is_due(database: Database, worker: Worker) -> None:
    job_id = add_job(database)
    add_run(database, job_id, at=NOW + timedelta(milliseconds=300))
    assert worker.tick(NOW) == timedelta(milliseconds=300)
    add_run(database, job_id, at=NOW + MINUTE)
    assert worker.tick(NOW + timedelta(milliseconds=300)) == IDLE, "at most a fallback poll"
    assert worker.join(timeout=10)


def test_the_reaper_wakes_when_the_first_lease_runs_out(
    database: Database, clock: ManualClock
) -> None:
    reaper = Reaper(database, clock)
    assert reaper.tick(NOW) == INTERVAL
    add_run(database, add_job(database))
    with database.transaction() as connection:
        lease = timedelta(seconds=2)
        claim_runs(connection, owner="w", queues=["default"], now=NOW, lease=lease, limit=1)
    assert reaper.tick(NOW) == timedelta(seconds=2, milliseconds=10)
    reaper.tick(NOW + timedelta(seconds=2, milliseconds=10))
    assert statuses(database) == [("retrying", None)]


def test_a_cancel_signal_stops_a_running_run_before_the_next_heartbeat(
    database: Database, worker: Worker
) -> None:
    run_id = add_run(database, add_job(database, command="sleep 30"))
    worker.tick(NOW)
    with database.transaction() as connection:
        cancel_runs(connection, [run_id], NOW, "cancelled by hand")
    worker.stop_cancelled()
    assert worker.join(timeout=10)
    assert (run_row(database, run_id).status, attempt_statuses(database, run_id)) == (
        "cancelled",
        ["cancelled"],
    )


def test_a_handed_back_attempt_does_not_use_up_the_retry_budget(
    database: Database, clock: ManualClock
) -> None:
    retry = {"strategy": "fixed", "max_attempts": 2, "initial_delay": "1s", "jitter": 0}
    job_id = add_job(database, command="sleep 30", retry=retry)
    run_id = add_run(database, job_id, max_attempts=2)
    first = Worker(database, clock, rand=lambda: 0.0)
    first.tick()
    first.interrupt()
    first.close()
    with database.transaction() as connection:  # from now on the command fails at once
        spec = JobSpec.parse({"name": "job", "command": "exit 1", "retry": retry})
        connection.execute(jobs.update().values(spec=spec.canonical(), version=2))
    worker = Worker(database, clock, rand=lambda: 0.0)
    try:
        for _ in range(2):
            worker.tick()
            assert worker.join(timeout=10)
            clock.advance(timedelta(seconds=1))
    finally:
        worker.close()
    row = run_row(database, run_id)
    assert (row.status, row.attempts) == ("dead", 3)
    assert attempt_statuses(database, run_id) == ["interrupted", "failed", "failed"]


def test_a_replaced_run_keeps_its_reason_when_its_worker_stops_it(
    database: Database, worker: Worker
) -> None:
    run_id = add_run(database, add_job(database, command="sleep 30"))
    worker.tick(NOW)
    with database.transaction() as connection:
        cancel_runs(connection, [run_id], NOW, "replaced by a newer run")
    worker.stop_cancelled()
    assert worker.join(timeout=10)
    row = run_row(database, run_id)
    assert (row.status, row.reason) == ("cancelled", "replaced by a newer run")


def test_a_run_cancelled_while_its_worker_died_ends_cancelled_not_retried(
    database: Database, clock: ManualClock
) -> None:
    run_id = add_run(database, add_job(database))
    with database.transaction() as connection:
        lease = timedelta(seconds=2)
        claim_runs(connection, owner="gone", queues=["default"], now=NOW, lease=lease, limit=1)
        cancel_runs(connection, [run_id], NOW, "cancelled by hand")
    Reaper(database, clock).tick(NOW + timedelta(seconds=3))
    row = run_row(database, run_id)
    assert (row.status, row.reason, row.finished_at) == (
        "cancelled",
        "cancelled by hand",
        NOW + timedelta(seconds=3),
    )
    assert attempt_statuses(database, run_id) == ["lost"]
