"""``cronwell jobs versions | diff | rollback | update``: change control of jobs from the
command line. Every change is a version; a change made against a version that is no longer
the job's is refused (``--expected-version``), leaving the job as it was."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click
import yaml

from cronwell.app import JobNotFound, Version, VersionConflict, VersionNotFound
from cronwell.cli.errors import InputError
from cronwell.cli.jobs import jobs
from cronwell.cli.options import database_option, json_option, json_value, open_app, print_rows
from cronwell.spec import SpecError

T = TypeVar("T")
VERSION_COLUMNS = ("version", "when", "who", "action", "message")
job_argument = click.argument("job", metavar="JOB")
message_option = click.option("-m", "--message", help="Why: the changelog line this version keeps.")
expected_option = click.option(
    "--expected-version",
    type=int,
    metavar="N",
    help="Refuse the change unless JOB is at version N (nobody changed it since you read it).",
)


@jobs.command("versions")
@job_argument
@click.argument("number", metavar="[VERSION]", type=int, required=False)
@database_option
@json_option
def jobs_versions(job: str, number: int | None, database: str | None, as_json: bool) -> None:
    """JOB's versions, oldest first: when, by whom, what was done and why. With VERSION,
    that version with the whole definition it left, as JSON. A deleted job's versions stay
    listed under its name until a new job takes the name."""
    app = open_app(database)
    found = _refusing(lambda: app.list_versions(job), job)
    if number is None:
        rows = [_fields(version) for version in found]
        if not as_json:
            rows = [{**row, "when": row["created_at"], "who": row["author"]} for row in rows]
        print_rows(rows, VERSION_COLUMNS, as_json)
        return
    definition = app.masked_definition(_refusing(lambda: app.get_version(job, number), job))
    (version,) = [each for each in found if each.number == number]
    shown = {**_fields(version), "definition": definition}
    click.echo(json.dumps(shown, indent=2, default=json_value))


def _fields(version: Version) -> dict[str, Any]:
    return {
        "version": version.number,
        "created_at": version.created_at,
        "author": version.author,
        "action": version.action.value,
        "message": version.message,
        "hash": version.hash,
    }


@jobs.command("diff")
@job_argument
@click.argument("old", metavar="V1", type=int)
@click.argument("new", metavar="[V2]", type=int, required=False)
@database_option
def jobs_diff(job: str, old: int, new: int | None, database: str | None) -> None:
    """A unified diff of JOB's definition from version V1 to version V2 (default: the
    latest). Prints nothing when they are the same."""
    click.echo(_refusing(lambda: open_app(database).diff_versions(job, old, new), job), nl=False)


@jobs.command("rollback")
@job_argument
@click.argument("number", metavar="VERSION", type=int)
@database_option
@message_option
@expected_option
def jobs_rollback(
    job: str, number: int, database: str | None, message: str | None, expected_version: int | None
) -> None:
    """Define JOB as VERSION left it, as a new version; planned from now on."""
    app = open_app(database)
    before = _refusing(lambda: app.get_schedule(job), job)
    after = _refusing(
        lambda: app.rollback(before.id, number, expected_version=expected_version, message=message),
        job,
    )
    if after.version == before.version:
        click.echo(f"{job}: already at the definition of version {number}; nothing changed")
    else:
        click.echo(f"{job}: rolled back to version {number}, now version {after.version}")


@jobs.command("update")
@job_argument
@click.option(
    "--set",
    "fields",
    multiple=True,
    required=True,
    metavar="FIELD=VALUE",
    help="A field of the definition; VALUE is read as YAML (5, true, [a, b], {k: v}), "
    "else taken as text. Repeat for more fields.",
)
@database_option
@message_option
@expected_option
def jobs_update(
    job: str,
    fields: tuple[str, ...],
    database: str | None,
    message: str | None,
    expected_version: int | None,
) -> None:
    """Change fields of JOB's definition, as a new version."""
    changes = dict(_field(each) for each in fields)
    app = open_app(database)
    before = _refusing(lambda: app.get_schedule(job), job)
    after = _refusing(
        lambda: app.update_schedule(
            before.id, expected_version=expected_version, message=message, **changes
        ),
        job,
    )
    if after.version == before.version:
        click.echo(f"{job}: unchanged, still version {after.version}")
    else:
        click.echo(f"{job}: updated, now version {after.version}")


def _field(given: str) -> tuple[str, Any]:
    name, is_set, text = given.partition("=")
    if not is_set or not name.strip():
        raise InputError(f"--set: expected FIELD=VALUE, got {given!r}")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:  # "*/5 * * * *" or "@hourly": text YAML cannot read is text
        value = text
    return name.strip(), value


def _refusing(action: Callable[[], T], job: str) -> T:
    """``action()``, its errors made the one line the CLI exits 2 with."""
    try:
        return action()
    except JobNotFound:
        raise InputError(f"JOB: no job named {job!r}") from None
    except VersionNotFound as error:
        raise InputError(f"VERSION: {error}") from None
    except VersionConflict as error:
        raise InputError(f"--expected-version: {error}") from None
    except SpecError as error:
        raise InputError(*(f"{place}: {problem}" for place, problem in error.problems)) from None
