"""The ``cronwell`` command.

Bad input exits with code 2 and one line on stderr naming the field and the problem; nothing
reaches stdout and no traceback is shown.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cronwell.audit import VIA_CLI, Actor, acting_as, current_actor
from cronwell.cli import (
    controls,  # noqa: F401  (adds its commands to `jobs`)
    versions,  # noqa: F401  (adds its commands to `jobs`)
)
from cronwell.cli.apply import apply
from cronwell.cli.audit import audit
from cronwell.cli.auth import tokens, users
from cronwell.cli.crontab import crontab, exec_job
from cronwell.cli.errors import InputError
from cronwell.cli.events import events
from cronwell.cli.graph import jobs_graph  # noqa: F401  (importing it adds ``jobs graph``)
from cronwell.cli.history import runs, stats
from cronwell.cli.jobs import dlq, jobs
from cronwell.cli.locks import locks
from cronwell.cli.prune import prune
from cronwell.cli.run import db, run, scheduler, worker
from cronwell.cli.schedules import explain, next_due
from cronwell.cli.serve import serve
from cronwell.cli.templates import templates
from cronwell.cli.workers import workers


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cronwell")
def cli() -> None:
    """A job scheduler and task runner for Python teams."""


for command in (
    run,
    scheduler,
    worker,
    apply,
    jobs,
    runs,
    dlq,
    locks,
    workers,
    stats,
    db,
    next_due,
    explain,
    templates,
    crontab,
    exec_job,
    events,
    users,
    tokens,
    prune,
    serve,
    audit,
):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code instead of raising SystemExit."""
    # Tasks import from the current directory, as under ``python -m``: in a thread-mode
    # worker, in ``apply``'s import check and in a process-mode child alike.
    here = str(Path.cwd())
    if here not in sys.path:
        sys.path.insert(0, here)
    # What the command changes is recorded as done by the user running it, from the CLI.
    actor = Actor(name=current_actor().name, via=VIA_CLI)
    try:
        # Without standalone mode click returns the code of a command's Exit (``cronwell
        # exec`` exits with its task's); commands themselves return None.
        with acting_as(actor):
            code = cli.main(args=argv, prog_name="cronwell", standalone_mode=False)
    except InputError as error:
        return _refuse(*error.lines)
    except click.UsageError as error:
        return _refuse(error.format_message())
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.Abort:
        return _refuse("aborted")
    return code if isinstance(code, int) else 0


def _refuse(*lines: str) -> int:
    for line in lines:
        click.echo(f"cronwell: {' '.join(line.split())}", err=True)
    return 2


def entry_point() -> None:
    sys.exit(main())
