"""The scheduler's reads of due jobs use the partial due index on both databases: without it
every tick reads and sorts every stored job."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, event, insert

from cronwell.spec import JobSpec
from cronwell.store.database import Database
from cronwell.store.plans import due_jobs, earliest_due_at
from cronwell.store.tables import jobs

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@contextmanager
def statements(database: Database) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        statement, parameters = args[2], args[3]
        if statement.startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def plan_of(connection: Connection, statement: str, parameters: Any) -> str:
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return "\n".join(str(row[-1]) for row in rows)
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
    return "\n".join(str(row[0]) for row in rows)


@pytest.mark.parametrize(
    "read",
    [
        lambda connection: due_jobs(connection, NOW, 500),
        lambda connection: earliest_due_at(connection, NOW),
    ],
    ids=["due_jobs", "earliest_due_at"],
)
def test_the_due_reads_use_the_due_index(
    database: Database, read: Callable[[Connection], object]
) -> None:
    canonical = JobSpec.parse({"name": "job", "command": "true"}).canonical()
    rows = [
        {
            "name": f"job-{n}",
            "spec": canonical | {"name": f"job-{n}"},
            "queue": "default",
            "priority": 2,
            "next_due_at": NOW + n * timedelta(hours=1),  # a few due, the rest within the year
            "created_at": NOW,
            "updated_at": NOW,
        }
        for n in range(-5, 5000)
    ]
    with database.transaction() as connection:
        connection.execute(insert(jobs), rows)
        connection.exec_driver_sql("ANALYZE")
    with statements(database) as seen, database.transaction() as connection:
        read(connection)
        ((statement, parameters),) = seen
        plan = plan_of(connection, statement, parameters)
    assert "ix_jobs_due" in plan, plan
