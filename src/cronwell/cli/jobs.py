"""``cronwell jobs ...`` and ``cronwell dlq ...``: the jobs in the store, and their dead letters."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import click

from cronwell.app import Cronwell, Job, JobNotFound
from cronwell.cli.errors import InputError
from cronwell.cli.instants import instant, refusals, shown
from cronwell.cli.options import (
    database_option,
    json_option,
    json_value,
    open_app,
    print_rows,
    print_runs,
    reason_of,
)
from cronwell.spec import SpecError
from cronwell.store.history import dead_runs, find_run, list_runs

JOB_COLUMNS = ("name", "schedule", "enabled", "next_due_at", "description")
DEAD_COLUMNS = ("id", "job", "scheduled_for", "attempts", "finished_at", "reason")
job_argument = click.argument("job", metavar="JOB")


@click.group()
def jobs() -> None:
    """The jobs defined in the store."""


@jobs.command("list")
@database_option
@json_option
def jobs_list(database: str | None, as_json: bool) -> None:
    """Every job with its schedule and when it is next due."""
    rows = [job_fields(job) for job in open_app(database).list_schedules()]
    print_rows(rows, JOB_COLUMNS, as_json)


@jobs.command("show")
@job_argument
@database_option
def jobs_show(job: str, database: str | None) -> None:
    """A job's definition, status and next due times, as JSON."""
    app = open_app(database)
    found = _job(app, job)
    shown = {
        **job_fields(found),
        "definition": app.masked_definition(found.spec),
        "status": app.get_schedule_status(found.id),
        "next_run_times": app.get_next_run_times(found.id, 5),
    }
    click.echo(json.dumps(shown, indent=2, default=json_value))


@jobs.command("history")
@job_argument
@database_option
@json_option
@click.option("--limit", default=20, show_default=True, help="How many, newest first.")
def jobs_history(job: str, database: str | None, as_json: bool, limit: int) -> None:
    """JOB's runs, the most recently due first (``runs show RUN`` tells one in full)."""
    app = open_app(database)
    name = _job(app, job).name
    with app.database.transaction(write=False) as connection:
        found = list_runs(connection, job=name, limit=limit)
    print_runs(found, as_json)


def _job_action(name: str, help_text: str, act: Callable[[Cronwell, int], str]) -> None:
    """Add ``jobs NAME JOB``: find JOB, act on it, say what happened in one line."""

    @jobs.command(name, help=help_text)
    @job_argument
    @database_option
    def command(job: str, database: str | None) -> None:
        app = open_app(database)
        click.echo(f"{job}: {act(app, _job(app, job).id)}")


def _delete(app: Cronwell, job_id: int) -> str:
    try:
        app.delete_schedule(job_id)
    except SpecError as error:  # other jobs depend on it
        raise InputError(*(f"{place}: {problem}" for place, problem in error.problems)) from None
    return "deleted"


@jobs.command("pause")
@job_argument
@database_option
@click.option("--until", metavar="TIME", help="Fire again by itself from TIME (ISO 8601).")
def jobs_pause(job: str, database: str | None, until: str | None) -> None:
    """Stop firing JOB until it is resumed; with --until, until TIME (without an offset, a
    wall time in JOB's zone): its first due time from TIME on runs, none before it."""
    app = open_app(database)
    found = _job(app, job)
    if until is None:
        app.pause_schedule(found.id)
        click.echo(f"{job}: paused")
        return
    with refusals():
        at = app.pause_until(found.id, instant(until, "--until"))
    zone = found.spec.schedule.timezone
    next_due = shown(app.get_schedule(found.id).next_due_at, zone)
    click.echo(f"{job}: paused until {shown(at, zone)}; next due {next_due}")


@jobs.command("resume")
@job_argument
@database_option
@click.option(
    "--catch-up", is_flag=True, help="Hand what came due while paused to JOB's misfire policy."
)
def jobs_resume(job: str, database: str | None, catch_up: bool) -> None:
    """Fire JOB again, from now on: what came due while paused is not caught up. With
    --catch-up it is, by JOB's misfire policy, as after the scheduler was down."""
    app = open_app(database)
    found = _job(app, job)
    app.resume_schedule(found.id, catch_up=catch_up)
    if not catch_up:
        click.echo(f"{job}: resumed")
        return
    next_due = shown(app.get_schedule(found.id).next_due_at, found.spec.schedule.timezone)
    click.echo(f"{job}: resumed, catching up; next due {next_due}")


@jobs.command("trigger")
@job_argument
@database_option
@click.option(
    "--respect-overlap",
    is_flag=True,
    help="Decide the run by JOB's overlap policy, as a scheduled run (default: start now).",
)
def jobs_trigger(job: str, database: str | None, respect_overlap: bool) -> None:
    """Run JOB now, whatever its schedule."""
    app = open_app(database)
    run_id = app.trigger_now(_job(app, job).id, respect_overlap=respect_overlap)
    with app.database.transaction(write=False) as connection:
        made = find_run(connection, run_id)
    if made is not None and made.status == "waiting":
        click.echo(f"{job}: run {run_id} waiting: it starts when the unfinished run ends")
    elif made is not None and made.status == "skipped":
        click.echo(f"{job}: run {run_id} skipped ({reason_of(made)})")
    else:
        click.echo(f"{job}: run {run_id} created")


_job_action("delete", "Delete JOB; its history stays.", _delete)


@click.group()
def dlq() -> None:
    """The dead-letter queue: runs that exhausted their attempts."""


@dlq.command("list")
@database_option
@json_option
def dlq_list(database: str | None, as_json: bool) -> None:
    """Dead runs, newest first."""
    app = open_app(database)
    with app.database.transaction(write=False) as connection:
        found = dead_runs(connection)
    print_rows([asdict(row) for row in found], DEAD_COLUMNS, as_json)


@dlq.command("recover")
@job_argument
@database_option
@click.option("--retry", is_flag=True, help="Also run the latest dead run once more.")
def dlq_recover(job: str, database: str | None, retry: bool) -> None:
    """Enable JOB again (a job disabled by on_dead: disable), and optionally retry it."""
    app = open_app(database)
    found = _job(app, job)
    run_id = app.recover(found.id, retry=retry)
    if found.dead_reason is not None:
        said = "recovered: enabled again"
    else:  # enabled, or paused by hand: neither is for recover to change
        said = "not taken out of service by a dead run; left as it was"
    click.echo(f"{job}: {said}" + (f", run {run_id} created" if run_id else ""))


def job_fields(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "name": job.name,
        "schedule": job.spec.schedule_source,
        "description": job.spec.description,
        "enabled": job.is_enabled,
        "next_due_at": job.next_due_at,
        "version": job.version,
        "dead_reason": job.dead_reason,
        "paused_until": job.paused_until,
    }


def _job(app: Cronwell, name: str) -> Job:
    try:
        return app.get_schedule(name)
    except JobNotFound:
        raise InputError(f"JOB: no job named {name!r}") from None
