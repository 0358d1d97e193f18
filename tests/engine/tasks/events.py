"""Tasks the event tests run: each writes what it was given to a file the test reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cronwell.engine.child import TaskContext


def keep_payload(path: str, payload: Any) -> None:
    """A plain function: the payload comes as a keyword argument."""
    Path(path).write_text(json.dumps(payload))


def keep_keywords(path: str, **kwargs: Any) -> None:
    """Any keyword: the payload comes among them."""
    Path(path).write_text(json.dumps(kwargs))


def keep_event(path: str, ctx: TaskContext) -> None:
    """The payload through the context, with the event's name and id."""
    event = ctx.event
    assert event is not None, "a run an event made has ctx.event"
    seen = {"id": event.id, "name": event.name, "payload": event.payload, "by": event.fired_by}
    Path(path).write_text(json.dumps(seen))


def keep_nothing(path: str) -> None:
    """Takes no payload: it is not given one."""
    Path(path).write_text("ran")
