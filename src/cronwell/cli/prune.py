"""``cronwell prune``: delete the history a retention policy lets go, or see what would go."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import timedelta

import click

from cronwell.cli.errors import InputError
from cronwell.cli.options import counted, database_option, json_option, open_app
from cronwell.policies.retention import (
    DEFAULT_AGE,
    DEFAULT_AUDIT_AGE,
    DEFAULT_KEEP_LAST,
    Retention,
)
from cronwell.schedules import ScheduleError, parse_duration
from cronwell.store.retention import Pruned

NEVER = "never"


def _days(age: timedelta) -> str:
    """A policy's default age as the option takes it, so the two cannot drift apart."""
    return f"{age.days}d"


@click.command("prune")
@click.option("--dry-run", is_flag=True, help="Count what would go; delete nothing.")
@click.option(
    "--runs-older-than",
    "runs_age",
    default=_days(DEFAULT_AGE),
    show_default=True,
    metavar="DURATION",
    help="Finished runs (with attempts and output) that ended longer ago go; 'never' keeps all.",
)
@click.option(
    "--keep-last",
    default=DEFAULT_KEEP_LAST,
    show_default=True,
    type=click.IntRange(min=0),
    help="Each job's latest runs stay however old (0: no floor).",
)
@click.option(
    "--events-older-than",
    "events_age",
    default=_days(DEFAULT_AGE),
    show_default=True,
    metavar="DURATION",
    help="Events fired longer ago go, unless an active run still reads one; 'never' keeps all.",
)
@click.option(
    "--audit-older-than",
    "audit_age",
    default=_days(DEFAULT_AUDIT_AGE),
    show_default=True,
    metavar="DURATION",
    help="Audit records made longer ago go; 'never' keeps all.",
)
@database_option
@json_option
def prune(
    *,
    dry_run: bool,
    runs_age: str,
    keep_last: int,
    events_age: str,
    audit_age: str,
    database: str | None,
    as_json: bool,
) -> None:
    """Delete old finished runs, their attempts, old events and old audit records (job
    versions always stay)."""
    retention = Retention(
        runs_older_than=_age(runs_age, "--runs-older-than"),
        keep_last_runs=keep_last,
        events_older_than=_age(events_age, "--events-older-than"),
        audit_older_than=_age(audit_age, "--audit-older-than"),
    )
    app = open_app(database)
    try:
        pruned = app.prune(dry_run=dry_run, retention=retention)
    finally:
        app.database.dispose()
    if as_json:
        click.echo(json.dumps({"dry_run": dry_run} | asdict(pruned)))
        return
    click.echo(_said(pruned, dry_run))


def _age(value: str, option: str) -> timedelta | None:
    if value.strip().lower() == NEVER:
        return None
    try:
        return parse_duration(value, option)
    except ScheduleError as error:
        raise InputError(str(error)) from None


def _said(pruned: Pruned, dry_run: bool) -> str:
    counts = (
        f"{counted(pruned.runs, 'run')}, {counted(pruned.attempts, 'attempt')}, "
        f"{counted(pruned.events, 'event')} and {counted(pruned.audit, 'audit record')}"
    )
    return f"would prune {counts} (dry run)" if dry_run else f"pruned {counts}"
