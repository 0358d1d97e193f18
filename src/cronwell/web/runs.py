"""Runs and the dead-letter queue over HTTP: list and show runs with their attempts, cancel
and retry them, list dead runs and recover their jobs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel

from cronwell.lifecycle import RunStatus, Trigger
from cronwell.policies.secrets import SecretKeys
from cronwell.store.history import AttemptRow, RunRow
from cronwell.store.pages import RunDetail, RunFilter
from cronwell.web.params import Instant, Limit, Name, Offset, PathId, PathName
from cronwell.web.security import App, Caller

router = APIRouter(tags=["runs"])


class RunItem(BaseModel):
    """A run as lists show it; ``attempts`` is how many it had."""

    id: int
    job: str
    scheduled_for: datetime
    trigger: str
    status: str
    reason: str | None
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    covers: int
    covers_from: datetime | None
    upstream_run_id: int | None


class RunList(BaseModel):
    items: list[RunItem]
    total: int


class AttemptBody(BaseModel):
    """One execution of a run by a worker."""

    number: int
    worker_id: str | None
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration_seconds: float | None
    exit_code: int | None
    peak_memory: int | None  # bytes
    error: str | None
    output: str | None
    logs: list[dict[str, Any]] | None
    heartbeat_at: datetime | None
    progress: str | None


class RunBody(RunItem):
    """A run with what it was called with and every attempt, the first first."""

    args: list[Any] | None
    kwargs: dict[str, Any] | None
    queue: str
    max_attempts: int
    event_id: int | None
    is_cancel_requested: bool
    attempt_details: list[AttemptBody]


class Retried(BaseModel):
    run_id: int  # the new run's


class DeadJob(BaseModel):
    """A job a dead run took out of service (``on_dead: disable``)."""

    id: int
    name: str
    dead_reason: str
    is_enabled: bool


class DeadLetters(BaseModel):
    """Dead runs, newest first, a page at a time, and every job they disabled."""

    items: list[RunItem]
    total: int
    disabled_jobs: list[DeadJob]


class Recovery(BaseModel):
    retry: bool = False  # also run the latest dead run once more


class Recovered(BaseModel):
    job: str
    is_recovered: bool  # a dead run had taken it out of service, and it is enabled again
    run_id: int | None  # the run made with ``retry``


@router.get("/runs")
def list_runs(
    *,
    app: App,
    caller: Caller,
    job: Annotated[Name | None, Query(description="Only this job's runs")] = None,
    status: Annotated[list[RunStatus] | None, Query(description="Only runs in these")] = None,
    since: Annotated[Instant | None, Query(description="Due at or after this")] = None,
    until: Annotated[Instant | None, Query(description="Due before this")] = None,
    trigger: Annotated[Trigger | None, Query(description="Only runs made so")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> RunList:
    """Runs, the most recently due first, filtered by job, status, due time and trigger."""
    statuses = tuple(each.value for each in status or ())
    filters = RunFilter(job, statuses, since, until, None if trigger is None else trigger.value)
    page = app.find_runs(filters, limit=limit, offset=offset)
    return RunList(items=[run_item(row) for row in page.items], total=page.total)


@router.get("/runs/{run_id}")
def get_run(run_id: PathId, app: App, caller: Caller) -> RunBody:
    """The run with its status, trigger, reason, arguments and every attempt."""
    return run_body(app.get_run_detail(run_id), app.secret_keys)


@router.post("/runs/{run_id}/cancel")
def cancel_run(run_id: PathId, app: App, caller: Caller) -> RunBody:
    """Cancel the run: one not started ends at once, a running one within a heartbeat
    (``is_cancel_requested`` until then); 409 if it has ended."""
    app.cancel_run(run_id)
    return run_body(app.get_run_detail(run_id), app.secret_keys)


@router.post("/runs/{run_id}/retry")
def retry_run(run_id: PathId, app: App, caller: Caller) -> Retried:
    """Run the run's job again now with the same arguments: a new run, trigger ``retry``."""
    return Retried(run_id=app.retry_run(run_id))


@router.get("/dlq")
def list_dlq(app: App, caller: Caller, limit: Limit = 100, offset: Offset = 0) -> DeadLetters:
    """The dead-letter queue: runs that exhausted their attempts, and the jobs they disabled."""
    page = app.find_dead_runs(limit=limit, offset=offset)
    disabled = [
        DeadJob(id=job.id, name=job.name, dead_reason=job.dead_reason, is_enabled=job.is_enabled)
        for job in app.list_schedules()
        if job.dead_reason is not None
    ]
    items = [run_item(row) for row in page.items]
    return DeadLetters(items=items, total=page.total, disabled_jobs=disabled)


@router.post("/dlq/{job}/recover")
def recover_dlq(
    job: PathName,
    app: App,
    caller: Caller,
    recovery: Annotated[Recovery | None, Body()] = None,
) -> Recovered:
    """Enable the job again if a dead run took it out of service, and with ``retry`` run
    its latest dead run once more (no body: no retry). A job paused by hand stays paused."""
    found = app.get_schedule(job)
    run_id = app.recover(found.id, retry=recovery is not None and recovery.retry)
    is_recovered = found.dead_reason is not None
    return Recovered(job=found.name, is_recovered=is_recovered, run_id=run_id)


def run_item(row: RunRow) -> RunItem:
    return RunItem.model_validate(row, from_attributes=True)


def run_body(detail: RunDetail, keys: SecretKeys) -> RunBody:
    """The one shape a run with its arguments and output leaves the API in. Its kwargs'
    secrets are masked here; output and errors were stored masked."""
    return RunBody(
        **run_item(detail.run).model_dump(),
        args=detail.args,
        kwargs=keys.mask_mapping(detail.kwargs),
        queue=detail.queue,
        max_attempts=detail.max_attempts,
        event_id=detail.event_id,
        is_cancel_requested=detail.is_cancel_requested,
        attempt_details=[_attempt_body(attempt) for attempt in detail.attempts],
    )


def _attempt_body(attempt: AttemptRow) -> AttemptBody:
    return AttemptBody(
        number=attempt.number,
        worker_id=attempt.worker_id,
        status=attempt.status,
        started_at=attempt.started_at,
        finished_at=attempt.finished_at,
        duration_seconds=_seconds(attempt.duration),
        exit_code=attempt.exit_code,
        peak_memory=attempt.peak_memory,
        error=attempt.error,
        output=attempt.output,
        logs=attempt.logs,
        heartbeat_at=attempt.heartbeat_at,
        progress=attempt.progress,
    )


def _seconds(span: timedelta | None) -> float | None:
    return None if span is None else span.total_seconds()
