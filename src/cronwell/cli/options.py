"""What several commands share: the --database option and opening the app on it."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from cronwell.app import ENV_DATABASE, Cronwell
from cronwell.cli.errors import InputError
from cronwell.store.database import DatabaseURLError
from cronwell.store.history import RunRow

F = TypeVar("F", bound=Callable[..., Any])

database_option = click.option(
    "--database",
    metavar="URL",
    envvar=ENV_DATABASE,
    help=f"sqlite:///FILE or postgresql://... [${ENV_DATABASE}, else sqlite:///cronwell.db]",
)
RUN_COLUMNS = (
    "id",
    "job",
    "scheduled_for",
    "trigger",
    "status",
    "reason",
    "attempts",
    "started_at",
    "finished_at",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def open_app(database: str | None, **options: Any) -> Cronwell:
    try:
        return Cronwell(database, **options)
    except DatabaseURLError as error:
        raise InputError(str(error).replace("database:", "--database:", 1)) from None


def print_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str], as_json: bool) -> None:
    """Rows as a JSON array (instants in ISO-8601) or as a table for people."""
    if as_json:
        click.echo(json.dumps(list(rows), default=json_value))
        return
    table = Table(box=None, pad_edge=False)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    # Piped output is not wrapped to 80 columns: scripts and logs read whole lines.
    width = None if sys.stdout.isatty() else 240
    Console(highlight=False, width=width).print(table)


def print_runs(found: Sequence[RunRow], as_json: bool) -> None:
    """Runs as ``print_rows`` prints them; for people, a missed span's reason says how many
    due times it stands for (scripts read ``covers`` and ``covers_from``)."""
    rows = [asdict(row) for row in found]
    if not as_json:
        rows = [row | {"reason": reason_of(run)} for row, run in zip(rows, found, strict=True)]
    print_rows(rows, RUN_COLUMNS, as_json)


def reason_of(run: RunRow) -> str | None:
    """Why a run ended as it did, in words; with the span of due times a missed run sums up."""
    if run.covers <= 1 or run.covers_from is None:
        return run.reason
    return f"{run.reason}: {run.covers} due times from {_cell(run.covers_from)}"


def json_value(value: Any) -> Any:
    """JSON for what the json module cannot write: instants in ISO 8601, durations in seconds."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    return str(value)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}Z"
    return str(value)


def counted(count: int, noun: str) -> str:
    """``count`` and ``noun``, plural unless there is one: ``1 run``, ``2 runs``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
