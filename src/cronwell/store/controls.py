"""What operator controls read and write of a job: its cursor (due times planned up to here,
the next one due, a pause until an instant) and the due times its runs already hold."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from cronwell.store.tables import jobs, runs


def planned_until(connection: Connection, job_id: int) -> datetime:
    """The instant the job's due times are planned up to (its creation, before its first
    plan); the caller holds the job's row locked."""
    planned: datetime = connection.execute(
        select(
            func.coalesce(jobs.c.planned_until, jobs.c.created_at, type_=jobs.c.created_at.type)
        ).where(jobs.c.id == job_id)
    ).scalar_one()
    return planned


def move_cursor(connection: Connection, job_id: int, now: datetime, **columns: Any) -> None:
    """Set the job's cursor columns (``planned_until``, ``next_due_at``, ``paused_until``) and
    whatever else is given, e.g. ``is_enabled``."""
    connection.execute(update(jobs).where(jobs.c.id == job_id).values(updated_at=now, **columns))


def held_due_times(
    connection: Connection, job_id: int, start: datetime, end: datetime
) -> set[datetime]:
    """The instants from ``start`` to ``end`` (both included) that runs of the job hold,
    whatever their status: a due time is run once, by whichever made its run first."""
    held = connection.execute(
        select(runs.c.scheduled_for).where(
            runs.c.job_id == job_id, runs.c.scheduled_for.between(start, end)
        )
    )
    return set(held.scalars())
