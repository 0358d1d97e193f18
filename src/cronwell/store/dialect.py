"""The few statements SQLite and PostgreSQL spell differently, in one place."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import JSON, Column, Connection, Dialect, Select, Table, TextClause, text
from sqlalchemy.dialects import postgresql, sqlite

from cronwell.store.types import UtcDateTime


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

    Returns the ids (``returning``, the table's integer primary key) of the rows inserted,
    in the order of ``rows``. This is how a second scheduler racing for the same due time
    inserts nothing: the database's unique constraint decides, not a lock. Every row names
    the same columns. A column that holds the same value in every row (the job, the status,
    the creation time of a batch) is converted for the driver once.
    """
    if not rows:
        return []
    columns = _columns(table, rows, connection.dialect)
    if connection.dialect.name == "postgresql":
        return _insert_as_arrays(connection, table, columns, on=on, returning=returning)
    return _insert_many(connection, table, columns, on=on, returning=returning, count=len(rows))


_Column = tuple[str, bool, Any]  # name, is the value the same in every row, value or values


def _columns(table: Table, rows: Sequence[dict[str, Any]], dialect: Dialect) -> list[_Column]:
    """Each column of ``rows`` as the driver takes it."""
    found = []
    for name in rows[0]:
        values = [row[name] for row in rows]
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if isinstance(table.c[name].type, JSON):
            # As text before comparing: [1] and [True] are equal in Python, not in JSON.
            values, process = [json.dumps(value) for value in values], None
        if len(values) > 1 and values.count(values[0]) == len(values):
            found.append((name, True, process(values[0]) if process else values[0]))
        else:
            found.append((name, False, [process(each) for each in values] if process else values))
    return found


def _insert_many(
    connection: Connection,
    table: Table,
    columns: list[_Column],
    *,
    on: Sequence[str],
    returning: Column[Any],
    count: int,
) -> list[Any]:
    """SQLite: one executemany of plain tuples, run by the driver's own loop. The ids made
    are those above the largest id before it: the transaction holds the write lock (BEGIN
    IMMEDIATE), and a new id is always the largest yet plus one."""
    names = ", ".join(name for name, _, _ in columns)
    places = ", ".join("?" for _ in columns)
    rows = zip(
        *(values if not same else [values] * count for _, same, values in columns), strict=True
    )
    key = returning.name
    before = connection.exec_driver_sql(f"SELECT max({key}) FROM {table.name}").scalar()
    connection.exec_driver_sql(
        f"INSERT INTO {table.name} ({names}) VALUES ({places}) "
        f"ON CONFLICT ({', '.join(on)}) DO NOTHING",
        list(rows),
    )
    made = f"SELECT {key} FROM {table.name} WHERE {key} > ? ORDER BY {key}"
    return list(connection.exec_driver_sql(made, (before or 0,)).scalars())


def _insert_as_arrays(
    connection: Connection,
    table: Table,
    columns: list[_Column],
    *,
    on: Sequence[str],
    returning: Column[Any],
) -> list[Any]:
    """PostgreSQL: the rows go in as one array per column, a short statement whatever their
    number: a multi-row VALUES list costs the driver about 40 µs a row to rewrite into its
    own placeholders. A column the same in every row is sent once, and instants are sent as
    one text in the server's array syntax, which the driver would convert one by one."""
    if all(same for _, same, _ in columns):  # unnest needs one array to count the rows
        name, _, value = columns[0]
        columns = [(name, False, [value]), *columns[1:]]
    params = {}
    for number, (name, same, values) in enumerate(columns):
        is_instants = not same and isinstance(table.c[name].type, UtcDateTime)
        params[f"c{number}"] = _array_text(values) if is_instants else values
    statement = _array_insert(
        connection.dialect,
        table,
        tuple(name for name, _, _ in columns),
        is_same=tuple(same for _, same, _ in columns),
        on=tuple(on),
        returning=returning.name,
    )
    return list(connection.execute(statement, params).scalars())


def _array_text(instants: list[datetime | None]) -> str:
    # ISO 8601 instants hold no character that needs quoting in an array.
    return "{" + ",".join("NULL" if at is None else at.isoformat() for at in instants) + "}"


@cache
def _array_insert(
    dialect: Dialect,
    table: Table,
    names: tuple[str, ...],
    *,
    is_same: tuple[bool, ...],
    on: tuple[str, ...],
    returning: str,
) -> TextClause:
    varying = [number for number, same in enumerate(is_same) if not same]
    arrays = ", ".join(
        f"CAST(:c{number} AS {_array_type(table.c[names[number]], dialect)})" for number in varying
    )
    given = ", ".join([*(names[number] for number in varying), "given_at"])
    values = ", ".join(
        f"CAST(:c{number} AS {_cast_type(table.c[name], dialect)})" if is_same[number] else name
        for number, name in enumerate(names)
    )
    # WITH ORDINALITY and ORDER BY: the rows are inserted, and numbered, in the given order.
    return text(
        f"INSERT INTO {table.name} ({', '.join(names)}) "
        f"SELECT {values} FROM unnest({arrays}) WITH ORDINALITY AS given({given}) "
        f"ORDER BY given_at ON CONFLICT ({', '.join(on)}) DO NOTHING RETURNING {returning}"
    )


def _cast_type(column: Column[Any], dialect: Dialect) -> str:
    return "json" if isinstance(column.type, JSON) else column.type.compile(dialect=dialect)


def _array_type(column: Column[Any], dialect: Dialect) -> str:
    return f"{_cast_type(column, dialect)}[]"


def insert_select_ignoring_conflicts(
    connection: Connection,
    table: Table,
    names: Sequence[str],
    chosen: Select[Any],
    params: dict[str, Any],
    *,
    on: Sequence[str],
) -> list[int]:
    """``INSERT INTO table (names) SELECT ...``, skipping rows that collide on the unique
    columns ``on``; returns the ids (the table's ``id``) of the rows inserted, in id order."""
    make = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = (
        make(table)
        .from_select(list(names), chosen)
        .on_conflict_do_nothing(index_elements=list(on))
        .returning(table.c.id)
    )
    return sorted(connection.execute(statement, params).scalars())


def insert_or_ignore(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]], *, on: Sequence[str]
) -> None:
    """Insert ``rows``, skipping any whose unique columns ``on`` are taken: for rows written
    once and never changed (a content stored by its hash), where returning ids is not needed.
    """
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        statement: Any = postgresql.insert(table).on_conflict_do_nothing(index_elements=on)
    else:
        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=on)
    connection.execute(statement, list(rows))
