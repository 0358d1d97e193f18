"""The cluster over HTTP: workers and whether they beat, the leases held, the statistics,
and the global pause that stops every job from firing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from cronwell.store.history import RunLease
from cronwell.store.leases import Lease
from cronwell.store.workers import WorkerRow
from cronwell.web.params import Limit, Offset
from cronwell.web.security import App, Caller

router = APIRouter(tags=["cluster"])


class WorkerBody(BaseModel):
    id: str
    hostname: str
    pid: int
    queues: list[str]
    concurrency: int
    lease_seconds: float
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    is_alive: bool  # not stopped, and beat within its lease


class WorkerList(BaseModel):
    items: list[WorkerBody]
    next: int | None  # the offset of the next page; None on the last


class LeaseBody(BaseModel):
    """A named lease, such as the schedulers' leader lease."""

    name: str
    owner: str
    holder: str | None  # where the owner runs: "host pid N"
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime
    takeovers: int


class RunLeaseBody(BaseModel):
    """A running run's lease: the worker that holds it, until when, on which attempt."""

    run_id: int
    job: str
    owner: str
    expires_at: datetime
    attempt: int


class Leases(BaseModel):
    leader: str | None  # where the leading scheduler runs, if one leads
    leases: list[LeaseBody]
    runs: list[RunLeaseBody]  # soonest to expire first


class Statistics(BaseModel):
    total_jobs: int
    active_jobs: int
    paused_jobs: int
    runs_last_24h: int
    success_rate_last_24h: float | None  # succeeded / (succeeded + dead)
    missed_total: int
    versions: int
    version_contents: int
    version_bytes_raw: int
    version_bytes_stored: int
    uptime_seconds: float  # of the process that answers
    is_paused: bool


class Pause(BaseModel):
    is_paused: bool


@router.get("/workers")
def list_workers(
    *,
    caller: Caller,
    app: App,
    include_stopped: Annotated[bool, Query(description="Stopped workers too")] = True,
    limit: Limit = 100,
    offset: Offset = 0,
) -> WorkerList:
    """Workers, the most recently started first, with whether each is alive."""
    found = app.list_workers(include_stopped=include_stopped, limit=limit + 1, offset=offset)
    items = [_worker_body(row, is_alive) for row, is_alive in found[:limit]]
    return WorkerList(items=items, next=offset + limit if len(found) > limit else None)


@router.get("/leases")
def list_leases(caller: Caller, app: App) -> Leases:
    """Which worker holds which running run, and which scheduler leads."""
    named, held = app.list_leases()
    return Leases(
        leader=app.leader_of(named),
        leases=[_lease_body(lease) for lease in named],
        runs=[_run_lease_body(lease) for lease in held],
    )


@router.get("/stats")
def get_stats(caller: Caller, app: App) -> Statistics:
    """Jobs active and paused, runs and their success rate in the last 24 hours, missed due
    times, versions of definitions and what they take."""
    figures = app.get_statistics()
    uptime: timedelta = figures.pop("uptime")
    return Statistics(**figures, uptime_seconds=uptime.total_seconds())


@router.get("/pause")
def get_pause(caller: Caller, app: App) -> Pause:
    """Whether everything is paused."""
    return Pause(is_paused=app.is_paused())


@router.post("/pause")
def pause_all(caller: Caller, app: App) -> Pause:
    """Stop every job from firing (runs in flight finish) until resumed."""
    app.pause()
    return Pause(is_paused=True)


@router.post("/resume")
def resume_all(caller: Caller, app: App) -> Pause:
    """Fire again from now on: what came due while paused is not caught up."""
    app.resume()
    return Pause(is_paused=False)


def _worker_body(row: WorkerRow, is_alive: bool) -> WorkerBody:
    return WorkerBody(
        id=row.id,
        hostname=row.hostname,
        pid=row.pid,
        queues=row.queues,
        concurrency=row.concurrency,
        lease_seconds=row.lease.total_seconds(),
        started_at=row.started_at,
        heartbeat_at=row.heartbeat_at,
        stopped_at=row.stopped_at,
        is_alive=is_alive,
    )


def _lease_body(lease: Lease) -> LeaseBody:
    return LeaseBody.model_validate(lease, from_attributes=True)


def _run_lease_body(lease: RunLease) -> RunLeaseBody:
    return RunLeaseBody.model_validate(lease, from_attributes=True)
