"""Pruning by retention, on SQLite and PostgreSQL: what goes, what stays, and a dry run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from cronwell.lifecycle import RunStatus, Trigger
from cronwell.policies.retention import Retention
from cronwell.spec import JobSpec
from cronwell.store.database import Database
from cronwell.store.jobs import insert_job
from cronwell.store.retention import Pruned, prune
from cronwell.store.tables import attempts, events, runs

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
KEEP_NONE = Retention(keep_last_runs=0)


def make_job(database: Database, name: str = "report") -> int:
    with database.transaction() as connection:
        return insert_job(connection, JobSpec.parse({"name": name, "command": "true"}), NOW)


def add_run(
    database: Database,
    job_id: int,
    days_ago: float,
    status: RunStatus = RunStatus.SUCCEEDED,
    *,
    attempts_made: int = 1,
    is_started: bool = True,
    event_id: int | None = None,
) -> int:
    """A run due ``days_ago`` before NOW, finished a minute later when its status is."""
    due = NOW - DAY * days_ago
    ended = due + timedelta(minutes=1) if status.is_finished and is_started else None
    with database.transaction() as connection:
        run_id = connection.execute(
            insert(runs)
            .values(
                job_id=job_id,
                scheduled_for=due,
                trigger=Trigger.SCHEDULE,
                status=status,
                queue="default",
                priority=2,
                not_before=due,
                max_attempts=3,
                created_at=due,
                finished_at=ended,
                event_id=event_id,
            )
            .returning(runs.c.id)
        ).scalar_one()
        for number in range(1, attempts_made + 1 if is_started else 1):
            connection.execute(
                insert(attempts).values(
                    run_id=run_id, number=number, status="succeeded", started_at=due
                )
            )
    return int(run_id)


def add_event(database: Database, days_ago: float) -> int:
    with database.transaction() as connection:
        return int(
            connection.execute(
                insert(events)
                .values(name="upload", payload=None, fired_at=NOW - DAY * days_ago)
                .returning(events.c.id)
            ).scalar_one()
        )


def ids(database: Database, table: object) -> set[int]:
    with database.transaction(write=False) as connection:
        return set(connection.scalars(select(table.c.id)))  # type: ignore[attr-defined]


def attempts_of(database: Database, run_id: int) -> int:
    with database.transaction(write=False) as connection:
        query = select(func.count()).where(attempts.c.run_id == run_id)
        return int(connection.scalar(query) or 0)


def test_old_finished_runs_go_with_their_attempts_and_recent_ones_stay(
    database: Database,
) -> None:
    job = make_job(database)
    old = [
        add_run(database, job, 100 + n, status, attempts_made=2)
        for n, status in enumerate([RunStatus.SUCCEEDED, RunStatus.DEAD, RunStatus.CANCELLED])
    ]
    never_started = add_run(database, job, 95, RunStatus.SKIPPED, is_started=False)
    recent = add_run(database, job, 10, attempts_made=2)

    pruned = prune(database, KEEP_NONE, NOW, dry_run=False)

    assert pruned == Pruned(runs=4, attempts=6, events=0)
    assert ids(database, runs) == {recent}
    assert all(attempts_of(database, run) == 0 for run in [*old, never_started])
    assert attempts_of(database, recent) == 2


def test_a_run_is_judged_by_when_it_finished_not_when_it_was_due(database: Database) -> None:
    job = make_job(database)
    long_one = add_run(database, job, 100)
    with database.transaction() as connection:
        connection.execute(
            runs.update().where(runs.c.id == long_one).values(finished_at=NOW - DAY * 80)
        )
    assert prune(database, KEEP_NONE, NOW, dry_run=False) == Pruned()
    assert ids(database, runs) == {long_one}


@pytest.mark.parametrize(
    "status", [RunStatus.PENDING, RunStatus.RUNNING, RunStatus.RETRYING, RunStatus.WAITING]
)
def test_active_runs_never_go_however_old(database: Database, status: RunStatus) -> None:
    job = make_job(database)
    active = add_run(database, job, 400, status)
    assert prune(database, KEEP_NONE, NOW, dry_run=False) == Pruned()
    assert ids(database, runs) == {active}


def test_each_jobs_last_runs_stay_however_old(database: Database) -> None:
    first, second = make_job(database, "first"), make_job(database, "second")
    first_runs = [add_run(database, first, 200 + n) for n in range(5)]  # newest first
    second_runs = [add_run(database, second, 300 + n) for n in range(2)]

    pruned = prune(database, Retention(keep_last_runs=3), NOW, dry_run=False)

    assert pruned == Pruned(runs=2, attempts=2)
    assert ids(database, runs) == {*first_runs[:3], *second_runs}


def test_old_events_go_unless_an_active_run_still_reads_them(database: Database) -> None:
    job = make_job(database)
    old, read, recent = add_event(database, 100), add_event(database, 100), add_event(database, 5)
    finished = add_run(database, job, 1, event_id=old)
    add_run(database, job, 0, RunStatus.PENDING, event_id=read)

    assert prune(database, Retention(), NOW, dry_run=False) == Pruned(events=1)
    assert ids(database, events) == {read, recent}
    with database.transaction(write=False) as connection:
        kept = connection.scalar(select(runs.c.event_id).where(runs.c.id == finished))
    assert kept == old  # the run keeps the id of the event that made it


def test_a_limit_turned_off_prunes_nothing_of_its_kind(database: Database) -> None:
    job = make_job(database)
    run, event = add_run(database, job, 500), add_event(database, 500)
    assert prune(database, Retention.off(), NOW, dry_run=False) == Pruned()
    assert ids(database, runs) == {run}
    assert ids(database, events) == {event}


def test_a_dry_run_counts_what_would_go_and_deletes_nothing(database: Database) -> None:
    job = make_job(database)
    for n in range(6):
        add_run(database, job, 100 + n, attempts_made=2)
    add_run(database, job, 1)
    add_event(database, 100)
    before = (ids(database, runs), ids(database, events))
    retention = Retention(keep_last_runs=2)

    counted = prune(database, retention, NOW, dry_run=True)

    assert counted == Pruned(runs=5, attempts=10, events=1)
    assert (ids(database, runs), ids(database, events)) == before
    assert prune(database, retention, NOW, dry_run=False) == counted


def test_a_big_prune_goes_in_bounded_batches(
    database: Database, pruned_batches: list[Pruned]
) -> None:
    batches = pruned_batches
    job = make_job(database)
    for n in range(5):
        add_run(database, job, 100 + n)
    for _ in range(3):
        add_event(database, 100)
    assert prune(database, KEEP_NONE, NOW, dry_run=False) == Pruned(runs=5, attempts=5, events=3)
    assert ids(database, runs) == set()
    assert len(batches) > 1
    assert all(batch.runs <= 2 and batch.events <= 2 for batch in batches), batches


def test_an_unfinished_run_counts_among_the_last_runs_kept(database: Database) -> None:
    job = make_job(database)
    active = add_run(database, job, 200, RunStatus.RETRYING)
    kept = add_run(database, job, 300)
    add_run(database, job, 400)
    assert prune(database, Retention(keep_last_runs=2), NOW, dry_run=False) == Pruned(1, 1)
    assert ids(database, runs) == {active, kept}
