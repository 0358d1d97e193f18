"""Bringing a database's schema up to date with Alembic, safely from many processes at once."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from cronwell.store.database import Database

# Any constant works: it only has to be the same in every cronwell process.
_MIGRATION_LOCK = 0x63726F6E  # "cron"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "cronwell.store:migrations")
    return config


def upgrade(database: Database) -> None:
    """Apply every migration not yet applied. Concurrent callers wait for each other."""
    config = alembic_config()
    with database.transaction() as connection:
        if not database.is_sqlite:  # SQLite's BEGIN IMMEDIATE already serializes us
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def is_current(database: Database) -> bool:
    """Whether the schema is at the newest migration."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with database.transaction(write=False) as connection:
        return MigrationContext.configure(connection).get_current_revision() == head
