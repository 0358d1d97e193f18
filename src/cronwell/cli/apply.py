"""``cronwell apply jobs.yaml``: declare the jobs in a file, idempotently (like kubectl apply)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import yaml

from cronwell.app import Plan
from cronwell.cli.errors import InputError
from cronwell.cli.options import database_option, open_app
from cronwell.registry import Registry, UnknownTask
from cronwell.spec import JobSpec, SpecError, parse_jobs


@click.command()
@click.argument("path", metavar="FILE")
@database_option
@click.option("--prune", is_flag=True, help="Delete jobs that the file does not define.")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
def apply(path: str, database: str | None, prune: bool, dry_run: bool) -> None:
    """Make the store's jobs match FILE. An invalid file changes nothing."""
    specs = _read(Path(path))
    plan = open_app(database).apply(specs, prune=prune, dry_run=dry_run)
    for line in describe_plan(plan, dry_run=dry_run):
        click.echo(line)


def _read(path: Path) -> list[JobSpec]:
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
    try:
        specs = parse_jobs(document["jobs"])
    except SpecError as error:
        raise InputError(*(f"{place}: {problem}" for place, problem in error.problems)) from None
    _check_tasks(specs)
    return specs


def _check_tasks(specs: list[JobSpec]) -> None:
    """Every task must import here, as it will in a worker started in this directory."""
    sys.path.insert(0, str(Path.cwd()))
    registry, problems = Registry(), []
    for index, spec in enumerate(specs):
        if spec.task is not None:
            try:
                registry.resolve(spec.task)
            except UnknownTask as error:
                problems.append(f"jobs[{index}].task: {error}")
    if problems:
        raise InputError(*problems)


def describe_plan(plan: Plan, *, dry_run: bool) -> list[str]:
    verb: dict[str, Any] = {"create": "created", "update": "updated", "delete": "deleted"}
    if dry_run:
        verb = {key: f"would be {value}" for key, value in verb.items()}
    lines = [f"{spec.name}: {verb['create']}" for spec in plan.create]
    lines += [f"{spec.name}: {verb['update']}" for spec in plan.update]
    lines += [f"{name}: {verb['delete']}" for name in plan.delete]
    lines += [f"{name}: unchanged" for name in plan.unchanged]
    return lines or ["nothing to do"]
