"""What several commands share: the --database option and opening the app on it."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from cronwell.app import ENV_DATABASE, Cronwell
from cronwell.cli.errors import InputError
from cronwell.store.database import DatabaseURLError

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
