"""``cronwell runs list`` and ``cronwell stats``: what happened."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import TypeVar

import click

from cronwell.app import Cronwell, JobNotFound, RunEnded, RunNotFound
from cronwell.cli.errors import InputError
from cronwell.cli.masking import masked_run
from cronwell.cli.options import (
    database_option,
    json_option,
    json_value,
    open_app,
    print_runs,
)
from cronwell.store.history import list_runs

T = TypeVar("T")


@click.group()
def runs() -> None:
    """The runs of jobs: their history."""


@runs.command("list")
@database_option
@json_option
@click.option("--job", help="Only this job's runs.")
@click.option("--status", help="Only runs in this status.")
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
def runs_list(
    database: str | None, as_json: bool, job: str | None, status: str | None, limit: int
) -> None:
    """Runs, the most recently due first."""
    app = open_app(database)
    with app.database.transaction(write=False) as connection:
        found = list_runs(connection, job=job, status=status, limit=limit)
    print_runs(found, as_json)


@runs.command("show")
@click.argument("run_id", metavar="RUN", type=int)
@database_option
def runs_show(run_id: int, database: str | None) -> None:
    """RUN with every attempt: worker, outcome, duration, exit code, error, output, logs."""
    app = open_app(database)
    try:
        found = app.get_run_detail(run_id)
    except RunNotFound:
        raise InputError(f"RUN: run {run_id} does not exist") from None
    tried = [asdict(attempt) for attempt in found.attempts]
    shown = masked_run(app.secret_keys, asdict(found.run), tried)
    click.echo(json.dumps(shown, indent=2, default=json_value))


@click.command()
@database_option
@json_option
def stats(database: str | None, as_json: bool) -> None:
    """Totals: jobs active and paused, runs and success rate in the last 24 h, missed,
    versions of job definitions and what their contents take, raw and compressed."""
    figures = open_app(database).get_statistics()
    del figures["uptime"]  # this command's own: meaningless here
    if as_json:
        click.echo(json.dumps(figures, default=json_value))
        return
    for name, value in figures.items():
        click.echo(f"{name.replace('_', ' ')}: {value}")


@runs.command("cancel")
@click.argument("run_id", metavar="RUN", type=int)
@database_option
def runs_cancel(run_id: int, database: str | None) -> None:
    """Cancel RUN: at once if it has not started, within a heartbeat if it is running."""
    _act(lambda app: app.cancel_run(run_id), database)
    click.echo(f"run {run_id}: cancelled")


@runs.command("retry")
@click.argument("run_id", metavar="RUN", type=int)
@database_option
def runs_retry(run_id: int, database: str | None) -> None:
    """Run RUN's job again now, with the same arguments."""
    created = _act(lambda app: app.retry_run(run_id), database)
    click.echo(f"run {run_id}: retried as run {created}")


def _act(action: Callable[[Cronwell], T], database: str | None) -> T:
    try:
        return action(open_app(database))
    except (RunNotFound, RunEnded, JobNotFound) as error:
        raise InputError(f"RUN: {error}") from None
