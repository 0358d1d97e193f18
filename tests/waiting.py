"""Waiting in real time, for the tests where real time is the point: another thread or
process, or a PostgreSQL backend, has to get somewhere first."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import text

from cronwell.store.database import Database

# This test's database only: the server is shared with other tests running at the same time,
# whose lock waits say nothing about this test's racer.
_LOCK_WAITS = text(
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Return once ``check()`` holds; fail if it does not within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)


def until_a_statement_waits_for_a_lock(database: Database) -> None:
    """Return once a statement on this database waits for a lock: the racer a test started has
    reached the row another transaction holds."""

    def waiting() -> bool:
        # A new transaction each time: one transaction sees one snapshot of pg_stat_activity.
        with database.transaction(write=False) as connection:
            return bool(connection.execute(_LOCK_WAITS).scalar_one())

    eventually(waiting)
