"""Transactions on both databases: a writer waits its turn, however busy the other writers
of its process are, and a connection the server dropped is replaced before anyone uses it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import text

from cronwell.store.database import Database
from cronwell.store.flags import get_flag, set_flag

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
POSTGRESQL_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
TURN = 0.25  # seconds: the longest a writer may wait behind a thread that writes back to back


def test_a_writer_is_not_starved_by_a_thread_writing_back_to_back(database: Database) -> None:
    # SQLite's own wait for its write lock sleeps between tries: a thread waiting there kept
    # missing its turn to one that committed and began again at once, for seconds.
    stop = threading.Event()

    def write_back_to_back() -> None:
        count = 0
        while not stop.is_set():
            with database.transaction() as connection:
                count += 1
                set_flag(connection, "busy", count, NOW)
                time.sleep(0.002)  # holding the lock, as a transaction doing work does

    busy = threading.Thread(target=write_back_to_back)
    busy.start()
    try:
        waits = []
        for number in range(5):
            time.sleep(0.02)
            asked = time.monotonic()
            with database.transaction() as connection:
                waits.append(time.monotonic() - asked)
                set_flag(connection, "mine", number, NOW)
    finally:
        stop.set()
        busy.join()
    assert max(waits) < TURN, [round(wait, 3) for wait in waits]
    with database.transaction(write=False) as connection:
        assert get_flag(connection, "mine") == 4


@SQLITE_ONLY
def test_a_writing_transaction_inside_another_is_refused_at_once(database: Database) -> None:
    with database.transaction() as connection:
        set_flag(connection, "outer", 1, NOW)
        with pytest.raises(RuntimeError, match="inside another"), database.transaction():
            pass
    with database.transaction(write=False) as connection:
        assert get_flag(connection, "outer") == 1


@SQLITE_ONLY
def test_readers_do_not_wait_for_writers(database: Database) -> None:
    with database.transaction() as connection:
        set_flag(connection, "seen", 1, NOW)
    with database.transaction() as writer:
        set_flag(writer, "seen", 2, NOW)
        with database.transaction(write=False) as reader:
            assert get_flag(reader, "seen") == 1  # the writer has not committed yet


@POSTGRESQL_ONLY
def test_a_pooled_connection_the_server_dropped_is_replaced(database: Database) -> None:
    with database.transaction() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    args, params = database.engine.dialect.create_connect_args(database.url)
    with psycopg.connect(*args, **params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (pid,))
        eventually(lambda: not other.execute(_ALIVE, (pid,)).fetchone())
    with database.transaction() as connection:
        assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid


_ALIVE = "SELECT 1 FROM pg_stat_activity WHERE pid = %s"


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.01)
