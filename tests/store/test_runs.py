"""The run life cycle in the store, on SQLite and PostgreSQL: every transition guarded."""

from __future__ import annotations

import multiprocessing
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from cronwell.lifecycle import AttemptStatus, RunStatus, Trigger
from cronwell.spec import JobSpec
from cronwell.store.database import Database
from cronwell.store.jobs import insert_job
from cronwell.store.runs import (
    ClaimedRun,
    NewRun,
    Outcome,
    claim_runs,
    finish_attempt,
    insert_runs,
    renew_leases,
    take_back_expired,
)
from cronwell.store.tables import attempts, runs

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def make_job(database: Database, name: str = "report") -> int:
    with database.transaction() as connection:
        return insert_job(connection, JobSpec.parse({"name": name, "command": "true"}), NOW)


def new_run(job_id: int, seconds: int = 0, **changes: object) -> NewRun:
    fields: dict[str, object] = {
        "job_id": job_id,
        "scheduled_for": NOW + timedelta(seconds=seconds),
        "trigger": Trigger.SCHEDULE,
        "queue": "default",
        "priority": 2,
        "max_attempts": 3,
    }
    return NewRun(**(fields | changes))  # type: ignore[arg-type]


def claim(
    database: Database, owner: str = "w1", limit: int = 10, **changes: object
) -> list[ClaimedRun]:
    options: dict[str, object] = {"queues": ["default"], "now": NOW, "lease": LEASE} | changes
    with database.transaction() as connection:
        return claim_runs(connection, owner=owner, limit=limit, **options)  # type: ignore[arg-type]


def status_of(database: Database, run_id: int) -> str:
    with database.transaction(write=False) as connection:
        return str(
            connection.execute(select(runs.c.status).where(runs.c.id == run_id)).scalar_one()
        )


def test_a_due_time_yields_at_most_one_run(database: Database) -> None:
    job = make_job(database)
    with database.transaction() as connection:
        first = insert_runs(connection, [new_run(job), new_run(job, 1)], NOW)
    with database.transaction() as connection:
        second = insert_runs(connection, [new_run(job), new_run(job, 2)], NOW)
    assert len(first) == 2
    assert len(second) == 1
    assert second[0] not in first


def test_claims_the_most_urgent_first_and_only_what_is_due(database: Database) -> None:
    job = make_job(database)
    with database.transaction() as connection:
        insert_runs(
            connection,
            [
                new_run(job, -30, priority=3),
                new_run(job, -20, priority=1),
                new_run(job, -10, priority=1),
                new_run(job, -5, queue="reports"),
                new_run(job, 60),  # not due yet
            ],
            NOW,
        )
    claimed = claim(database, limit=2)
    assert [run.scheduled_for for run in claimed] == [
        NOW - timedelta(seconds=20),
        NOW - timedelta(seconds=10),
    ]
    assert [run.scheduled_for for run in claim(database)] == [NOW - timedelta(seconds=30)]
    assert claim(database) == []
    assert [run.scheduled_for for run in claim(database, queues=["reports"])] == [
        NOW - timedelta(seconds=5)
    ]


def test_a_claim_opens_an_attempt_under_the_workers_lease(database: Database) -> None:
    job = make_job(database)
    with database.transaction() as connection:
        insert_runs(connection, [new_run(job)], NOW)
    (run,) = claim(database, owner="token-a")
    assert (run.attempt, run.lease_expires_at) == (1, NOW + LEASE)
    assert status_of(database, run.id) == RunStatus.RUNNING
    with database.transaction(write=False) as connection:
        attempt = connection.execute(select(attempts)).one()
    assert (attempt.worker_id, attempt.number, attempt.status) == ("token-a", 1, "running")


def test_only_the_lease_holder_can_finish(database: Database) -> None:
    job = make_job(database)
    with database.transaction() as connection:
        insert_runs(connection, [new_run(job)], NOW)
    (run,) = claim(database, owner="token-a")
    done = Outcome(AttemptStatus.SUCCEEDED, NOW + timedelta(seconds=2), exit_code=0, output="ok")
    with database.transaction() as connection:
        assert not finish_attempt(connection, run, "token-b", done, run_status=RunStatus.SUCCEEDED)
    assert status_of(database, run.id) == RunStatus.RUNNING
    with database.transaction() as connection:
        assert finish_attempt(connection, run, "token-a", done, run_status=RunStatus.SUCCEEDED)
    assert status_of(database, run.id) == RunStatus.SUCCEEDED
    with database.transaction(write=False) as connection:
        attempt = connection.execute(select(attempts)).one()
    assert (attempt.status, attempt.duration, attempt.output) == (
        "succeeded",
        timedelta(seconds=2),
        "ok",
    )


def test_an_expired_lease_is_taken_back_and_its_worker_cannot_finish(database: Database) -> None:
    job = make_job(database)
    with database.transaction() as connection:
        insert_runs(connection, [new_run(job), new_run(job, -1)], NOW)
    first, second = claim(database, owner="token-a")
    with database.transaction() as connection:
        assert renew_leases(
            connection, owner="token-a", run_ids=[second.id], until=NOW + 2 * LEASE
        ) == {second.id}
    with database.transaction() as connection:
        assert take_back_expired(connection, NOW + LEASE) == []  # expiry is strictly before now
    with database.transaction() as connection:
        (lost,) = take_back_expired(connection, NOW + LEASE + timedelta(seconds=1))
    assert (lost.id, lost.attempt) == (first.id, 1)
    assert status_of(database, first.id) == RunStatus.RETRYING
    late = Outcome(AttemptStatus.SUCCEEDED, NOW + 2 * LEASE)
    with database.transaction() as connection:
        assert not finish_attempt(
            connection, first, "token-a", late, run_status=RunStatus.SUCCEEDED
        )
        assert renew_leases(connection, owner="token-a", run_ids=[first.id], until=NOW) == set()
    with database.transaction(write=False) as connection:
        statuses = connection.execute(select(attempts.c.run_id, attempts.c.status)).all()
    assert sorted(statuses) == sorted([(first.id, "lost"), (second.id, "running")])


def _claim_all(url: str, owner: str, start: threading.Barrier) -> list[int]:
    database = Database(url)
    start.wait()  # all connected: now they race
    mine: list[int] = []
    while batch := claim(database, owner=owner, limit=7):
        mine.extend(run.id for run in batch)
        time.sleep(0.002)  # the work a real worker does between claims, holding no lock
    database.dispose()
    return mine


def test_racing_workers_claim_disjoint_sets_that_cover_everything(database_url: str) -> None:
    database = Database(database_url)
    job = make_job(database)
    with database.transaction() as connection:
        insert_runs(connection, [new_run(job, -second) for second in range(400)], NOW)
    database.dispose()
    context = multiprocessing.get_context("spawn")
    start = context.Manager().Barrier(4)
    with context.Pool(4) as pool:
        pending = [pool.apply_async(_claim_all, (database_url, f"w{n}", start)) for n in range(4)]
        claimed = [result.get(timeout=120) for result in pending]
    every = [run_id for mine in claimed for run_id in mine]
    assert len(every) == len(set(every)) == 400, "each run claimed exactly once"
    assert sum(1 for mine in claimed if mine) >= 2, "the workers really raced"
