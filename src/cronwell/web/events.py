"""Events over HTTP: fire one, and read those fired with the runs they made."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, field_validator

from cronwell.engine.events import NAME_LIMIT
from cronwell.policies.secrets import SecretKeys
from cronwell.store.events import EventRow
from cronwell.store.history import RunRow
from cronwell.web.params import Instant, Limit, Name, Offset, PathId, storable_json
from cronwell.web.runs import RunItem, run_item
from cronwell.web.security import App, Caller

router = APIRouter(tags=["events"])

EventName = Annotated[
    str,
    Path(
        min_length=1,
        max_length=NAME_LIMIT,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="What jobs with the schedule `event NAME` listen to",
    ),
]


class Firing(BaseModel):
    payload: Any = None  # any JSON value; a task gets it as ``payload=`` and ``ctx.event``

    @field_validator("payload")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return storable_json(value)


class EventItem(BaseModel):
    """An event fired; ``run_count``: how many runs its firing made."""

    id: int
    name: str
    payload: Any
    fired_at: datetime
    fired_by: str | None
    run_count: int


class EventList(BaseModel):
    items: list[EventItem]
    total: int


class EventBody(EventItem):
    """An event with the runs it made, oldest first."""

    runs: list[RunItem]


class Fired(EventBody):
    is_paused: bool  # everything was paused: the event is stored and made no runs


@router.post("/events/{name}", status_code=201)
def fire_event(
    name: EventName,
    caller: Caller,
    app: App,
    firing: Annotated[Firing | None, Body()] = None,
) -> Fired:
    """Fire the event: every live, enabled job whose schedule is ``event NAME`` gets a run
    now, decided by its overlap policy; the event is stored with who fired it."""
    payload = None if firing is None else firing.payload
    fired = app.trigger_event(name, payload)  # fired by the caller: the actor of this request
    found, made = app.get_event(fired.id)
    body = event_body(found, made, app.secret_keys)
    return Fired(**body.model_dump(), is_paused=fired.is_paused)


@router.get("/events")
def list_events(
    *,
    caller: Caller,
    app: App,
    name: Annotated[Name | None, Query(description="Only events of this name")] = None,
    since: Annotated[Instant | None, Query(description="Fired at or after this")] = None,
    until: Annotated[Instant | None, Query(description="Fired before this")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> EventList:
    """Events fired, the newest first, each with how many runs it made."""
    page = app.find_events(name=name, since=since, until=until, limit=limit, offset=offset)
    return EventList(
        items=[event_item(row, app.secret_keys) for row in page.items], total=page.total
    )


@router.get("/events/{event_id}")
def get_event(event_id: PathId, caller: Caller, app: App) -> EventBody:
    """The event with its payload, who fired it, and the runs it made."""
    return event_body(*app.get_event(event_id), app.secret_keys)


def event_item(row: EventRow, keys: SecretKeys) -> EventItem:
    """The one shape an event leaves the API in, its payload's secrets masked."""
    return EventItem(
        id=row.id,
        name=row.name,
        payload=keys.mask_mapping(row.payload),
        fired_at=row.fired_at,
        fired_by=row.fired_by,
        run_count=row.runs,
    )


def event_body(row: EventRow, made: list[RunRow], keys: SecretKeys) -> EventBody:
    item = event_item(row, keys)
    return EventBody(**item.model_dump(), runs=[run_item(run) for run in made])
