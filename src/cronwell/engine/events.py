"""Firing an event: store it, and make a run of every job that listens to it, at once.

A job listens to an event when its schedule is ``event NAME``. Firing ``NAME`` makes one run
(trigger ``event``) of each such job that is live and enabled, decided by the job's overlap
policy as a scheduled run is: beside an unfinished run a ``forbid`` job's run is recorded
skipped, a ``queue`` job's waits, a ``replace`` job's cancels the other. A paused job (by
hand, or until a later instant), or every job while the scheduler is paused, gets no run:
the event is stored all the same, with no runs, as a due time that comes while paused makes
none. The event, its runs and the signal to the workers commit together, or nothing does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from cronwell.engine.scheduler import REPLACED
from cronwell.lifecycle import Trigger
from cronwell.policies import ActiveRun, Overlaps
from cronwell.schedules import EventSchedule, ScheduleError, parse_schedule
from cronwell.spec import JobSpec
from cronwell.store import flags as store_flags
from cronwell.store.database import Database
from cronwell.store.events import Listener, insert_event, link_runs, listeners
from cronwell.store.runs import InstantTaken, NewRun, active_runs, cancel_runs, insert_asked_runs
from cronwell.store.signals import RUNS, notify

NAME_LIMIT = 200  # characters of an event's name, as of a job's
PAYLOAD_LIMIT = 64 * 1024  # bytes of a payload as JSON: it travels in a command's environment
_TRIES = 20  # transactions a firing may lose to another taking the same instant

# A job's parsed definition by (job id, version, canonical form): a cache's ``get``.
SpecOf = Callable[[int, int, Mapping[str, Any]], JobSpec]


class EventError(ValueError):
    """An event that cannot be fired: ``str()`` is ``field: problem`` in one line."""


@dataclass(frozen=True, slots=True)
class FiredEvent:
    """A stored event and the runs its firing made (in job id order; none when no live,
    enabled job listens to it, or ``is_paused``: the scheduler was paused)."""

    id: int
    name: str
    fired_at: datetime
    run_ids: tuple[int, ...]
    is_paused: bool = False


# Records a firing (connection, the event fired, its payload) in the firing's transaction.
Audit = Callable[[Connection, FiredEvent, Any], None]


def check_event(name: str, payload: Any) -> None:
    """Raise EventError unless ``name`` is an event name a schedule can listen to and
    ``payload`` is a JSON value (no NaN or infinity) of at most PAYLOAD_LIMIT bytes."""
    if not isinstance(name, str):
        raise EventError(f"name: {name!r} is not an event name (a string)")
    if len(name) > NAME_LIMIT:
        raise EventError(f"name: has {len(name)} characters; at most {NAME_LIMIT}")
    try:
        parse_schedule({"event": name})
    except ScheduleError as error:
        raise EventError(f"name: {error.problem}") from None
    try:
        size = len(json.dumps(payload, allow_nan=False).encode())
    except (TypeError, ValueError) as error:
        raise EventError(f"payload: is not JSON ({error})") from None
    if size > PAYLOAD_LIMIT:
        raise EventError(f"payload: {size} bytes of JSON; at most {PAYLOAD_LIMIT}")


def fire_event(
    database: Database,
    name: str,
    payload: Any,
    *,
    fired_by: str | None,
    now: datetime,
    specs: SpecOf,
    audit: Audit | None = None,
) -> FiredEvent:
    """Store the event and make its runs in one transaction (see the module), which
    ``audit`` records the firing in. A transaction that finds an instant taken by another
    (a run asked for by hand in the same microsecond) is tried again, looking at the
    instants held first."""
    check_event(name, payload)
    for attempt in range(_TRIES):
        try:
            with database.transaction() as connection:
                fired = _fire(connection, name, payload, fired_by=fired_by, now=now, specs=specs)
                if audit is not None:
                    audit(connection, fired, payload)
                return fired
        except InstantTaken:
            if attempt == _TRIES - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _fire(
    connection: Connection,
    name: str,
    payload: Any,
    *,
    fired_by: str | None,
    now: datetime,
    specs: SpecOf,
) -> FiredEvent:
    event_id = insert_event(connection, name, payload, fired_at=now, fired_by=fired_by)
    run_ids: list[int] = []
    is_paused = bool(store_flags.get_flag(connection, store_flags.PAUSED, False))
    if not is_paused:
        listening = _listening(connection, name, now, specs)
        active = active_runs(connection, [job.id for job in listening])
        for job in listening:
            run_ids.append(_make_run(connection, job, active.get(job.id, []), now, specs))
        link_runs(connection, event_id, run_ids)
    if run_ids:
        notify(connection, RUNS)
    return FiredEvent(event_id, name, now, tuple(run_ids), is_paused)


def _listening(connection: Connection, name: str, now: datetime, specs: SpecOf) -> list[Listener]:
    """The jobs that listen to ``name``, their rows locked: found first without a lock, so
    firing one event holds up no other job (a manual one asked for meanwhile), then locked
    and read again, since one may have changed in between."""
    found = [job.id for job in listeners(connection, now=now) if _listens(job, name, specs)]
    if not found:
        return []
    locked = listeners(connection, found, now=now, lock=True)
    return [job for job in locked if _listens(job, name, specs)]


def _listens(job: Listener, name: str, specs: SpecOf) -> bool:
    schedule = specs(job.id, job.version, job.spec).schedule
    return isinstance(schedule, EventSchedule) and schedule.event == name


def _make_run(
    connection: Connection,
    job: Listener,
    active: list[tuple[int, str]],
    now: datetime,
    specs: SpecOf,
) -> int:
    """One run of the job, decided by its overlap policy against its unfinished runs, at
    the first instant from ``now`` the job's runs leave free."""
    spec = specs(job.id, job.version, job.spec)
    overlaps = Overlaps(spec.overlap, [ActiveRun(run_id, status) for run_id, status in active])
    decision, status = overlaps.decide()
    cancel_runs(connection, overlaps.cancel, now, REPLACED)  # a replace's; none otherwise
    template = NewRun.of_job(
        job,
        now,
        Trigger.EVENT,
        max_attempts=spec.retry.max_attempts,
        status=status,
        reason=decision.reason,
    )
    (run_id,) = insert_asked_runs(
        connection, template, [(None, None)], next_due=spec.schedule.next_after, look=True
    )
    return run_id
