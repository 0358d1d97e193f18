"""The few statements SQLite and PostgreSQL spell differently, in one place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def has_writable_ctes(connection: Connection) -> bool:
    """Whether INSERT and UPDATE may run inside WITH (PostgreSQL): then a run's transition and
    its attempt row are written by one statement, one round trip. SQLite sends two."""
    return connection.dialect.name == "postgresql"


def insert_ignoring_conflicts(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    on: Sequence[str],
    returning: Column[Any],
) -> list[Any]:
    """Insert ``rows``, silently skipping any that collide on the unique columns ``on``.

    Returns ``returning`` of the rows inserted (a row count is unreliable for many rows at
    once). This is how a second scheduler racing for the same due time inserts nothing: the
    database's unique constraint decides, not a lock.
    """
    if not rows:
        return []
    module = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = module.insert(table).on_conflict_do_nothing(index_elements=list(on))
    return list(connection.execute(statement.returning(returning), list(rows)).scalars())
