"""The wake-up thread on both databases: commits elsewhere wake subscribers, quickly; nothing
else does; it survives a dropped connection and stops promptly."""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from cronwell.engine.wakeup import Wakeup
from cronwell.store.database import Database
from cronwell.store.signals import JOBS, RUNS, notify
from tests.waiting import eventually

POSTGRESQL_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
PATIENCE = 5.0  # seconds to wait for a wake-up that must come
QUIET = 0.1  # seconds to wait for a wake-up that must not come
THREAD = "cronwell-wakeup"

CHILD = """
import sys
from sqlalchemy import text
from cronwell.store.database import Database
from cronwell.store.signals import RUNS, notify

database = Database(sys.argv[1])
with database.transaction() as connection:
    connection.execute(text("INSERT INTO probe (n) VALUES (1)"))
    notify(connection, RUNS)
database.dispose()
"""


@pytest.fixture
def wakeup(database: Database) -> Iterator[Wakeup]:
    with database.transaction() as connection:
        connection.execute(text("CREATE TABLE probe (n INTEGER)"))
    with Wakeup(database) as started:
        assert started.is_listening
        yield started


def make_work(database: Database, channel: str = RUNS) -> float:
    """Commit a change that signals ``channel``; the perf_counter just before the commit."""
    with database.transaction() as connection:
        connection.execute(text("INSERT INTO probe (n) VALUES (1)"))
        notify(connection, channel)
        return time.perf_counter()


def test_a_commit_in_another_connection_wakes_a_subscriber(
    database: Database, wakeup: Wakeup
) -> None:
    runs, jobs = wakeup.subscribe(RUNS), wakeup.subscribe(JOBS)
    make_work(database, RUNS)
    assert runs.wait(PATIENCE)
    if not database.is_sqlite:  # SQLite wakes every channel: it cannot tell them apart
        assert not jobs.wait(QUIET)


def test_a_commit_in_another_process_wakes_a_subscriber(database_url: str, wakeup: Wakeup) -> None:
    event = wakeup.subscribe(RUNS)
    subprocess.run([sys.executable, "-c", CHILD, database_url], check=True, timeout=60)
    assert event.wait(PATIENCE)


def test_a_rolled_back_transaction_wakes_nobody(database: Database, wakeup: Wakeup) -> None:
    event = wakeup.subscribe(RUNS)
    with pytest.raises(RuntimeError), database.transaction() as connection:
        connection.execute(text("INSERT INTO probe (n) VALUES (1)"))
        notify(connection, RUNS)
        raise RuntimeError("roll back")
    assert not event.wait(QUIET)


def test_every_subscriber_is_woken_and_may_bring_its_own_event(
    database: Database, wakeup: Wakeup
) -> None:
    own = threading.Event()
    assert wakeup.subscribe(RUNS, own) is own
    other = wakeup.subscribe(RUNS)
    make_work(database, RUNS)
    assert own.wait(PATIENCE)
    assert other.wait(PATIENCE)


def test_local_wakes_only_the_channel_and_needs_no_thread(database: Database) -> None:
    wakeup = Wakeup(database)  # never started
    runs, jobs = wakeup.subscribe(RUNS), wakeup.subscribe(JOBS)
    wakeup.local(JOBS)
    assert jobs.is_set()
    assert not runs.is_set()


def test_an_unknown_channel_is_refused(database: Database) -> None:
    wakeup = Wakeup(database, channels=[RUNS])
    with pytest.raises(ValueError, match="cronwell_jobs"):
        wakeup.subscribe(JOBS)
    with pytest.raises(ValueError, match="nope"):
        wakeup.local("nope")


def test_stop_ends_the_thread_promptly(database: Database) -> None:
    wakeup = Wakeup(database).start()
    assert wakeup.is_listening
    started = time.monotonic()
    wakeup.stop()
    assert time.monotonic() - started < 1.0
    assert THREAD not in {thread.name for thread in threading.enumerate()}


def test_stop_is_prompt_while_the_database_is_unreachable() -> None:
    database = Database("postgresql://cronwell@127.0.0.1:1/cronwell")  # nothing listens there
    wakeup = Wakeup(database).start(timeout=0.3)
    assert not wakeup.is_listening
    started = time.monotonic()
    wakeup.stop()
    assert time.monotonic() - started < 1.0
    assert THREAD not in {thread.name for thread in threading.enumerate()}


@POSTGRESQL_ONLY
def test_a_dropped_connection_is_replaced_and_everyone_woken(
    database: Database, wakeup: Wakeup
) -> None:
    runs, jobs = wakeup.subscribe(RUNS), wakeup.subscribe(JOBS)
    with database.transaction() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    # Signals sent while it reconnects are lost, so after reconnecting it wakes everyone.
    assert runs.wait(PATIENCE)
    assert jobs.wait(PATIENCE)
    eventually(lambda: wakeup.is_listening)
    runs.clear()
    make_work(database, RUNS)
    assert runs.wait(PATIENCE)


def test_wake_up_latency(database: Database, wakeup: Wakeup) -> None:
    event = wakeup.subscribe(RUNS)
    latencies = []
    for _ in range(50):
        event.clear()
        committing_at = make_work(database, RUNS)
        assert event.wait(PATIENCE)
        latencies.append((time.perf_counter() - committing_at) * 1000)
    cuts = statistics.quantiles(latencies, n=100)
    p50, p99 = statistics.median(latencies), cuts[98]
    print(f"\n{database.dialect} wake-up latency over 50: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    assert p99 < 50.0
