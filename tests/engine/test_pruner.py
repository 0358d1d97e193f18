"""The maintenance loop: it prunes shortly after start and then every interval, by the clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from cronwell.app import Cronwell
from cronwell.engine.clock import ManualClock
from cronwell.engine.pruner import FIRST_DELAY, INTERVAL, Pruner
from cronwell.lifecycle import RunStatus
from cronwell.policies.retention import Retention
from cronwell.store.database import Database
from cronwell.store.retention import Pruned
from cronwell.store.tables import runs
from tests.store.test_retention import add_run, ids, make_job

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
KEEP_NONE = Retention(keep_last_runs=0)


def test_the_first_pass_waits_a_minute_then_one_comes_every_hour(
    database: Database, clock: ManualClock
) -> None:
    pruner = Pruner(database, KEEP_NONE, clock)
    job = make_job(database)
    first = add_run(database, job, 100)

    assert pruner.tick() == FIRST_DELAY
    assert ids(database, runs) == {first}, "nothing is pruned before the first pass"

    clock.advance(FIRST_DELAY)
    assert pruner.tick() == INTERVAL
    assert ids(database, runs) == set()

    second = add_run(database, job, 100)
    clock.advance(INTERVAL - timedelta(seconds=1))
    assert pruner.tick() == timedelta(seconds=1)
    assert ids(database, runs) == {second}, "not before the hour is up"
    clock.advance(timedelta(seconds=1))
    assert pruner.tick() == INTERVAL
    assert ids(database, runs) == set()


def test_pass_once_prunes_at_once_and_says_what_went(
    database: Database, clock: ManualClock
) -> None:
    job = make_job(database)
    add_run(database, job, 100)
    add_run(database, job, 100.5, RunStatus.RUNNING)
    assert Pruner(database, KEEP_NONE, clock).pass_once() == Pruned(runs=1, attempts=1)


def test_the_loop_prunes_and_stops_when_told(database: Database, clock: ManualClock) -> None:
    job = make_job(database)
    old = add_run(database, job, 100)
    pruner = Pruner(database, KEEP_NONE, clock)
    stop = threading.Event()
    loop = threading.Thread(target=pruner.run, args=(stop,))
    loop.start()
    try:
        assert pruner.passed.wait(10), "the loop made a pass"
    finally:
        stop.set()
        loop.join(10)
    assert not loop.is_alive()
    assert old not in ids(database, runs)


def test_the_app_prunes_by_its_retention(app: Cronwell, database: Database) -> None:
    job = make_job(database)
    add_run(database, job, 100)
    assert app.retention == Retention()
    assert app.prune() == Pruned(), "the job's last hundred runs stay"
    assert app.prune(dry_run=True, retention=KEEP_NONE) == Pruned(runs=1, attempts=1)
    assert app.prune(retention=KEEP_NONE) == Pruned(runs=1, attempts=1)
    assert ids(database, runs) == set()


def test_an_app_with_retention_off_starts_no_pruner(database_url: str) -> None:
    app = Cronwell(database_url, retention=Retention.off(), migrate=False)
    on = Cronwell(database_url, migrate=False)
    try:
        assert len(on._scheduler_loops()) == len(app._scheduler_loops()) + 1
    finally:
        app.database.dispose()
        on.database.dispose()
