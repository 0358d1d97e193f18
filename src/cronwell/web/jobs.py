"""Jobs over HTTP: list, define, read, change and delete jobs, and the operator's actions on
one job (pause, resume, trigger, skip, backfill, move its cursor), its next due times and its
status.

Definitions go in and out in the canonical JSON form (``JobSpec.canonical()``) and are read by
``JobSpec.parse``, the one spec the CLI, YAML and Python share; every definition answered goes
through ``job_body``. Who may define what is ``check_definition``'s: a command, or a task the
registry does not know, is an admin's alone, and so is changing or deleting such a job.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Response
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from cronwell.app import Cronwell, Job, TemplateNotFound
from cronwell.policies.controls import ControlError
from cronwell.spec import NAME, JobSpec, SpecError
from cronwell.store.auth import Principal
from cronwell.templates import resolve
from cronwell.web import params
from cronwell.web.errors import ApiError
from cronwell.web.security import App, Caller, check_definition, check_task

router = APIRouter(tags=["jobs"])

MIN_YEAR, MAX_YEAR = 2, 9998  # room for any zone's offset either way, as the CLI allows


def _in_range(moment: datetime) -> datetime:
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise PydanticCustomError("year", f"must be within the years {MIN_YEAR}-{MAX_YEAR}")
    return moment


def _no_nul(text: str) -> str:
    if "\0" in text:
        raise PydanticCustomError("nul", "must not hold a NUL character")
    return text


# An instant a client names (written out, with an offset), within the years a schedule
# can step from without overflowing.
Instant = Annotated[params.Instant, AfterValidator(_in_range)]
# A name no job can have is refused before it reaches the store (PostgreSQL refuses NUL).
JobName = Annotated[str, Path(pattern=f"^{NAME}$", description="The job's name")]
# Versions are numbered from 1; the bound keeps a number within the store's integers.
VersionNumber = Annotated[int, Field(ge=1, le=2**31 - 1)]
# Why a change was made, kept with its version; PostgreSQL keeps no NUL in text.
Message = Annotated[
    str,
    StringConstraints(max_length=2000),
    AfterValidator(_no_nul),
    Field(description="Why: the line the version keeps"),
]
Definition = Annotated[
    dict[str, Any],
    Body(description="A job definition in the canonical form (`GET /jobs/{name}` answers it)"),
]


class JobSummary(BaseModel):
    """A job as lists show it: what it runs, when, where, and its state."""

    name: str
    id: int
    task: str | None
    command: str | list[str] | None
    schedule: str | dict[str, Any]
    timezone: str
    queue: str
    tags: list[str]
    is_enabled: bool
    next_due_at: datetime | None
    paused_until: datetime | None
    version: int


class JobDetail(JobSummary):
    """A job in full: its state and its whole definition."""

    description: str
    dead_reason: str | None
    definition: dict[str, Any]


class JobPage(BaseModel):
    items: list[JobSummary]
    total: int


class Replacement(BaseModel):
    """A whole new definition (canonical form), with the version it was read at."""

    model_config = ConfigDict(extra="allow")

    expected_version: VersionNumber | None = Field(None, description="Refuse unless still this")
    message: Message | None = None


class Changes(BaseModel):
    """Fields of the definition to change, as ``cronwell jobs update --set`` changes them."""

    model_config = ConfigDict(extra="forbid")

    changes: dict[str, Any] = Field(min_length=1)
    expected_version: VersionNumber | None = None
    message: Message | None = None


def job_body(app: Cronwell, spec: JobSpec) -> dict[str, Any]:
    """The definition as answered, its secrets masked: every definition the API returns
    passes here."""
    return app.masked_definition(spec)


def summary(job: Job) -> JobSummary:
    spec = job.spec
    command = list(spec.command) if isinstance(spec.command, tuple) else spec.command
    source = spec.schedule_source
    return JobSummary(
        name=job.name,
        id=job.id,
        task=spec.task,
        command=command,
        schedule=dict(source) if isinstance(source, Mapping) else source,
        timezone=spec.timezone,
        queue=spec.queue,
        tags=list(spec.tags),
        is_enabled=job.is_enabled,
        next_due_at=job.next_due_at,
        paused_until=job.paused_until,
        version=job.version,
    )


def detail(app: Cronwell, job: Job) -> JobDetail:
    return JobDetail(
        **summary(job).model_dump(),
        description=job.spec.description,
        dead_reason=job.dead_reason,
        definition=job_body(app, job.spec),
    )


def looked_up(fields: Mapping[str, Any], caller: Principal, app: Cronwell) -> Mapping[str, Any]:
    """``fields``, once the two the facade looks up before it parses are of a shape it can
    look up, and the caller may have them looked up: a task resolved in the registry (which
    imports an unknown one), a template read from the store (which must not be handed a name
    no template can have: PostgreSQL refuses a NUL in it)."""
    task, template = fields.get("task"), fields.get("template")
    if task is not None and not isinstance(task, str):
        raise SpecError([("task", "must be a task name or pkg.module:function")])
    if task is not None:
        check_task(caller, task, app)
    if template is not None and not (isinstance(template, str) and re.fullmatch(NAME, template)):
        raise SpecError([("template", f"{template!r} is not a template name")])
    return fields


def defined(app: Cronwell, caller: Principal, body: Mapping[str, Any]) -> JobSpec:
    """The job ``body`` defines, its template laid under it, as the facade will store it."""
    name = looked_up(body, caller, app).get("template")
    try:
        template = app.get_template(name) if isinstance(name, str) else None
    except TemplateNotFound:
        raise SpecError([("template", f"no template named {name!r}")]) from None
    return JobSpec.parse(resolve(body, template))


def may_change(caller: Principal, app: Cronwell, current: JobSpec, new: JobSpec) -> None:
    """403 unless ``caller`` may define both: a job an admin alone may define stays the
    admin's to change, whatever it becomes."""
    check_definition(caller, current, app)
    check_definition(caller, new, app)


