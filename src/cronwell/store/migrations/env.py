"""Alembic's entry point: migrations run on the connection that migrate.upgrade() hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from cronwell.store.tables import metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run migrations through cronwell.store.migrate.upgrade()")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
