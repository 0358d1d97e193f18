"""The scheduler's own writes store runs exactly as runs.insert_runs does, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from cronwell.lifecycle import RunStatus, SkipReason, Trigger
from cronwell.spec import JobSpec
from cronwell.store.database import Database
from cronwell.store.jobs import insert_job
from cronwell.store.plans import store_plans
from cronwell.store.runs import NewRun, insert_runs
from cronwell.store.tables import jobs, runs

NOW = datetime(2026, 6, 1, 12, 0, 0, 250000, tzinfo=UTC)
DUE = NOW.replace(microsecond=0)
MINUTE = timedelta(minutes=1)


def planned(job_id: int) -> list[NewRun]:
    """One run of every shape a tick plans: a missed span, late and skipped, pending."""
    return [
        NewRun(
            job_id, DUE - 3 * MINUTE, Trigger.MISFIRE, "reports", 1, 5,
            RunStatus.SKIPPED, SkipReason.MISSED, covers=7, covers_from=DUE - 9 * MINUTE,
        ),
        NewRun(job_id, DUE - 2 * MINUTE, Trigger.MISFIRE, "reports", 1, 5),
        NewRun(job_id, DUE - MINUTE, Trigger.SCHEDULE, "reports", 1, 5, RunStatus.WAITING),
        NewRun(
            job_id, DUE, Trigger.SCHEDULE, "reports", 1, 5, RunStatus.SKIPPED, SkipReason.OVERLAP
        ),
    ]  # fmt: skip


def stored(database: Database, job_id: int) -> list[dict[str, Any]]:
    with database.transaction(write=False) as connection:
        rows = connection.execute(
            select(runs).where(runs.c.job_id == job_id).order_by(runs.c.scheduled_for)
        ).all()
    return [{k: v for k, v in row._mapping.items() if k not in ("id", "job_id")} for row in rows]


def add_jobs(database: Database, count: int) -> list[int]:
    with database.transaction() as connection:
        return [
            insert_job(connection, JobSpec.parse({"name": f"j{n}", "command": "true"}), NOW)
            for n in range(count)
        ]


def test_planned_runs_are_stored_as_insert_runs_stores_them(database: Database) -> None:
    mine, reference = add_jobs(database, 2)
    with database.transaction() as connection:
        result = store_plans(connection, planned(mine), [(mine, DUE + MINUTE)], now=NOW)
        insert_runs(connection, planned(reference), NOW)
    assert result.created == 4
    assert stored(database, mine) == stored(database, reference)
    with database.transaction(write=False) as connection:
        cursor = connection.execute(
            select(jobs.c.planned_until, jobs.c.next_due_at).where(jobs.c.id == mine)
        ).one()
    assert tuple(cursor) == (NOW, DUE + MINUTE)


def test_a_due_time_stored_already_is_skipped_and_not_counted(database: Database) -> None:
    (job_id,) = add_jobs(database, 1)
    with database.transaction() as connection:
        insert_runs(connection, planned(job_id)[:2], NOW)
    with database.transaction() as connection:
        result = store_plans(connection, planned(job_id), [(job_id, None)], now=NOW)
    assert result.created == 2
    assert len(stored(database, job_id)) == 4


def test_runs_with_arguments_of_their_own_are_stored_with_them(database: Database) -> None:
    (job_id,) = add_jobs(database, 1)
    run = NewRun(job_id, DUE, Trigger.MANUAL, "default", 2, 1, args=[1], kwargs={"a": 2})
    with database.transaction() as connection:
        assert store_plans(connection, [run], [(job_id, DUE + MINUTE)], now=NOW).created == 1
    ((args, kwargs),) = [(row["args"], row["kwargs"]) for row in stored(database, job_id)]
    assert (args, kwargs) == ([1], {"a": 2})


def test_the_next_due_time_is_read_with_the_writes(database: Database) -> None:
    first, second = add_jobs(database, 2)
    with database.transaction() as connection:
        connection.execute(jobs.update().values(next_due_at=DUE + 5 * MINUTE))
        result = store_plans(connection, [], [(first, DUE + MINUTE)], now=NOW)
    assert result.later_due_at in (DUE + MINUTE, DUE + 5 * MINUTE), "the moved job may count"
    with database.transaction() as connection:
        connection.execute(jobs.update().where(jobs.c.id == second).values(is_enabled=False))
        result = store_plans(connection, [], [(first, DUE + 7 * MINUTE)], now=NOW)
    assert result.later_due_at in (DUE + MINUTE, DUE + 7 * MINUTE), "a disabled job does not"