@router.get("/jobs")
def list_jobs(
    app: App,
    caller: Caller,
    *,
    status: Literal["active", "paused"] | None = None,
    tag: Annotated[list[str] | None, Query(max_length=50, description="All must match")] = None,
    queue: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Name contains, any case")] = None,
    limit: params.Limit = 100,
    offset: params.Offset = 0,
) -> JobPage:
    """Live jobs by name, filtered; ``total`` counts every match, ``items`` one page."""
    found = app.list_schedules(status, tuple(tag or ()))
    needle = (q or "").casefold()
    found = [
        job
        for job in found
        if (queue is None or job.spec.queue == queue) and needle in job.name.casefold()
    ]
    page = found[offset : offset + limit]
    return JobPage(items=[summary(job) for job in page], total=len(found))


@router.post("/jobs", status_code=201)
def create_job(app: App, caller: Caller, body: Definition) -> JobDetail:
    """Define a job; 422 naming the field of a bad definition, 409 if the name is taken."""
    spec = defined(app, caller, body)
    check_definition(caller, spec, app)
    fields = {key: value for key, value in body.items() if key != "name"}
    job_id = app.schedule(name=spec.name, **fields)
    return detail(app, app.get_schedule(job_id))


@router.get("/jobs/{name}")
def get_job(app: App, caller: Caller, name: JobName) -> JobDetail:
    """One job: its definition and its state."""
    return detail(app, app.get_schedule(name))


@router.put("/jobs/{name}")
def replace_job(app: App, caller: Caller, name: JobName, body: Replacement) -> JobDetail:
    """Replace the job's definition whole: what the body leaves out takes its default, but
    the name, which is the path's (a job keeps its name: another one answers 422)."""
    definition = looked_up({"name": name, **(body.model_extra or {})}, caller, app)
    job = app.change_schedule(
        name,
        definition,
        is_replace=True,
        check=lambda current, new: may_change(caller, app, current, new),
        expected_version=body.expected_version,
        message=body.message,
    )
    return detail(app, job)


@router.patch("/jobs/{name}")
def update_job(app: App, caller: Caller, name: JobName, body: Changes) -> JobDetail:
    """Change some fields of the job's definition; the rest stay."""
    job = app.change_schedule(
        name,
        looked_up(body.changes, caller, app),
        check=lambda current, new: may_change(caller, app, current, new),
        expected_version=body.expected_version,
        message=body.message,
    )
    return detail(app, job)


@router.delete("/jobs/{name}", status_code=204)
def delete_job(app: App, caller: Caller, name: JobName) -> Response:
    """Delete the job (its history and versions stay); an admin's alone for a command or a
    task the registry does not know."""
    app.delete_schedule(name, check=lambda current: check_definition(caller, current, app))
    return Response(status_code=204)


# --- the operator's actions on one job ---------------------------------------------------


