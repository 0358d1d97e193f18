"""Claims and settles in batches, on SQLite and PostgreSQL: each run in a batch moves by its
own guard, and everything its attempt reported is kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from cronwell.lifecycle import AttemptStatus, RunStatus, Trigger
from cronwell.spec import JobSpec
from cronwell.store.database import Database
from cronwell.store.jobs import insert_job
from cronwell.store.runs import (
    ClaimedRun,
    Finish,
    NewRun,
    Outcome,
    cancel_runs,
    claim_runs,
    finish_attempts,
    hand_back,
    insert_runs,
)
from cronwell.store.tables import attempts, runs

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)
LATER = NOW + timedelta(seconds=3)


def make_runs(database: Database, count: int, name: str = "report") -> int:
    with database.transaction() as connection:
        job = insert_job(connection, JobSpec.parse({"name": name, "command": "true"}), NOW)
        new = [
            NewRun(job, NOW - timedelta(seconds=n), Trigger.SCHEDULE, "default", 2, 3)
            for n in range(count)
        ]
        insert_runs(connection, new, NOW)
    return job


def claim(database: Database, owner: str, limit: int = 10) -> list[ClaimedRun]:
    with database.transaction() as connection:
        return claim_runs(
            connection, owner=owner, queues=["default"], now=NOW, lease=LEASE, limit=limit
        )


def settle(database: Database, owner: str, finishes: list[Finish]) -> list[Finish]:
    with database.transaction() as connection:
        return finish_attempts(connection, owner, finishes)


def rows(database: Database, table: object = runs) -> dict[int, object]:
    with database.transaction(write=False) as connection:
        if table is runs:
            return {row.id: row for row in connection.execute(select(runs))}
        return {row.run_id: row for row in connection.execute(select(attempts))}


def test_a_batch_claim_opens_one_attempt_per_run_with_the_jobs_version(
    database: Database,
) -> None:
    make_runs(database, 5)
    claimed = claim(database, "w1", limit=3)
    assert [run.id for run in claimed] == sorted(run.id for run in claimed)
    assert {(run.attempt, run.job_version, run.started_at) for run in claimed} == {(1, 1, NOW)}
    assert {run.lease_expires_at for run in claimed} == {NOW + LEASE}
    opened = rows(database, attempts)
    assert sorted(opened) == [run.id for run in claimed]
    assert {(a.number, a.worker_id, a.status, a.started_at) for a in opened.values()} == {  # type: ignore[attr-defined]
        (1, "w1", "running", NOW)
    }
    assert claim(database, "w2", limit=10) and claim(database, "w3") == []


def test_a_batch_settle_moves_each_held_run_by_its_own_outcome(database: Database) -> None:
    make_runs(database, 4)
    ok, failed, retry, cancelled = claim(database, "w1")
    with database.transaction() as connection:  # asked to stop while it runs: it keeps why
        cancel_runs(connection, [cancelled.id], NOW, "replaced by a newer run")
    logs = [{"at": "12:00:01", "message": "half way", "extra": {"n": 1}}]
    finishes = [
        Finish(ok, Outcome(AttemptStatus.SUCCEEDED, LATER, exit_code=0, output="é\n", logs=logs),
               RunStatus.SUCCEEDED),
        Finish(failed, Outcome(AttemptStatus.FAILED, LATER, exit_code=3, error="boom",
                               peak_memory=2**40), RunStatus.DEAD, reason="attempts exhausted"),
        Finish(retry, Outcome(AttemptStatus.TIMED_OUT, LATER), RunStatus.RETRYING,
               not_before=LATER + timedelta(minutes=1), reason="timed out"),
        Finish(cancelled, Outcome(AttemptStatus.CANCELLED, LATER), RunStatus.CANCELLED,
               reason="cancelled"),
    ]  # fmt: skip
    assert settle(database, "w1", finishes) == finishes
    after = rows(database)
    assert [
        (after[f.run.id].status, after[f.run.id].reason, after[f.run.id].finished_at)  # type: ignore[attr-defined]
        for f in finishes
    ] == [
        ("succeeded", None, LATER),
        ("dead", "attempts exhausted", LATER),
        ("retrying", "timed out", None),
        ("cancelled", "replaced by a newer run", LATER),
    ]
    assert after[retry.id].not_before == LATER + timedelta(minutes=1)  # type: ignore[attr-defined]
    assert after[ok.id].not_before == ok.scheduled_for  # type: ignore[attr-defined]
    assert {(r.lease_owner, r.lease_expires_at) for r in after.values()} == {(None, None)}  # type: ignore[attr-defined]
    closed = rows(database, attempts)
    assert [
        (a.status, a.finished_at, a.duration, a.exit_code, a.output, a.error, a.peak_memory, a.logs)  # type: ignore[attr-defined]
        for a in (closed[f.run.id] for f in finishes)
    ] == [
        ("succeeded", LATER, timedelta(seconds=3), 0, "é\n", None, None, logs),
        ("failed", LATER, timedelta(seconds=3), 3, None, "boom", 2**40, None),
        ("timed_out", LATER, timedelta(seconds=3), None, None, None, None, None),
        ("cancelled", LATER, timedelta(seconds=3), None, None, None, None, None),
    ]


def test_a_batch_settle_skips_the_runs_whose_lease_was_taken_back(database: Database) -> None:
    make_runs(database, 3)
    kept, handed, other = claim(database, "w1", limit=2) + claim(database, "w2", limit=1)
    with database.transaction() as connection:
        assert hand_back(connection, owner="w1", run_ids=[handed.id], now=NOW) == [handed.id]
    (again,) = claim(database, "w3")
    assert again.id == handed.id and again.attempt == 2
    ended = Outcome(AttemptStatus.SUCCEEDED, LATER)
    finishes = [Finish(run, ended, RunStatus.SUCCEEDED) for run in (kept, handed, other)]
    assert settle(database, "w1", finishes) == finishes[:1]
    after = rows(database)
    assert [after[run.id].status for run in (kept, handed, other)] == [  # type: ignore[attr-defined]
        "succeeded",
        "running",
        "running",
    ]
    with database.transaction(write=False) as connection:
        found = connection.execute(select(attempts.c.run_id, attempts.c.number, attempts.c.status))
        statuses = sorted(found.all())
    assert statuses == sorted(
        [(kept.id, 1, "succeeded"), (handed.id, 1, "interrupted"), (handed.id, 2, "running"),
         (other.id, 1, "running")]
    )  # fmt: skip
    assert settle(database, "w1", []) == []


def test_a_batch_insert_keeps_each_rows_values_and_their_order(database: Database) -> None:
    job = make_runs(database, 1)  # one run, at NOW: the batch's first row collides with it
    at = [NOW + timedelta(seconds=n) for n in (0, 5, 3, 4)]
    new = [
        NewRun(job, at[0], Trigger.MANUAL, "default", 2, 3, kwargs={"x": 1}),
        NewRun(job, at[1], Trigger.MANUAL, "default", 2, 3, kwargs={"x": 1}),
        NewRun(job, at[2], Trigger.MANUAL, "default", 2, 3, kwargs={"x": True}),
        NewRun(job, at[3], Trigger.RETRY, "etl", 0, 5, args=["é"], status=RunStatus.SKIPPED,
               reason="missed", not_before=LATER, covers=3, covers_from=NOW),
    ]  # fmt: skip
    with database.transaction() as connection:
        ids = insert_runs(connection, new, LATER)
    assert len(ids) == 3 and ids == sorted(ids), "the colliding row is skipped, the order kept"
    made = rows(database)
    assert [
        (r.scheduled_for, r.trigger, r.queue, r.priority, r.max_attempts, r.status, r.reason)  # type: ignore[attr-defined]
        for r in (made[run_id] for run_id in ids)
    ] == [
        (at[1], "manual", "default", 2, 3, "pending", None),
        (at[2], "manual", "default", 2, 3, "pending", None),
        (at[3], "retry", "etl", 0, 5, "skipped", "missed"),
    ]
    assert [
        (r.args, r.kwargs, r.not_before, r.covers, r.covers_from, r.finished_at, r.created_at)  # type: ignore[attr-defined]
        for r in (made[run_id] for run_id in ids)
    ] == [
        (None, {"x": 1}, at[1], 1, None, None, LATER),
        (None, {"x": True}, at[2], 1, None, None, LATER),
        (["é"], None, LATER, 3, NOW, LATER, LATER),
    ]
    kept = [repr(made[run_id].kwargs) for run_id in ids[:2]]  # type: ignore[attr-defined]
    assert kept == ["{'x': 1}", "{'x': True}"], "True stays true, 1 stays 1"
    with database.transaction() as connection:
        assert insert_runs(connection, new[1:2], LATER) == []
