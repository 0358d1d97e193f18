"""The loops outlive their database, and no attempt is left running by an error of the worker's.

The outages are real: on PostgreSQL the database refuses connections and its live ones are
terminated; on SQLite its file is replaced by one that is not a database. Time is a scripted
clock, so minutes of outage and backoff pass in a moment.
"""

from __future__ import annotations

import contextlib
import os
import resource
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from cronwell.app import Cronwell
from cronwell.engine.clock import ManualClock
from cronwell.engine.leader import LeaderLease
from cronwell.engine.scheduler import Scheduler
from cronwell.engine.worker import Worker
from cronwell.spec import JobSpec
from cronwell.store.database import Database
from cronwell.store.jobs import insert_job
from cronwell.store.leases import Lease, list_leases
from cronwell.store.tables import attempts, runs
from cronwell.store.workers import list_workers
from tests.engine.rows import job_with_run

NOW = datetime(2026, 6, 1, 10, 0, 0, 500000, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


class Outage:
    """A real loss of the store, begun and ended at will."""

    def __init__(self, database: Database, server_url: str | None) -> None:
        self.database = database
        self.server_url = server_url
        self.is_on = False

    def begin(self) -> None:
        self.is_on = True
        if self.server_url is None:
            self._swap_file(away=True)
            return
        with self._admin() as admin:
            admin.execute(f'ALTER DATABASE "{self._name}" ALLOW_CONNECTIONS false')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (self._name,),
            )

    def end(self) -> None:
        if not self.is_on:
            return
        self.is_on = False
        if self.server_url is None:
            self._swap_file(away=False)
            return
        with self._admin() as admin:
            admin.execute(f'ALTER DATABASE "{self._name}" ALLOW_CONNECTIONS true')

    @property
    def _name(self) -> str:
        name = self.database.url.database
        assert name is not None
        return name

    def _admin(self) -> psycopg.Connection[Any]:
        assert self.server_url is not None
        url = make_url(self.server_url).set(drivername="postgresql")
        return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)

    def _swap_file(self, *, away: bool) -> None:
        """Close every connection, then put a file that is not a database in the store's
        place, or the store back."""
        path = Path(self._name)
        kept = path.with_name(path.name + ".away")
        self.database.dispose()
        if away:
            path.rename(kept)
            path.write_bytes(b"not a database, " * 1024)
            return
        for leftover in (
            path,
            path.with_name(path.name + "-wal"),
            path.with_name(path.name + "-shm"),
        ):
            leftover.unlink(missing_ok=True)
        kept.rename(path)


@pytest.fixture
def outage(request: pytest.FixtureRequest, database: Database) -> Iterator[Outage]:
    server = None if database.is_sqlite else request.getfixturevalue("postgres_url")
    outage = Outage(database, server)
    yield outage
    outage.end()


class ScriptedClock(ManualClock):
    """A manual clock whose sleeps move it on, wait a moment of real time (for the work of
    other threads), and then call ``between``."""

    def __init__(self, start: datetime, between: Callable[[ScriptedClock], None]) -> None:
        super().__init__(start)
        self.between = between

    def sleep(self, seconds: float, wake: threading.Event) -> None:
        wake.wait(min(seconds, 0.01))
        self.advance(timedelta(seconds=max(0.0, seconds)))
        self.between(self)


def at(steps: list[tuple[datetime, Callable[[], None]]]) -> Callable[[ScriptedClock], None]:
    """A script: each step is done once, after the first sleep that reaches its instant."""

    def between(clock: ScriptedClock) -> None:
        while steps and clock.now() >= steps[0][0]:
            steps.pop(0)[1]()

    return between


def add_job(database: Database, **definition: Any) -> int:
    spec = JobSpec.parse({"name": "job", **definition})
    with database.transaction() as connection:
        return insert_job(connection, spec, NOW)


def add_run(database: Database, when: datetime = NOW, **definition: Any) -> int:
    """A job from ``definition`` and one pending run of it, due ``when``."""
    return job_with_run(database, when, **definition)


def run_rows(database: Database) -> list[Any]:
    with database.transaction(write=False) as connection:
        return list(connection.execute(select(runs).order_by(runs.c.scheduled_for)).all())