class Pause(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: Instant | None = Field(None, description="Fire again from then on, by itself")


class Resume(BaseModel):
    model_config = ConfigDict(extra="forbid")

    catch_up: bool = Field(False, description="Hand the missed due times to the misfire policy")


class Trigger(BaseModel):
    model_config = ConfigDict(extra="forbid")

    args: list[Any] | None = None
    kwargs: dict[str, Any] | None = None
    respect_overlap: bool = False


class Triggered(BaseModel):
    run_ids: list[int]


class Skipped(BaseModel):
    skipped: datetime
    next_due_at: datetime | None


class BackfillRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: Instant = Field(alias="from")
    end: Instant = Field(alias="to", description="Included")
    overlap: Literal["allow", "queue", "forbid"] = "queue"
    dry_run: bool = False


class Backfilled(BaseModel):
    job: str
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    overlap: str
    due_times: list[datetime]
    run_ids: list[int]
    made: int
    existing: int
    is_dry_run: bool


class MoveCursor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: Instant


class NextDue(BaseModel):
    next_due_at: datetime | None


class NextRunTimes(BaseModel):
    times: list[datetime]


class JobStatus(BaseModel):
    """The job's record: the latest run that ended, counts of ended runs, the mean duration
    of recent successes in seconds."""

    last_run: datetime | None
    last_result: str | None
    next_run: datetime | None
    run_count: int
    success_count: int
    error_count: int
    missed_count: int
    average_duration: float | None


# Controls name their arguments by the facade's words; the API's body says from and to.
_CONTROL_FIELDS = {"start": "from", "end": "to", "start/end": "from"}
# Refusals that name no input but the job's state (paused, not due, a manual schedule).
_STATE_FIELDS = frozenset({"job", "schedule"})


@contextmanager
def refusals() -> Iterator[None]:
    """An operator control's refusal: 422 naming the body's field at fault, or 409 when the
    job's state is what forbids it."""
    try:
        yield
    except ControlError as error:
        if error.field in _STATE_FIELDS:
            raise ApiError(409, "conflict", f"{error.field}: {error.problem}") from None
        field = _CONTROL_FIELDS.get(error.field, error.field)
        raise ApiError(422, "invalid", f"{field}: {error.problem}", field) from None


@router.post("/jobs/{name}/pause")
def pause_job(
    app: App, caller: Caller, name: JobName, body: Annotated[Pause | None, Body()] = None
) -> JobSummary:
    """Stop firing the job until resumed, or until ``until``."""
    with refusals():
        app.pause_schedule(name, until=body.until if body else None)
    return summary(app.get_schedule(name))


@router.post("/jobs/{name}/resume")
def resume_job(
    app: App, caller: Caller, name: JobName, body: Annotated[Resume | None, Body()] = None
) -> JobSummary:
    """Fire the job again from now on; with ``catch_up``, by its misfire policy."""
    with refusals():
        app.resume_schedule(name, catch_up=body.catch_up if body else False)
    return summary(app.get_schedule(name))


@router.post("/jobs/{name}/trigger")
def trigger_job(
    app: App, caller: Caller, name: JobName, body: Annotated[Trigger | None, Body()] = None
) -> Triggered:
    """A run of the job now, with the job's arguments or the ones given."""
    asked = body or Trigger()
    run_id = app.trigger_now(name, asked.args, asked.kwargs, respect_overlap=asked.respect_overlap)
    return Triggered(run_ids=[run_id])


@router.post("/jobs/{name}/skip-next")
def skip_next_job(app: App, caller: Caller, name: JobName) -> Skipped:
    """Skip the job's next due time (a run recorded skipped by hand)."""
    with refusals():
        skipped = app.skip_next(name)
    return Skipped(skipped=skipped, next_due_at=app.get_schedule(name).next_due_at)


@router.post("/jobs/{name}/backfill")
def backfill_job(app: App, caller: Caller, name: JobName, body: BackfillRequest) -> Backfilled:
    """A run for each due time from ``from`` to ``to`` that has none yet."""
    with refusals():
        done = app.backfill(name, body.start, body.end, overlap=body.overlap, dry_run=body.dry_run)
    return Backfilled(
        job=done.job,
        start=done.start,
        end=done.end,
        overlap=done.overlap.value,
        due_times=list(done.due_times),
        run_ids=list(done.run_ids),
        made=done.made,
        existing=done.existing,
        is_dry_run=done.is_dry_run,
    )


@router.post("/jobs/{name}/move-cursor")
def move_cursor_job(app: App, caller: Caller, name: JobName, body: MoveCursor) -> NextDue:
    """Plan the job from ``to`` on."""
    with refusals():
        next_due = app.move_cursor(name, to=body.to)
    return NextDue(next_due_at=next_due)


@router.get("/jobs/{name}/next")
def get_job_next_times(
    app: App, caller: Caller, name: JobName, count: Annotated[int, Query(ge=1, le=100)] = 5
) -> NextRunTimes:
    """The job's next due times from now, by its schedule."""
    return NextRunTimes(times=app.get_next_run_times(name, count))


@router.get("/jobs/{name}/status")
def get_job_status(app: App, caller: Caller, name: JobName) -> JobStatus:
    """The job's record of runs, in the shape of ``get_schedule_status``."""
    status = app.get_schedule_status(name)
    average = status["average_duration"]
    seconds = None if average is None else average.total_seconds()
    return JobStatus(**{**status, "average_duration": seconds})
