"""A token's use is recorded at most once a minute, so most API requests only read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cronwell.app import Cronwell
from cronwell.auth import Role
from cronwell.engine.clock import ManualClock
from cronwell.store.auth import create_token, list_tokens, record_use
from cronwell.store.database import Database

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _last_used_at(database: Database) -> datetime | None:
    with database.transaction(write=False) as connection:
        (shown,) = list_tokens(connection)
    return shown.last_used_at


def test_a_use_within_a_minute_of_the_last_recorded_is_not_written(
    database: Database, database_url: str
) -> None:
    with database.transaction() as connection:
        made = create_token(connection, Role.VIEWER, now=NOW)
    clock = ManualClock(NOW)
    app = Cronwell(database_url, clock=clock, migrate=False)
    try:
        assert app.authenticate(made.token) is not None
        for seconds in (1, 59):
            clock.set(NOW + timedelta(seconds=seconds))
            assert app.authenticate(made.token)
            assert _last_used_at(database) == NOW
        clock.set(NOW + timedelta(seconds=60))
        assert app.authenticate(made.token)
    finally:
        app.database.dispose()
    assert _last_used_at(database) == NOW + timedelta(seconds=60)


def test_recording_a_use_is_guarded_by_the_stored_last_use(database: Database) -> None:
    with database.transaction() as connection:
        token_id = create_token(connection, Role.VIEWER, now=NOW).row.id
    with database.transaction() as connection:
        assert record_use(connection, token_id, NOW) is True  # never used: written
        # Two requests that both read a stale use: the second changes nothing.
        assert record_use(connection, token_id, NOW + timedelta(seconds=30)) is False
        assert record_use(connection, token_id, NOW + timedelta(minutes=2)) is True
    assert _last_used_at(database) == NOW + timedelta(minutes=2)