def attempt_rows(database: Database, run_id: int) -> list[Any]:
    with database.transaction(write=False) as connection:
        query = select(attempts).where(attempts.c.run_id == run_id).order_by(attempts.c.number)
        return list(connection.execute(query).all())


# --- the scheduler ----------------------------------------------------------------------------


def test_a_scheduler_whose_database_failed_for_minutes_fires_on_time_again(
    database: Database, outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    add_job(database, command="true", schedule="* * * * *", overlap="allow")
    stop = threading.Event()
    script = [(NOW + 1.5 * MINUTE, outage.begin), (NOW + 4 * MINUTE, outage.end)]
    clock = ScriptedClock(NOW, at([*script, (NOW + 6 * MINUTE + timedelta(seconds=1), stop.set)]))
    Scheduler(database, clock).run(stop, LeaderLease(database, clock))

    made = {row.scheduled_for: row for row in run_rows(database)}
    due = NOW.replace(microsecond=0)
    assert made[due + MINUTE].created_at == due + MINUTE, "fired on time before the outage"
    for minute in (5, 6):
        row = made[due + minute * MINUTE]
        assert row.created_at == row.scheduled_for, f"fired on time at minute {minute} after it"
    assert due + 4 * MINUTE in made, "the last due time of the outage is caught up"
    assert "the scheduler: the database failed" in caplog.text


def test_a_leader_cut_off_past_its_lease_stops_leading_and_does_not_fire_for_another(
    database: Database, outage: Outage
) -> None:
    add_job(database, command="true", schedule="* * * * *", overlap="allow")
    ttl = timedelta(seconds=15)
    lease = LeaderLease(database, ttl=ttl)
    stand_by = LeaderLease(database, ttl=ttl)
    stop = threading.Event()
    seen: dict[str, bool] = {}

    def back_and_taken_over() -> None:
        seen["is_leader_while_cut_off"] = lease.is_leader
        outage.end()
        assert stand_by.tick(clock.now()) == ttl / 3 and stand_by.is_leader

    script = [
        (NOW + 1.5 * MINUTE, outage.begin),
        (NOW + 3 * MINUTE, back_and_taken_over),
        (NOW + 6 * MINUTE, stop.set),
    ]
    clock = ScriptedClock(NOW, at(script))
    lease.clock = stand_by.clock = clock
    Scheduler(database, clock).run(stop, lease)

    assert seen == {"is_leader_while_cut_off": False}, "a lease it could not renew is not held"
    taken_over_at = NOW + 3 * MINUTE
    created = [row.created_at for row in run_rows(database)]
    assert created, "it fired before the outage"
    assert not [at for at in created if NOW + 1.5 * MINUTE <= at < taken_over_at + ttl], (
        "nothing fired while cut off, nor while the stand-by held the lease"
    )
    assert max(created) >= NOW + 5 * MINUTE, "it leads and fires again once that lease expired"


def test_resigning_with_the_database_gone_does_not_raise(
    database: Database, outage: Outage, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    lease = LeaderLease(database, clock)
    lease.tick()
    assert lease.is_leader
    outage.begin()
    lease.resign()
    assert not lease.is_leader
    assert "the leader lease, resigning: the database failed" in caplog.text


# --- the worker -------------------------------------------------------------------------------


def test_a_worker_whose_database_is_down_at_its_start_registers_and_works_once_it_is_back(
    database: Database, outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    run_id = add_run(database, command="true")
    outage.begin()
    stop = threading.Event()

    def stop_once_done(clock: ScriptedClock) -> None:
        if clock.now() >= NOW + MINUTE:
            outage.end()
        if not outage.is_on and run_rows(database)[0].status == "succeeded":
            stop.set()
        assert clock.now() < NOW + 10 * MINUTE, "the run never succeeded"

    clock = ScriptedClock(NOW, stop_once_done)
    worker = Worker(database, clock)
    try:
        worker.run(stop)
    finally:
        worker.close()

    assert [a.status for a in attempt_rows(database, run_id)] == ["succeeded"]
    with database.transaction(write=False) as connection:
        (row,) = list_workers(connection)
    assert (row.id, row.stopped_at is not None) == (worker.id, True)
    assert "the worker: the database failed" in caplog.text


def test_a_worker_stopping_with_the_database_gone_stops_its_runs_and_returns(
    database: Database, outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    run_id = add_run(database, command="sleep 30")
    stop = threading.Event()

    def cut_off_once_running(clock: ScriptedClock) -> None:
        if worker.in_flight and not outage.is_on:
            outage.begin()
            stop.set()

    clock = ScriptedClock(NOW, cut_off_once_running)
    worker = Worker(database, clock, grace=timedelta(0))
    started = time.monotonic()
    try:
        worker.run(stop)
        assert time.monotonic() - started < 10, "it neither waited for the run nor hung"
        assert worker.wake.wait(10), "its command was stopped, and its attempt ended"
    finally:
        worker.close()
    outage.end()

    (row,) = run_rows(database)
    assert (row.id, row.status, row.lease_owner) == (run_id, "running", worker.id), (
        "left for its lease to expire: the reaper takes it back"
    )
    assert "the worker, stopping: the database failed" in caplog.text
    assert "the worker, saying it stopped: the database failed" in caplog.text


# --- attempts that the worker itself fails ----------------------------------------------------


@contextlib.contextmanager
def no_file_descriptors_left() -> Iterator[None]:
    """This process may open no more files: every descriptor up to its limit is taken."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    highest = max(int(fd.name) for fd in Path("/proc/self/fd").iterdir())
    resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 16, hard))
    taken = []
    try:
        with contextlib.suppress(OSError):
            while True:
                taken.append(os.open(os.devnull, os.O_RDONLY))
        yield
    finally:
        for fd in taken:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_an_attempt_the_worker_cannot_start_for_want_of_files_ends_failed(
    database: Database, worker: Worker
) -> None:
    run_id = add_run(
        database, task="tests.engine.tasks.sample:add", args=[1, 2], retry={"strategy": "none"}
    )
    run_rows(database)  # a connection is open and pooled: the tick needs no new file
    worker.wake.clear()
    with no_file_descriptors_left():
        worker.tick(NOW)
        has_ended = worker.wake.wait(10)  # set as the attempt's end is queued
    assert has_ended, "the attempt's end was queued"
    assert worker.join(10)
    assert run_rows(database)[0].status == "dead"
    (attempt,) = attempt_rows(database, run_id)
    assert attempt.status == "failed"
    assert "the worker failed the attempt" in attempt.error
    assert "Traceback" in attempt.error and "Too many open files" in attempt.error


LAST_HOUR = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)  # a retry a day later is past any date


@pytest.mark.parametrize(
    "target",
    [{"command": "false"}, {"task": "tests.engine.tasks.sample:fail", "mode": "thread"}],
    ids=["pool", "thread"],
)
def test_an_attempt_whose_run_cannot_be_settled_ends_failed_and_its_run_dead(
    database: Database, target: dict[str, str]
) -> None:
    retry = {"strategy": "fixed", "initial_delay": "1d", "max_delay": "1d", "max_attempts": 2}
    run_id = add_run(database, LAST_HOUR, retry=retry, **target)
    worker = Worker(database, ManualClock(LAST_HOUR), rand=lambda: 0.0)
    try:
        worker.tick()
        assert worker.join(10), "the attempt's end was queued"
    finally:
        worker.close()
    row = run_rows(database)[0]
    assert (row.status, row.reason) == ("dead", "the worker could not settle the run")
    (attempt,) = attempt_rows(database, run_id)
    assert attempt.status == "failed"
    assert "the worker could not settle the attempt" in attempt.error
    assert "OverflowError" in attempt.error


# --- stopping ---------------------------------------------------------------------------------


def test_shutdown_cuts_every_loops_sleep_short(database_url: str, database: Database) -> None:
    # A lease this long would keep the scheduler asleep for its whole idle minute.
    app = Cronwell(database_url, lease=timedelta(minutes=10), grace=timedelta(0))
    app.start()
    try:
        deadline = time.monotonic() + 10
        while not leases_held(database):  # the scheduler passed once and sleeps
            assert time.monotonic() < deadline, "the scheduler never took the lease"
            time.sleep(0.02)
    finally:
        started = time.monotonic()
        app.shutdown()
    assert time.monotonic() - started < 5
    assert not leases_held(database), "the scheduler resigned on its way out"


def leases_held(database: Database) -> list[Lease]:
    with database.transaction(write=False) as connection:
        return list_leases(connection)
