"""``cronwell apply jobs.yaml``: declare the jobs in a file, idempotently (like kubectl apply)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click
import yaml

from cronwell.app import Cronwell, Plan
from cronwell.cli.errors import InputError
from cronwell.cli.options import database_option, open_app
from cronwell.documents import parse_document
from cronwell.registry import Registry
from cronwell.spec import SpecError


@click.command()
@click.argument("path", metavar="FILE")
@database_option
@click.option("--prune", is_flag=True, help="Delete jobs that the file does not define.")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@click.option(
    "--app",
    "app_path",
    metavar="MODULE:NAME",
    envvar="CRONWELL_APP",
    help="The Cronwell app whose @app.task names the file may use [$CRONWELL_APP].",
)
@click.option("-m", "--message", help="Why: the changelog line of the versions this makes.")
def apply(
    path: str,
    *,
    database: str | None,
    prune: bool,
    dry_run: bool,
    app_path: str | None,
    message: str | None,
) -> None:
    """Make the store's jobs (and templates) match FILE. An invalid file changes nothing.
    Each job created, updated or deleted gets a new version (``cronwell jobs versions JOB``)."""
    document = _read(Path(path))
    app = open_app(database)
    if app_path is not None:
        app.registry = _registry_of(app_path)
    try:
        specs, templates = parse_document(document, app.list_templates())
        plan = app.apply(specs, templates=templates, prune=prune, dry_run=dry_run, message=message)
    except SpecError as error:
        raise InputError(*(f"{place}: {problem}" for place, problem in error.problems)) from None
    for line in describe_plan(plan, dry_run=dry_run):
        click.echo(line)


def _registry_of(app_path: str) -> Registry:
    """The task registry of the Cronwell app at ``module:name``."""
    module_name, _, name = app_path.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), name or "app")
    except (ImportError, AttributeError) as error:
        raise InputError(f"--app: {app_path!r} cannot be imported: {error}") from None
    if not isinstance(found, Cronwell):
        raise InputError(f"--app: {app_path!r} is not a Cronwell app")
    return found.registry


def _read(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"{path}: not valid YAML{where}") from None
    if not isinstance(document, dict) or "jobs" not in document:
        raise InputError(f"{path}: expected a mapping with a 'jobs' list")
    return document


def describe_plan(plan: Plan, *, dry_run: bool) -> list[str]:
    verb: dict[str, Any] = {
        "create": "created",
        "update": "updated",
        "delete": "deleted",
        "store": "stored",
    }
    if dry_run:
        verb = {key: f"would be {value}" for key, value in verb.items()}
    lines = [f"template {name}: {verb['store']}" for name in plan.templates]
    lines += [f"{spec.name}: {verb['create']}" for spec in plan.create]
    lines += [f"{spec.name}: {verb['update']}" for spec in plan.update]
    lines += [f"{name}: {verb['delete']}" for name in plan.delete]
    lines += [f"{name}: unchanged" for name in plan.unchanged]
    return lines or ["nothing to do"]
