"""``cronwell events ...``: fire an event, and see the events fired with the runs they made."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from cronwell.app import Cronwell
from cronwell.cli.errors import InputError
from cronwell.cli.masking import masked_event
from cronwell.cli.options import (
    database_option,
    json_option,
    json_value,
    open_app,
    print_rows,
    print_runs,
    reason_of,
)
from cronwell.engine.events import EventError, FiredEvent
from cronwell.store.events import EventRow
from cronwell.store.history import RunRow
from cronwell.store.pages import EventNotFound

EVENT_COLUMNS = ("id", "name", "fired_at", "fired_by", "runs")


@click.group()
def events() -> None:
    """Events: fire one, and see those fired with the runs they made."""


@events.command("fire")
@click.argument("name", metavar="NAME")
@click.option(
    "--data",
    metavar="JSON",
    help='The payload: any JSON value, such as \'{"sku": "A-17"}\', or @FILE to read it.',
)
@click.option("--by", "fired_by", metavar="WHO", help="Who fires it [default: your user name].")
@database_option
@json_option
def events_fire(
    name: str, data: str | None, fired_by: str | None, database: str | None, as_json: bool
) -> None:
    """Fire the event NAME: every job whose schedule is ``event NAME`` gets a run now."""
    payload = _payload(data)
    app = open_app(database)
    try:
        fired = app.trigger_event(name, payload, fired_by=fired_by)
    except EventError as error:
        field, _, problem = str(error).partition(": ")
        raise InputError(f"{_OPTION_OF.get(field, field)}: {problem}") from None
    _, made = app.get_event(fired.id)
    if as_json:
        shown = {"id": fired.id, "name": fired.name, "fired_at": fired.fired_at}
        shown |= {"is_paused": fired.is_paused, "runs": [_run_fields(run) for run in made]}
        click.echo(json.dumps(shown, default=json_value))
        return
    click.echo(_said(fired, made))
    for run in made:
        reason = reason_of(run)
        click.echo(f"  run {run.id}: {run.job} {run.status}" + (f" ({reason})" if reason else ""))


_OPTION_OF = {"name": "NAME", "payload": "--data"}


@events.command("list")
@database_option
@json_option
@click.option("--name", help="Only events of this name.")
@click.option(
    "--limit", default=50, show_default=True, type=click.IntRange(min=1), help="How many."
)
def events_list(database: str | None, as_json: bool, name: str | None, limit: int) -> None:
    """Events fired, the newest first, with how many runs each made (--json adds payloads)."""
    app = open_app(database)
    found = app.find_events(name=name, limit=limit).items
    rows = [masked_event(app.secret_keys, asdict(row)) for row in found]
    print_rows(rows, EVENT_COLUMNS, as_json)


@events.command("show")
@click.argument("event_id", metavar="EVENT", type=int)
@database_option
def events_show(event_id: int, database: str | None) -> None:
    """EVENT with its payload, who fired it, and the runs it made with their statuses."""
    app = open_app(database)
    found, made = _event_and_runs(app, event_id)
    shown = masked_event(app.secret_keys, asdict(found))
    shown["run_details"] = [asdict(run) for run in made]
    click.echo(json.dumps(shown, indent=2, default=json_value))


@events.command("runs")
@click.argument("event_id", metavar="EVENT", type=int)
@database_option
@json_option
def events_runs(event_id: int, database: str | None, as_json: bool) -> None:
    """The runs EVENT made, as ``runs list`` shows runs."""
    _, made = _event_and_runs(open_app(database), event_id)
    print_runs(made, as_json)


def _event_and_runs(app: Cronwell, event_id: int) -> tuple[EventRow, list[RunRow]]:
    """The event and the runs it made, read together; an unknown event is bad input."""
    try:
        return app.get_event(event_id)
    except EventNotFound:
        raise InputError(f"EVENT: event {event_id} does not exist") from None


def _payload(data: str | None) -> Any:
    """The payload --data gives: JSON, inline or from @FILE; None without it."""
    if data is None:
        return None
    text = data
    if data.startswith("@"):
        try:
            text = Path(data[1:]).read_text()
        except OSError as error:
            raise InputError(f"--data: cannot read {data[1:]}: {error.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as error:
        raise InputError(f"--data: is not JSON ({error})") from None


def _said(fired: FiredEvent, made: list[RunRow]) -> str:
    head = f"event {fired.id} {fired.name}"
    if fired.is_paused:
        return f"{head}: stored; the scheduler is paused, so no job runs"
    if not made:
        return f"{head}: stored; no enabled job listens to it"
    return f"{head}: {len(made)} run{'s' if len(made) != 1 else ''}"


def _run_fields(run: RunRow) -> dict[str, Any]:
    return {"id": run.id, "job": run.job, "status": run.status, "reason": run.reason}
