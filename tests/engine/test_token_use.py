"""The facade's token check only reads, but for a use to record once a minute: an API request
does not queue behind the scheduler's and workers' writing transactions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from cronwell.app import Cronwell
from cronwell.auth import Role
from cronwell.engine.clock import ManualClock
from cronwell.store.database import Database

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@contextmanager
def writes_blocked(database_url: str) -> Iterator[None]:
    """Hold, from another connection, what every write to ``api_tokens`` must wait for:
    SQLite's write lock, or on PostgreSQL a lock that lets reads through but no UPDATE."""
    other = Database(database_url)
    try:
        with other.transaction() as connection:
            # On SQLite the transaction's BEGIN IMMEDIATE took the write lock already.
            if not other.is_sqlite:
                connection.execute(text("LOCK TABLE api_tokens IN EXCLUSIVE MODE"))
            yield
    finally:
        other.dispose()


def _authenticates_at_once(app: Cronwell, token: str) -> bool:
    done = threading.Event()

    def check() -> None:
        if app.authenticate(token) is not None:
            done.set()

    thread = threading.Thread(target=check, daemon=True)
    thread.start()
    return done.wait(timeout=3)


def test_a_token_used_again_within_a_minute_is_checked_without_writing(
    app: Cronwell, clock: ManualClock, database_url: str
) -> None:
    made = app.create_token(Role.VIEWER)
    assert app.authenticate(made.token) is not None
    clock.advance(timedelta(seconds=59))
    with writes_blocked(database_url):
        assert _authenticates_at_once(app, made.token)
    assert app.list_tokens()[0].last_used_at == NOW
    clock.advance(timedelta(seconds=1))
    assert app.authenticate(made.token) is not None
    assert app.list_tokens()[0].last_used_at == NOW + timedelta(minutes=1)
