"""The schema as migrations build it is the schema tables.py declares, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select, text

from cronwell.store.database import Database, DatabaseURLError, normalize_url
from cronwell.store.leases import list_leases
from cronwell.store.migrate import alembic_config, is_current, upgrade
from cronwell.store.tables import flags, metadata


def test_migrations_build_exactly_the_declared_schema(database: Database) -> None:
    assert is_current(database)
    with database.transaction(write=False) as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_upgrading_twice_changes_nothing(database: Database) -> None:
    upgrade(database)
    assert is_current(database)


def test_a_database_of_the_first_schema_upgrades_with_its_leader_lease(database: Database) -> None:
    config = alembic_config()
    with database.transaction() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
        connection.execute(
            text(
                "INSERT INTO leases (name, owner, acquired_at, renewed_at, expires_at, takeovers)"
                " VALUES ('scheduler', 'token', :now, :now, :now, 0)"
            ),
            {"now": "2026-06-01 12:00:00+00:00"},
        )
    assert not is_current(database)
    upgrade(database)
    with database.transaction(write=False) as connection:
        (lease,) = list_leases(connection)
    assert (lease.owner, lease.holder) == ("token", None)


def test_instants_come_back_aware_in_utc(database: Database) -> None:
    stored = datetime(2026, 3, 8, 3, 0, 0, 123456, tzinfo=timezone(timedelta(hours=-4)))
    with database.transaction() as connection:
        connection.execute(insert(flags).values(name="x", value={"a": 1}, updated_at=stored))
    with database.transaction(write=False) as connection:
        loaded = connection.execute(select(flags.c.updated_at)).scalar_one()
    assert loaded == stored
    assert loaded.tzinfo is UTC


def test_naive_instants_are_refused(database: Database) -> None:
    with pytest.raises(Exception, match="has no UTC offset"), database.transaction() as connection:
        connection.execute(
            insert(flags).values(name="x", value={}, updated_at=datetime(2026, 1, 1))
        )


def test_a_failed_transaction_leaves_the_store_as_it_was(database: Database) -> None:
    now = datetime.now(UTC)
    with pytest.raises(RuntimeError), database.transaction() as connection:
        connection.execute(insert(flags).values(name="x", value={}, updated_at=now))
        raise RuntimeError("boom")
    with database.transaction(write=False) as connection:
        assert connection.execute(select(flags)).all() == []


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u@127.0.0.1:5432/db", "postgresql+psycopg"),
        ("postgres://u@127.0.0.1/db", "postgresql+psycopg"),
        ("sqlite:///cronwell.db", "sqlite+pysqlite"),
    ],
)
def test_urls_are_taken_as_given(url: str, driver: str) -> None:
    assert normalize_url(url).drivername == driver


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/db", "unsupported backend 'mysql'"),
        ("sqlite://", "in-memory SQLite database cannot be shared"),
        ("not a url", "is not a database URL"),
    ],
)
def test_unusable_urls_are_refused_in_one_line(url: str, message: str) -> None:
    with pytest.raises(DatabaseURLError, match=message):
        normalize_url(url)
