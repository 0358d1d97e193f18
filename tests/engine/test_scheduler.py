"""The scheduler ticked with a manual clock over real SQLite and PostgreSQL stores."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from cronwell.engine.clock import ManualClock
from cronwell.engine.leader import LeaderLease
from cronwell.engine.scheduler import Scheduler
from cronwell.spec import JobSpec
from cronwell.store.database import Database
from cronwell.store.jobs import insert_job
from cronwell.store.tables import jobs, runs

START = datetime(2026, 6, 1, 10, 0, 0, 500000, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def add_job(database: Database, now: datetime, **definition: Any) -> int:
    spec = JobSpec.parse({"command": "true", **definition})
    with database.transaction() as connection:
        return insert_job(connection, spec, now)


def stored_runs(database: Database) -> list[tuple[str, str, str, str | None, int]]:
    """(due time HH:MM:SS, trigger, status, reason, covers) of every run, in due order."""
    with database.transaction(write=False) as connection:
        rows = connection.execute(
            select(
                runs.c.scheduled_for, runs.c.trigger, runs.c.status, runs.c.reason, runs.c.covers
            ).order_by(runs.c.scheduled_for)
        ).all()
    return [(row[0].strftime("%H:%M:%S"), row[1], row[2], row[3], row[4]) for row in rows]


def test_fires_each_due_time_once_and_sleeps_until_the_next(database: Database) -> None:
    add_job(database, START, name="every-minute", schedule="* * * * *", overlap="allow")
    scheduler = Scheduler(database, ManualClock(START))
    assert scheduler.tick(START) == timedelta(seconds=59.5)
    for minute in (1, 2, 2, 3):  # a second tick at the same instant adds nothing
        assert scheduler.tick(START.replace(microsecond=0) + minute * MINUTE) == MINUTE
    assert stored_runs(database) == [
        ("10:01:00", "schedule", "pending", None, 1),
        ("10:02:00", "schedule", "pending", None, 1),
        ("10:03:00", "schedule", "pending", None, 1),
    ]


def test_racing_schedulers_fire_each_due_time_once(database_url: str) -> None:
    setup = Database(database_url)
    for number in range(20):
        add_job(setup, START, name=f"job-{number}", schedule="* * * * *", overlap="allow")
    setup.dispose()
    schedulers = [Scheduler(Database(database_url)) for _ in range(3)]
    barrier = threading.Barrier(len(schedulers))

    def tick_through(scheduler: Scheduler) -> None:
        for minute in range(1, 6):
            barrier.wait()
            scheduler.tick(START.replace(microsecond=0) + minute * MINUTE)

    threads = [threading.Thread(target=tick_through, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    check = Database(database_url)
    rows = stored_runs(check)
    check.dispose()
    for scheduler in schedulers:
        scheduler.database.dispose()
    assert len(rows) == 20 * 5
    assert {row[:3] for row in rows} == {
        (f"10:0{minute}:00", "schedule", "pending") for minute in range(1, 6)
    }


@pytest.mark.parametrize(
    ("misfire", "expected"),
    [
        (
            "run_once",
            [("12:40:00", "misfire", "skipped", "missed", 1),
             ("12:50:00", "misfire", "pending", None, 1),
             ("13:00:00", "schedule", "skipped", "overlap", 1)],
        ),
        (
            "skip",
            [("12:40:00", "misfire", "skipped", "missed", 1),
             ("12:50:00", "misfire", "skipped", "missed", 1),
             ("13:00:00", "schedule", "pending", None, 1)],
        ),
    ],
)  # fmt: skip
def test_downtime_follows_the_misfire_policy_and_loses_no_due_time(
    database: Database, misfire: str, expected: list[tuple[str, str, str, str | None, int]]
) -> None:
    add_job(database, START, name="report", schedule="*/10 * * * *", misfire=misfire)
    Scheduler(database).tick(datetime(2026, 6, 1, 13, 0, tzinfo=UTC))
    rows = stored_runs(database)
    assert len(rows) == 18, "every due time from 10:10 to 13:00 has a run row"
    assert rows[-3:] == expected
    assert all(row[2:4] == ("skipped", "missed") for row in rows[:-3])


def test_a_long_backlog_is_summed_up_not_enumerated(database: Database) -> None:
    add_job(database, START, name="tick", schedule="every 1s", misfire="skip")
    Scheduler(database).tick(START + timedelta(days=1))
    with database.transaction(write=False) as connection:
        query = select(func.count(runs.c.id), func.sum(runs.c.covers))
        count, covered = connection.execute(query).one()
    assert count <= 1_010, "rows are bounded by the plan limit"
    assert covered == 86_400, "yet every missed second is accounted for"


def test_forbid_skips_a_due_time_while_a_run_is_unfinished(database: Database) -> None:
    add_job(database, START, name="sync", schedule="* * * * *")
    scheduler = Scheduler(database)
    scheduler.tick(START + MINUTE)
    scheduler.tick(START + 2 * MINUTE)
    assert [row[2:4] for row in stored_runs(database)] == [
        ("pending", None),
        ("skipped", "overlap"),
    ]


def test_replace_cancels_the_unfinished_run(database: Database) -> None:
    add_job(database, START, name="sync", schedule="* * * * *", overlap="replace")
    scheduler = Scheduler(database)
    scheduler.tick(START + MINUTE)
    scheduler.tick(START + 2 * MINUTE)
    assert [row[2:4] for row in stored_runs(database)] == [
        ("cancelled", "replaced by a newer run"),
        ("pending", None),
    ]


def test_queue_holds_one_run_back(database: Database) -> None:
    add_job(database, START, name="sync", schedule="* * * * *", overlap="queue")
    scheduler = Scheduler(database)
    for minute in (1, 2, 3):
        scheduler.tick(START + minute * MINUTE)
    assert [row[2:4] for row in stored_runs(database)] == [
        ("pending", None),
        ("waiting", None),
        ("skipped", "overlap-queue-full"),
    ]


def test_a_disabled_job_does_not_fire(database: Database) -> None:
    add_job(database, START, name="sync", schedule="* * * * *")
    with database.transaction() as connection:
        connection.execute(update(jobs).values(is_enabled=False))
    assert Scheduler(database).tick(START + MINUTE) == timedelta(minutes=1)
    assert stored_runs(database) == []


class SteppingClock(ManualClock):
    """A manual clock whose sleep moves it on, then lets the test act (``between``)."""

    def __init__(self, start: datetime, between: Callable[[datetime], None]) -> None:
        super().__init__(start)
        self.between = between

    def sleep(self, seconds: float, wake: threading.Event) -> None:
        self.between(self.advance(timedelta(seconds=max(seconds, 0.001))))


def run_loop(database: Database, until: datetime, other: LeaderLease | None = None) -> bool:
    """Run a scheduler loop with a leader lease until ``until``; ``other`` renews meanwhile.
    Returns whether the loop's lease was released on the way out."""
    stop = threading.Event()

    def between(now: datetime) -> None:
        if other is not None:
            other.tick(now)
        if now >= until:
            stop.set()

    clock = SteppingClock(START, between)
    lease = LeaderLease(database, clock)
    Scheduler(database, clock).run(stop, lease)
    return not lease.is_leader


def test_the_loop_fires_while_it_leads_and_resigns_when_stopped(database: Database) -> None:
    add_job(database, START, name="every-minute", schedule="* * * * *", overlap="allow")
    assert run_loop(database, START + 3 * MINUTE)
    assert [row[0] for row in stored_runs(database)] == ["10:01:00", "10:02:00", "10:03:00"]


def test_a_stand_by_never_fires_while_the_leader_renews(database: Database) -> None:
    add_job(database, START, name="every-minute", schedule="* * * * *", overlap="allow")
    holder = LeaderLease(database, ManualClock(START))
    holder.tick(START)
    run_loop(database, START + 5 * MINUTE, other=holder)
    assert stored_runs(database) == []
