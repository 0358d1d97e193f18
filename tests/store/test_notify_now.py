"""notify_now: a signal for work that became claimable with time, sent at once on PostgreSQL
and not at all (nor any connection opened) on SQLite."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from cronwell.store.database import Database
from cronwell.store.signals import JOBS, RUNS, listen, notify_now

PATIENCE = 5.0  # seconds to wait for a signal that must come
QUIET = 0.05  # seconds to wait for a signal that must not come


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_listener_hears_it_at_once_without_a_commit(database: Database) -> None:
    listener = listen(database)
    try:
        notify_now(database, RUNS)
        assert listener.wait(PATIENCE) == {RUNS}
        assert listener.wait(QUIET) == frozenset()
    finally:
        listener.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_on_sqlite_it_touches_no_connection(database: Database) -> None:
    checkouts: list[Any] = []
    event.listen(database.engine, "checkout", lambda *args: checkouts.append(args))
    listener = listen(database)
    try:
        notify_now(database, JOBS)
        assert listener.wait(QUIET) == frozenset()
    finally:
        listener.close()
    assert checkouts == []


def test_a_bad_channel_name_is_refused(database: Database) -> None:
    with pytest.raises(ValueError, match="signal channel"):
        notify_now(database, "Runs; DROP TABLE runs")
