"""Signals on both databases: delivered at commit, never on rollback, never for nothing."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text

from cronwell.store.database import Database
from cronwell.store.signals import CHANNELS, JOBS, RUNS, Listener, listen, notify

POSTGRESQL_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
PATIENCE = 5.0  # seconds to wait for a signal that must come
QUIET = 0.05  # seconds to wait for a signal that must not come


@pytest.fixture
def listener(database: Database) -> Iterator[Listener]:
    with database.transaction() as connection:
        connection.execute(text("CREATE TABLE probe (n INTEGER)"))
    opened = listen(database)
    yield opened
    opened.close()


def make_work(database: Database, *channels: str) -> None:
    """A committed change that signals ``channels``, as a store operation making work does."""
    with database.transaction() as connection:
        connection.execute(text("INSERT INTO probe (n) VALUES (1)"))
        for channel in channels:
            notify(connection, channel)


def test_a_commit_elsewhere_signals_the_listener(database: Database, listener: Listener) -> None:
    make_work(database, RUNS)
    expected = {RUNS} if not database.is_sqlite else set(CHANNELS)  # SQLite cannot tell them apart
    assert listener.wait(PATIENCE) == expected
    assert listener.wait(QUIET) == frozenset()  # reported once


def test_nothing_is_signalled_without_a_change(database: Database, listener: Listener) -> None:
    with database.transaction():
        pass  # a write transaction on SQLite (BEGIN IMMEDIATE) that changes nothing
    with database.transaction(write=False) as connection:
        connection.execute(text("SELECT count(*) FROM probe"))
    assert listener.wait(QUIET) == frozenset()


def test_a_rolled_back_transaction_signals_nothing(database: Database, listener: Listener) -> None:
    with pytest.raises(RuntimeError), database.transaction() as connection:
        connection.execute(text("INSERT INTO probe (n) VALUES (1)"))
        notify(connection, RUNS)
        raise RuntimeError("roll back")
    assert listener.wait(QUIET) == frozenset()


@POSTGRESQL_ONLY
def test_a_signal_is_delivered_at_commit_not_before(database: Database, listener: Listener) -> None:
    with database.transaction() as connection:
        connection.execute(text("INSERT INTO probe (n) VALUES (1)"))
        notify(connection, JOBS)
        assert listener.wait(QUIET) == frozenset()
    assert listener.wait(PATIENCE) == {JOBS}


@POSTGRESQL_ONLY
def test_signals_that_came_together_are_reported_together(
    database: Database, listener: Listener
) -> None:
    make_work(database, RUNS, JOBS)
    make_work(database, RUNS)
    seen: set[str] = set()
    while seen != {RUNS, JOBS}:
        got = listener.wait(PATIENCE)
        assert got, "a signal was lost"
        seen |= got


@POSTGRESQL_ONLY
def test_a_lost_connection_raises(database: Database, listener: Listener) -> None:
    with database.transaction() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    with pytest.raises(psycopg.OperationalError):
        for _ in range(50):  # the termination reaches the socket shortly after
            listener.wait(0.1)
            listener.check()


@SQLITE_ONLY
def test_notify_writes_nothing_on_sqlite(database: Database, listener: Listener) -> None:
    with database.transaction() as connection:
        notify(connection, RUNS)
    assert listener.wait(QUIET) == frozenset()


@pytest.mark.parametrize("channel", ["", "Runs", "runs; drop table jobs", "x" * 64])
def test_a_channel_is_a_plain_lower_case_name(database: Database, channel: str) -> None:
    with pytest.raises(ValueError, match="signal channel"), database.transaction() as connection:
        notify(connection, channel)
