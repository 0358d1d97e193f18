"""Jobs: named, versioned definitions, and the cursor of when each is next due."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from cronwell.store.tables import jobs


def insert_job(
    connection: Connection,
    *,
    name: str,
    spec: dict[str, Any],
    queue: str,
    priority: int,
    next_due_at: datetime | None,
    now: datetime,
) -> int:
    """Store a new job; returns its id. A live job of the same name violates uniqueness."""
    return int(
        connection.execute(
            insert(jobs)
            .values(
                name=name,
                spec=spec,
                queue=queue,
                priority=priority,
                next_due_at=next_due_at,
                created_at=now,
                updated_at=now,
            )
            .returning(jobs.c.id)
        ).scalar_one()
    )
