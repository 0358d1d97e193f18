"""Pages of history, as the API lists it: runs and events filtered, counted and taken a page
at a time, and one run or event with everything shown of it.

A page is ``limit`` rows after ``offset`` in a fixed order, with ``total``: how many rows the
filters match in all, so a client knows how many pages there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, func, select

from cronwell.store.events import EventRow, get_event, runs_of_event, with_run_counts
from cronwell.store.history import AttemptRow, RunRow, attempts_of, history_query
from cronwell.store.tables import events, jobs, runs

T = TypeVar("T")


class EventNotFound(LookupError):
    """No event with that id."""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int  # rows the filters match, on every page


@dataclass(frozen=True, slots=True)
class RunFilter:
    """Which runs: all those given must hold. ``since`` and ``until`` bound ``scheduled_for``,
    ``since`` included and ``until`` not, so consecutive spans never count a run twice."""

    job: str | None = None
    statuses: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    trigger: str | None = None


@dataclass(frozen=True, slots=True)
class RunDetail:
    """A run with what history lists of it, what it was called with, and every attempt."""

    run: RunRow
    args: list[Any] | None
    kwargs: dict[str, Any] | None
    queue: str
    max_attempts: int
    event_id: int | None
    is_cancel_requested: bool
    attempts: list[AttemptRow]


def page_runs(
    connection: Connection, filters: RunFilter, *, limit: int, offset: int = 0
) -> Page[RunRow]:
    """Runs matching ``filters``, the most recently due first (ties: the newest first)."""
    query = history_query()
    if filters.job is not None:
        query = query.where(jobs.c.name == filters.job)
    if filters.statuses:
        query = query.where(runs.c.status.in_(filters.statuses))
    if filters.since is not None:
        query = query.where(runs.c.scheduled_for >= filters.since)
    if filters.until is not None:
        query = query.where(runs.c.scheduled_for < filters.until)
    if filters.trigger is not None:
        query = query.where(runs.c.trigger == filters.trigger)
    ordered = query.order_by(runs.c.scheduled_for.desc(), runs.c.id.desc())
    found = connection.execute(ordered.limit(limit).offset(offset))
    return Page([RunRow(**row._mapping) for row in found], _count(connection, query))


# What a run's detail shows beyond its RunRow, read in the same query.
_DETAIL_COLUMNS = ("args", "kwargs", "queue", "max_attempts", "event_id", "is_cancel_requested")


def run_detail(connection: Connection, run_id: int) -> RunDetail | None:
    """The run ``run_id`` with its arguments and attempts, or None."""
    query = history_query().add_columns(*(runs.c[name] for name in _DETAIL_COLUMNS))
    found = connection.execute(query.where(runs.c.id == run_id)).first()
    if found is None:
        return None
    fields = dict(found._mapping)
    extra = {name: fields.pop(name) for name in _DETAIL_COLUMNS}
    return RunDetail(RunRow(**fields), **extra, attempts=attempts_of(connection, run_id))


def page_events(
    connection: Connection,
    *,
    name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int,
    offset: int = 0,
) -> Page[EventRow]:
    """Events, the most recently fired first, each with how many runs it made; ``since``
    and ``until`` bound ``fired_at`` as RunFilter's bound ``scheduled_for``."""
    query = with_run_counts()
    if name is not None:
        query = query.where(events.c.name == name)
    if since is not None:
        query = query.where(events.c.fired_at >= since)
    if until is not None:
        query = query.where(events.c.fired_at < until)
    found = connection.execute(query.order_by(events.c.id.desc()).limit(limit).offset(offset))
    return Page([EventRow(**row._mapping) for row in found], _count(connection, query))


def event_with_runs(connection: Connection, event_id: int) -> tuple[EventRow, list[RunRow]]:
    """The event and the runs it made, oldest first; EventNotFound if there is none."""
    found = get_event(connection, event_id)
    if found is None:
        raise EventNotFound(f"event {event_id} does not exist")
    return found, runs_of_event(connection, event_id)


def _count(connection: Connection, query: Any) -> int:
    counted = select(func.count()).select_from(query.order_by(None).subquery())
    return int(connection.execute(counted).scalar_one())
