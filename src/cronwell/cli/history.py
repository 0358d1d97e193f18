"""``cronwell jobs list`` and ``cronwell runs list``: what is defined and what happened."""

from __future__ import annotations

from dataclasses import asdict

import click

from cronwell.cli.options import database_option, json_option, open_app, print_rows
from cronwell.store.history import list_runs

JOB_COLUMNS = ("name", "schedule", "enabled", "next_due_at", "description")
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


@click.group()
def jobs() -> None:
    """The jobs defined in the store."""


@jobs.command("list")
@database_option
@json_option
def jobs_list(database: str | None, as_json: bool) -> None:
    """Every job with its schedule and when it is next due."""
    app = open_app(database)
    rows = [
        {
            "id": job.id,
            "name": job.name,
            "schedule": job.spec.schedule_source,
            "description": job.spec.description,
            "enabled": job.is_enabled,
            "next_due_at": job.next_due_at,
            "version": job.version,
        }
        for job in app.list_schedules()
    ]
    print_rows(rows, JOB_COLUMNS, as_json)


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
    print_rows([asdict(row) for row in found], RUN_COLUMNS, as_json)
