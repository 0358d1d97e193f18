"""``cronwell jobs backfill | skip-next | move-cursor``: operator controls over a job's due
times. ``jobs pause --until`` and ``jobs resume --catch-up`` are with the other job actions."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from cronwell.app import Cronwell, Job, JobNotFound
from cronwell.cli.errors import InputError
from cronwell.cli.instants import instant, refusals, shown
from cronwell.cli.jobs import job_argument, jobs
from cronwell.cli.options import counted, database_option, json_option, json_value, open_app
from cronwell.engine.controls import Backfill
from cronwell.policies.controls import BACKFILL_OVERLAPS


@jobs.command("backfill")
@job_argument
@click.option("--from", "start", metavar="TIME", required=True, help="The first instant.")
@click.option("--to", "end", metavar="TIME", required=True, help="The last instant (included).")
@click.option(
    "--overlap",
    type=click.Choice([policy.value for policy in BACKFILL_OVERLAPS]),
    default="queue",
    show_default=True,
    help="queue: one at a time, oldest first; allow: all at once; forbid: the first only.",
)
@click.option("--dry-run", is_flag=True, help="Say what would be made; make nothing.")
@database_option
@json_option
def jobs_backfill(
    *,
    job: str,
    start: str,
    end: str,
    overlap: str,
    dry_run: bool,
    database: str | None,
    as_json: bool,
) -> None:
    """Run JOB for each of its due times from --from to --to, both included, that has no run
    yet (trigger ``backfill``). TIME is ISO 8601; without an offset, a wall time in JOB's
    zone. At most 10,000 due times."""
    app = open_app(database)
    found = _job(app, job)
    first, last = instant(start, "--from"), instant(end, "--to")
    with refusals():
        done = app.backfill(found.id, first, last, overlap=overlap, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(asdict(done), default=json_value))
        return
    click.echo(f"{job}: {_said(done, found)}")


def _said(done: Backfill, job: Job) -> str:
    zone = job.spec.schedule.timezone
    span = f"{shown(done.start, zone)} to {shown(done.end, zone)}"
    verb = "would be made" if done.is_dry_run else "made"
    counts = f"{counted(len(done.due_times), 'due time')}, {counted(done.made, 'run')} {verb}"
    return f"backfill {span}: {counts}, {done.existing} already had a run"


@jobs.command("skip-next")
@job_argument
@database_option
def jobs_skip_next(job: str, database: str | None) -> None:
    """Do not run JOB's next due time (recorded as a run skipped by hand); the one after is
    due as usual."""
    app = open_app(database)
    found = _job(app, job)
    with refusals():
        skipped = app.skip_next(found.id)
    zone = found.spec.schedule.timezone
    next_due = app.get_schedule(found.id).next_due_at
    click.echo(f"{job}: skipped {shown(skipped, zone)}; next due {shown(next_due, zone)}")


@jobs.command("move-cursor")
@job_argument
@click.option("--to", "to", metavar="TIME", required=True, help="Plan JOB from this instant.")
@database_option
def jobs_move_cursor(job: str, to: str, database: str | None) -> None:
    """Plan JOB from TIME on: back in time, its due times since then that have no run are
    planned again by its misfire policy; ahead, the due times before TIME are skipped.
    TIME is ISO 8601; without an offset, a wall time in JOB's zone."""
    app = open_app(database)
    found = _job(app, job)
    at = instant(to, "--to")
    with refusals():
        next_due = app.move_cursor(found.id, to=at)
    click.echo(f"{job}: next due {shown(next_due, found.spec.schedule.timezone)}")


def _job(app: Cronwell, name: str) -> Job:
    try:
        return app.get_schedule(name)
    except JobNotFound:
        raise InputError(f"JOB: no job named {name!r}") from None
