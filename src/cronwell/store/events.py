"""Events: every firing of a named event, who fired it with what payload, and its runs.

An event row is written once and never changes; the runs its firing made name it
(``runs.event_id``), so "the runs of an event" is a query, not a list kept beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select, update

from cronwell.store.history import RunRow, history_query
from cronwell.store.tables import events, jobs, runs


@dataclass(frozen=True, slots=True)
class EventRow:
    """A stored event; ``runs``: how many runs its firing made, where they were counted."""

    id: int
    name: str
    payload: Any
    fired_at: datetime
    fired_by: str | None
    runs: int = 0


@dataclass(frozen=True, slots=True)
class Listener:
    """A live, enabled job that may listen to events, as read (and locked) to fire one."""

    id: int
    version: int
    spec: dict[str, Any]
    queue: str
    priority: int


def insert_event(
    connection: Connection, name: str, payload: Any, *, fired_at: datetime, fired_by: str | None
) -> int:
    """Store one firing of ``name``; returns its id."""
    row = {"name": name, "payload": payload, "fired_at": fired_at, "fired_by": fired_by}
    return int(connection.execute(insert(events).values(row).returning(events.c.id)).scalar_one())


def link_runs(connection: Connection, event_id: int, run_ids: Sequence[int]) -> None:
    """Make the runs name the event: the worker finds its payload through them."""
    if run_ids:
        connection.execute(update(runs).where(runs.c.id.in_(run_ids)).values(event_id=event_id))


def listeners(
    connection: Connection,
    job_ids: Sequence[int] | None = None,
    *,
    now: datetime,
    lock: bool = False,
) -> list[Listener]:
    """The live, enabled jobs not paused until after ``now`` that are never due by the clock
    (event, manual, a finished ``once``), in id order: event jobs have no next due time, so
    only those few are read, never every job. ``job_ids`` keeps these; with ``lock`` their
    rows stay locked until the transaction ends, in id order (so two firings never
    deadlock): an event's runs are then decided against the runs each job has, as a
    scheduler tick decides them."""
    query = (
        select(jobs.c.id, jobs.c.version, jobs.c.spec, jobs.c.queue, jobs.c.priority)
        .where(jobs.c.deleted_at.is_(None), jobs.c.is_enabled.is_(True))
        .where(jobs.c.next_due_at.is_(None))
        .where(or_(jobs.c.paused_until.is_(None), jobs.c.paused_until <= now))
        .order_by(jobs.c.id)
    )
    if job_ids is not None:
        query = query.where(jobs.c.id.in_(job_ids))
    if lock:
        query = query.with_for_update()
    return [Listener(**row._mapping) for row in connection.execute(query)]


def with_run_counts() -> Any:
    count = (
        select(func.count(runs.c.id))
        .where(runs.c.event_id == events.c.id)
        .scalar_subquery()
        .label("runs")
    )
    return select(
        events.c.id,
        events.c.name,
        events.c.payload,
        events.c.fired_at,
        events.c.fired_by,
        count,
    )


def list_events(
    connection: Connection, *, name: str | None = None, limit: int = 50
) -> list[EventRow]:
    """Events, the most recently fired first, each with the number of runs it made."""
    query = with_run_counts()
    if name is not None:
        query = query.where(events.c.name == name)
    query = query.order_by(events.c.id.desc()).limit(limit)
    return [EventRow(**row._mapping) for row in connection.execute(query)]


def get_event(connection: Connection, event_id: int) -> EventRow | None:
    row = connection.execute(with_run_counts().where(events.c.id == event_id)).first()
    return None if row is None else EventRow(**row._mapping)


def runs_of_event(connection: Connection, event_id: int) -> list[RunRow]:
    """The runs that name the event, oldest first, as history shows runs."""
    query = history_query().where(runs.c.event_id == event_id).order_by(runs.c.id)
    return [RunRow(**row._mapping) for row in connection.execute(query)]


def events_of_runs(connection: Connection, run_ids: Sequence[int]) -> dict[int, EventRow]:
    """The event each of these runs names, by run id; runs without one are left out."""
    if not run_ids:
        return {}
    query = (
        select(
            runs.c.id.label("run_id"),
            events.c.id,
            events.c.name,
            events.c.payload,
            events.c.fired_at,
            events.c.fired_by,
        )
        .join(events, events.c.id == runs.c.event_id)
        .where(runs.c.id.in_(run_ids))
    )
    found = {}
    for row in connection.execute(query):
        fields = dict(row._mapping)
        run_id = fields.pop("run_id")
        found[run_id] = EventRow(**fields)
    return found
