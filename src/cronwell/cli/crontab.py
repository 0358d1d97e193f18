"""``cronwell crontab import|export`` and ``cronwell exec``: moving off the system cron, or
keeping it as the trigger of jobs cronwell runs and records.

``crontab import`` exits 0 when every line was translated, and when some were and the rest
are listed (on stderr and as comments in the jobs file); 1 when lines were left and either no
line became a job or ``--strict`` was given (the jobs file is written all the same); 2 on bad
input. ``exec`` exits with its task's status: 0 on success, a failed command's own exit code,
128 + N for a command killed by signal N, 124 for a timeout (as timeout(1) does), 1 for any
other failure; 2 when the job does not exist.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys
from pathlib import Path

import click

from cronwell.app import Executed, JobNotFound
from cronwell.cli.errors import InputError
from cronwell.cli.options import counted, database_option, open_app
from cronwell.crontab import Crontab, crontab_text, jobs_document, read_crontab
from cronwell.lifecycle import AttemptStatus
from cronwell.schedules import ScheduleError
from cronwell.schedules.zones import load_zone
from cronwell.spec import NAME

SYSTEM_PLACES = (Path("/etc/crontab"), Path("/etc/cron.d"))
TIMED_OUT = 124  # what timeout(1) exits with


@click.group()
def crontab() -> None:
    """Move jobs off the system cron, or let cron trigger cronwell jobs."""


@crontab.command("import")
@click.argument("path", metavar="FILE")
@click.option(
    "--system/--user",
    "system",
    default=None,
    help="Lines have a user column (/etc/crontab, /etc/cron.d) or not "
    "[default: system for files there, user otherwise].",
)
@click.option(
    "--timezone",
    metavar="ZONE",
    help="The zone cron ran the jobs in, until a CRON_TZ line [default: this machine's].",
)
@click.option("--output", "-o", metavar="FILE", help="Write the jobs file here, not to stdout.")
@click.option("--prefix", default="", metavar="TEXT", help="Start every job's name with TEXT.")
@click.option("--strict", is_flag=True, help="Exit 1 when any line was not translated.")
def crontab_import(
    path: str,
    *,
    system: bool | None,
    timezone: str | None,
    output: str | None,
    prefix: str,
    strict: bool,
) -> None:
    """Translate the crontab FILE ('-': standard input) into a jobs file for `cronwell apply`;
    list on stderr every line not translated."""
    zone = _zone(timezone)
    if prefix and not re.fullmatch(NAME, prefix):
        rule = "must start with a letter or digit and hold only letters, digits and _.:-"
        raise InputError(f"--prefix: {prefix!r} {rule}")
    text = _read(path)
    is_system = _is_system(path) if system is None else system
    found = read_crontab(text, system=is_system, timezone=zone, prefix=prefix)
    document = jobs_document(found, source="" if path == "-" else path)
    if output is None:
        click.echo(document, nl=False)
    else:
        _write(Path(output), document)
    _report(found, zone, is_given=timezone is not None)
    if found.untranslated and (strict or not found.jobs):
        raise click.exceptions.Exit(1)


def _zone(given: str | None) -> str:
    zone = given or local_zone()
    try:
        load_zone(zone, "--timezone")
    except ScheduleError as error:
        raise InputError(str(error)) from None
    return zone


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError) as error:
        why = getattr(error, "strerror", None) or "not a text file"
        raise InputError(f"FILE: {path} cannot be read ({why})") from None


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text)
    except OSError as error:
        raise InputError(f"--output: {path} cannot be written ({error.strerror})") from None


def _is_system(path: str) -> bool:
    """Whether a crontab file is a system one, by where it lies."""
    where = Path(path).absolute()
    return where == SYSTEM_PLACES[0] or where.parent == SYSTEM_PLACES[1]


def local_zone() -> str:
    """This machine's zone, the one its cron runs jobs in: $TZ, /etc/timezone or the link
    /etc/localtime; UTC when none says."""
    named = os.environ.get("TZ", "").lstrip(":")
    if not named:
        try:
            named = Path("/etc/timezone").read_text().strip()
        except OSError:
            target = os.path.realpath("/etc/localtime")
            named = target.partition("/zoneinfo/")[2]
    try:
        return load_zone(named).key if named else "UTC"
    except ScheduleError:
        return "UTC"


def _report(found: Crontab, zone: str, *, is_given: bool) -> None:
    for item in found.untranslated:
        click.echo(f"line {item.number}: not translated: {item.reason}: {item.line}", err=True)
    for item in found.notes:
        click.echo(f"line {item.number}: note: {item.reason}", err=True)
    if not is_given:
        click.echo(f"timezone: {zone} (this machine's; --timezone to change)", err=True)
    jobs = counted(len(found.jobs), "job")
    click.echo(f"{jobs} translated, {len(found.untranslated)} line(s) not translated", err=True)


@crontab.command("export")
@database_option
@click.option(
    "--cronwell",
    "program",
    metavar="PATH",
    help="The cronwell program cron runs [default: the full path of this one].",
)
def crontab_export(database: str | None, program: str | None) -> None:
    """Print crontab lines that run each stored job with `cronwell exec` when it is due;
    jobs cron cannot schedule are listed as comments."""
    specs = [job.spec for job in open_app(database).list_schedules()]
    command = [program or _this_program(), "exec"]
    if database is not None:
        command += ["--database", database]
    click.echo(crontab_text(specs, exec_command=command), nl=False)


def _this_program() -> str:
    """Cron's PATH is short (/usr/bin:/bin): name cronwell by its full path."""
    return shutil.which("cronwell") or "cronwell"


@click.command("exec")
@click.argument("job", metavar="JOB")
@database_option
def exec_job(job: str, database: str | None) -> None:
    """Run JOB once, now, in this process; record the run like any other and exit with its
    task's status. The task's output goes to stdout, so cron mails it as before."""
    app = open_app(database)
    try:
        executed = app.execute_now(job)
    except JobNotFound:
        raise InputError(f"JOB: no job named {job!r}") from None
    finally:
        app.database.dispose()
    _tell(executed, job)
    raise click.exceptions.Exit(exit_code(executed))


def _tell(executed: Executed, job: str) -> None:
    attempt, run = executed.attempt, executed.run
    if attempt is None:
        click.echo(f"{job}: run {run.id} not run: the job is {run.reason}", err=True)
        return
    if attempt.output:
        click.echo(attempt.output, nl=False)
    if attempt.status != AttemptStatus.SUCCEEDED:
        error = (attempt.error or attempt.status).strip().splitlines()
        click.echo(f"{job}: run {run.id} {run.status}: {error[-1] if error else ''}", err=True)


def exit_code(executed: Executed) -> int:
    """The status ``cronwell exec`` exits with, as the task's own would be."""
    attempt = executed.attempt
    if attempt is None or attempt.status == AttemptStatus.SUCCEEDED:
        return 0
    if attempt.status == AttemptStatus.TIMED_OUT:
        return TIMED_OUT
    code = attempt.exit_code
    if executed.spec.command is None or code is None or code == 0:
        return 1
    if code < 0:  # killed by a signal: as a shell reports it
        return 128 + signal.Signals(-code).value
    return code
