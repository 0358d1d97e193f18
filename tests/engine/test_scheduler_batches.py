"""The scheduler's batched writes over real SQLite and PostgreSQL stores: many due jobs in a
few ticks, each due time once, every cursor moved, waiting runs started when nothing is left
to wait for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update

from cronwell.engine.scheduler import IDLE, Scheduler
from cronwell.spec import JobSpec
from cronwell.store.database import Database
from cronwell.store.flags import PAUSED, set_flag
from cronwell.store.jobs import insert_job, insert_jobs, update_job
from cronwell.store.tables import jobs, runs

START = datetime(2026, 6, 1, 10, 0, 0, 500000, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def spec(name: str, **definition: Any) -> JobSpec:
    return JobSpec.parse({"name": name, "command": "true", **definition})


def rows(database: Database) -> list[tuple[int, datetime, str, str | None]]:
    """(job, due time, status, reason) of every run, by job and due time."""
    with database.transaction(write=False) as connection:
        found = connection.execute(
            select(runs.c.job_id, runs.c.scheduled_for, runs.c.status, runs.c.reason).order_by(
                runs.c.job_id, runs.c.scheduled_for
            )
        ).all()
    return [(row[0], row[1], row[2], row[3]) for row in found]


def test_many_due_jobs_are_planned_in_batches_each_due_time_once(database: Database) -> None:
    with database.transaction() as connection:
        insert_jobs(
            connection,
            [spec(f"job-{n}", schedule="* * * * *", overlap="allow") for n in range(23)],
            START,
        )
    scheduler = Scheduler(database, batch=5)
    ticks = [scheduler.tick(START + MINUTE) for _ in range(6)]
    assert ticks == [timedelta(0)] * 4 + [timedelta(seconds=59.5)] * 2
    due = START.replace(microsecond=0) + MINUTE
    assert rows(database) == [(n, due, "pending", None) for n in range(1, 24)]
    with database.transaction(write=False) as connection:
        cursors = connection.execute(select(jobs.c.planned_until, jobs.c.next_due_at)).all()
    assert set(cursors) == {(START + MINUTE, due + MINUTE)}
    with database.transaction(write=False) as connection:  # stored as the store compares them
        advanced = select(func.count()).where(jobs.c.next_due_at == due + MINUTE)
        made = select(func.count()).where(runs.c.scheduled_for == due, runs.c.not_before == due)
        assert connection.execute(advanced).scalar_one() == 23
        assert connection.execute(made).scalar_one() == 23


def test_a_due_time_that_has_a_run_already_is_not_fired_twice(database: Database) -> None:
    with database.transaction() as connection:
        job_id = insert_job(connection, spec("sync", schedule="* * * * *"), START)
    due = START.replace(microsecond=0) + MINUTE
    with database.transaction() as connection:
        connection.execute(
            insert(runs).values(
                job_id=job_id,
                scheduled_for=due,
                trigger="manual",
                status="succeeded",
                queue="default",
                priority=2,
                not_before=due,
                max_attempts=1,
                created_at=START,
            )
        )
    woken: list[bool] = []
    scheduler = Scheduler(database)
    scheduler.on_new_runs = lambda: woken.append(True)
    scheduler.tick(START + MINUTE)
    assert rows(database) == [(job_id, due, "succeeded", None)]
    assert woken == [], "nothing was made: no worker is woken"
    scheduler.tick(START + 2 * MINUTE)
    assert woken == [True]


def test_a_schedule_that_is_over_leaves_the_job_with_no_next_due_time(
    database: Database,
) -> None:
    with database.transaction() as connection:
        insert_job(connection, spec("once", schedule="once 2026-06-01T10:01"), START)
    assert Scheduler(database).tick(START + MINUTE) == timedelta(minutes=1)
    with database.transaction(write=False) as connection:
        assert connection.execute(select(jobs.c.next_due_at)).scalar_one() is None
    assert len(rows(database)) == 1


def test_jobs_on_one_expression_with_jitter_keep_their_own_due_times(
    database: Database,
) -> None:
    schedule = {"cron": "*/10 * * * *", "jitter": "9m"}
    with database.transaction() as connection:
        insert_jobs(connection, [spec(f"job-{n}", schedule=schedule) for n in range(8)], START)
    Scheduler(database).tick(START + 10 * MINUTE)
    expected = [spec(f"job-{n}", schedule=schedule).schedule.next_after(START) for n in range(8)]
    assert [row[1] for row in rows(database)] == expected
    assert len(set(expected)) > 1


def test_a_waiting_run_starts_once_its_job_no_longer_queues(database: Database) -> None:
    with database.transaction() as connection:
        job_id = insert_job(connection, spec("sync", schedule="* * * * *", overlap="queue"), START)
    scheduler = Scheduler(database)
    scheduler.tick(START + MINUTE)
    scheduler.tick(START + 2 * MINUTE)
    assert [row[2] for row in rows(database)] == ["pending", "waiting"]
    with database.transaction() as connection:
        first = connection.execute(select(func.min(runs.c.id))).scalar_one()
        connection.execute(update(runs).where(runs.c.id == first).values(status="succeeded"))
        assert update_job(
            connection,
            job_id,
            spec("sync", schedule="* * * * *", overlap="forbid"),
            expected_version=1,
            now=START + 2 * MINUTE,
        )
    scheduler.tick(START + 3 * MINUTE)
    assert [row[2:] for row in rows(database)] == [
        ("succeeded", None),
        ("pending", None),
        ("skipped", "overlap"),
    ]


def test_the_global_pause_plans_nothing_and_sleeps_until_resumed(database: Database) -> None:
    with database.transaction() as connection:
        insert_jobs(connection, [spec("sync", schedule="* * * * *", overlap="allow")], START)
        set_flag(connection, PAUSED, True, START)
    scheduler = Scheduler(database)
    assert scheduler.tick(START + 2 * MINUTE) == IDLE
    assert rows(database) == []
    with database.transaction() as connection:
        set_flag(connection, PAUSED, False, START + 2 * MINUTE)
    assert scheduler.tick(START + 2 * MINUTE) == timedelta(seconds=59.5)
    due = START.replace(microsecond=0)
    assert [row[1:3] for row in rows(database)] == [
        (due + MINUTE, "pending"),  # late, caught up once by the misfire policy
        (due + 2 * MINUTE, "pending"),
    ]
