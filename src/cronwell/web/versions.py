"""Change control over HTTP: a job's versions, a diff between two, a rollback, and ``apply``,
the declarative document ``cronwell apply`` reads, sent as JSON.

Every job a change would leave defined, and every job it would change or delete, passes
``check_definition``: an operator cannot reach an admin's job through a rollback or an apply
any more than through ``PUT /jobs/{name}``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from cronwell.app import Cronwell, Plan
from cronwell.documents import parse_document
from cronwell.spec import JobSpec
from cronwell.store.auth import Principal
from cronwell.web.errors import ApiError
from cronwell.web.jobs import (
    JobDetail,
    JobName,
    Message,
    VersionNumber,
    detail,
    job_body,
    may_change,
)
from cronwell.web.security import App, Caller, check_definition, check_task

router = APIRouter(tags=["versions"])

Number = Annotated[int, Path(ge=1, le=2**31 - 1, description="A version number, from 1")]


class VersionSummary(BaseModel):
    """One change of a job: when, by whom, what was done, why, and its content's hash."""

    version: int
    created_at: datetime
    author: str
    action: str
    message: str | None
    hash: str


class VersionPage(BaseModel):
    items: list[VersionSummary]
    total: int


class VersionDetail(VersionSummary):
    definition: dict[str, Any]


class Diff(BaseModel):
    """A unified diff of the definitions, headed ``name@vN``; empty when they are the same."""

    old: int
    new: int
    diff: str


class Rollback(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: VersionNumber
    message: Message | None = None
    expected_version: VersionNumber | None = None


class Document(BaseModel):
    """What ``cronwell apply FILE`` reads, as JSON: jobs (and templates) in their canonical
    form or any form the file takes."""

    model_config = ConfigDict(extra="forbid")

    jobs: list[dict[str, Any]] = Field(max_length=10_000)
    templates: list[dict[str, Any]] = Field([], max_length=1000)
    prune: bool = False
    dry_run: bool = False
    message: Message | None = None


class Applied(BaseModel):
    """The plan, by job name: carried out, or, on a dry run, what would be done."""

    created: list[str]
    updated: list[str]
    deleted: list[str]
    unchanged: list[str]
    templates: list[str]
    is_dry_run: bool


def _summary(version: Any) -> VersionSummary:
    return VersionSummary(
        version=version.number,
        created_at=version.created_at,
        author=version.author,
        action=version.action.value,
        message=version.message,
        hash=version.hash,
    )


@router.get("/jobs/{name}/versions")
def list_job_versions(app: App, caller: Caller, name: JobName) -> VersionPage:
    """The job's versions, oldest first; a deleted job's stay readable by its name."""
    found = [_summary(version) for version in app.list_versions(name)]
    return VersionPage(items=found, total=len(found))


@router.get("/jobs/{name}/versions/{number}")
def get_job_version(app: App, caller: Caller, name: JobName, number: Number) -> VersionDetail:
    """One version with the whole definition it left."""
    definition = job_body(app, app.get_version(name, number))
    (version,) = [each for each in app.list_versions(name) if each.number == number]
    return VersionDetail(**_summary(version).model_dump(), definition=definition)


@router.get("/jobs/{name}/diff")
def diff_job_versions(
    app: App,
    caller: Caller,
    name: JobName,
    old: Annotated[int, Query(ge=1, le=2**31 - 1)],
    new: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Default: latest")] = None,
) -> Diff:
    """What changed in the definition from version ``old`` to version ``new``."""
    text = app.diff_versions(name, old, new)
    latest = new if new is not None else app.list_versions(name)[-1].number
    return Diff(old=old, new=latest, diff=text)


@router.post("/jobs/{name}/rollback")
def rollback_job(app: App, caller: Caller, name: JobName, body: Rollback) -> JobDetail:
    """Define the job as version ``to`` left it, as a new version."""
    job = app.rollback(
        name,
        body.to,
        expected_version=body.expected_version,
        message=body.message,
        check=lambda current, old: may_change(caller, app, current, old),
    )
    return detail(app, job)


@router.post("/apply")
def apply_document(app: App, caller: Caller, body: Document) -> Applied:
    """Make the store's jobs (and templates) match the document, as ``cronwell apply`` does:
    all of it or nothing. The plan is made and checked against the caller's role first."""
    specs, templates = parse_document(body.model_dump(), app.list_templates())
    # Planning resolves every task, importing unknown ones: refuse those first.
    for index, spec in enumerate(specs):
        if spec.task is not None:
            with _at(f"jobs[{index}]"):
                check_task(caller, spec.task, app)
    plan = app.apply(specs, templates=templates, prune=body.prune, dry_run=True)
    _check_plan(caller, app, plan, specs)
    if not body.dry_run:
        plan = app.apply(
            specs,
            templates=templates,
            prune=body.prune,
            message=body.message,
        )
    return Applied(
        created=[spec.name for spec in plan.create],
        updated=[spec.name for spec in plan.update],
        deleted=list(plan.delete),
        unchanged=list(plan.unchanged),
        templates=list(plan.templates),
        is_dry_run=body.dry_run,
    )


def _check_plan(caller: Principal, app: Cronwell, plan: Plan, specs: Sequence[JobSpec]) -> None:
    """403 unless ``caller`` may define every job the plan leaves defined and may change
    every job it changes or deletes; the field names the job in the document."""
    places = {spec.name: f"jobs[{index}]" for index, spec in enumerate(specs)}
    changed = [spec.name for spec in plan.update] + list(plan.delete)
    for spec in [*plan.create, *plan.update]:
        with _at(places.get(spec.name, f"jobs.{spec.name}")):
            check_definition(caller, spec, app)
    for name in changed:
        with _at(places.get(name, f"jobs.{name}")):
            check_definition(caller, app.get_schedule(name).spec, app)


@contextmanager
def _at(place: str) -> Iterator[None]:
    """A refusal's field placed in the document: ``jobs[2].command``."""
    try:
        yield
    except ApiError as error:
        error.field = f"{place}.{error.field}" if error.field else place
        error.message = f"{place}.{error.message}"
        raise
