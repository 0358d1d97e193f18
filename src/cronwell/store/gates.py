"""Due runs of jobs with a schedule of their own and dependencies, gated by their upstreams.

The scheduler plans such a job's due run as for any job, then holds it ``waiting`` (reason
``waiting for upstream``, its deadline in ``not_before``) and decides it in the same
transaction: pending when each upstream's latest run since the job's previous due time ended
as its edge requires, skipped with the reason when one cannot, waiting while one is still
unfinished, until it ends or the deadline passes. The transaction that ends an upstream run
decides the runs waiting for it again (``cronwell.store.edges.fire_downstreams``), and the
scheduler looks at the waiting ones every WAIT_POLL. The overlap queue's waiting runs have no
reason: neither side takes the other's.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, func, select, update

from cronwell.dag import WAITING_FOR_UPSTREAM, EdgeKind, GateDecision, Upstream, gate
from cronwell.lifecycle import RunStatus, Trigger
from cronwell.spec import DEFAULT_WAIT_TIMEOUT
from cronwell.store.signals import RUNS, notify
from cronwell.store.tables import job_edges, jobs, runs

if TYPE_CHECKING:  # runs imports edges, which imports this module
    from cronwell.store.runs import NewRun


def gated_jobs(connection: Connection) -> set[int]:
    """The jobs whose due runs their upstreams gate."""
    return set(connection.execute(_GATED_JOBS).scalars())


def release_ungated(connection: Connection, job_ids: Sequence[int]) -> None:
    """Settle the runs of these jobs held for upstreams they no longer have: nothing would
    ever decide them. A live job's start, claimable from their due times as they would have
    been; a deleted job's are cancelled when it was deleted."""
    if not job_ids:
        return
    deleted_at = select(jobs.c.deleted_at).where(jobs.c.id == runs.c.job_id).scalar_subquery()
    held = (
        update(runs)
        .where(runs.c.job_id.in_(job_ids), runs.c.status == RunStatus.WAITING.value)
        .where(runs.c.reason.startswith(WAITING_FOR_UPSTREAM))
    )
    connection.execute(
        held.where(deleted_at.is_not(None)).values(
            status=RunStatus.CANCELLED.value, reason=JOB_DELETED, finished_at=deleted_at
        )
    )
    released = connection.execute(
        held.values(status=RunStatus.PENDING.value, reason=None, not_before=runs.c.scheduled_for)
    )
    if released.rowcount:
        notify(connection, RUNS)


JOB_DELETED = "its job was deleted"

WAIT_POLL = timedelta(seconds=5)  # how soon the scheduler looks again while runs wait


def hold_for_upstreams(spec: Mapping[str, Any], planned: Sequence[NewRun]) -> list[NewRun]:
    """The runs a tick planned for a job (its canonical ``spec``), each pending one held
    ``waiting`` for its upstreams until ``gate_waiting`` decides it. Its ``not_before`` holds
    its deadline meanwhile: a waiting run is never claimed, and the gate sets it again."""
    if not spec.get("depends_on"):
        return list(planned)
    wait = timedelta(seconds=float(spec.get("wait_timeout", DEFAULT_WAIT_TIMEOUT.total_seconds())))
    return [
        replace(
            run,
            status=RunStatus.WAITING,
            reason=WAITING_FOR_UPSTREAM,
            not_before=run.scheduled_for + wait,
        )
        if run.status is RunStatus.PENDING
        else run
        for run in planned
    ]


def gate_waiting(
    connection: Connection, now: datetime, job_ids: Collection[int] | None = None
) -> datetime | None:
    """Decide each run held for its upstreams (``hold_for_upstreams``): pending when they
    ended as required, skipped when they cannot or the deadline passed, else still waiting.
    Returns when to look again while some still wait (their first deadline, or WAIT_POLL from
    ``now``, as an upstream may end meanwhile); None when none waits. With ``job_ids``,
    only the runs of those jobs."""
    gated = _gated_edges(connection)
    if job_ids is not None:
        gated = {job_id: edges for job_id, edges in gated.items() if job_id in job_ids}
    if not gated:
        return None
    held = connection.execute(_HELD_RUNS, {"jobs": sorted(gated)}).all()
    looks: list[datetime] = []
    is_released = False
    for run in held:
        upstreams, latest = _upstreams(connection, run, gated[run.job_id])
        decision = gate(upstreams, is_past_deadline=now >= run.not_before)
        if decision.status == RunStatus.WAITING:
            looks.append(min(run.not_before, now + WAIT_POLL))
            if decision.reason == run.reason:
                continue  # waiting as it was: nothing to write
        _apply(connection, run.id, decision, now, latest)
        is_released |= decision.status == RunStatus.PENDING
    if is_released:
        notify(connection, RUNS)
    return min(looks, default=None)


_up_jobs = jobs.alias("up_jobs")
_GATED_EDGES = (
    select(
        job_edges.c.downstream_job_id,
        job_edges.c.upstream_job_id,
        job_edges.c.kind,
        _up_jobs.c.name,
    )
    .join(_up_jobs, _up_jobs.c.id == job_edges.c.upstream_job_id)
    .where(~job_edges.c.is_trigger, job_edges.c.kind != EdgeKind.FALLBACK.value)
)
_GATED_JOBS = (
    select(job_edges.c.downstream_job_id)
    .where(~job_edges.c.is_trigger, job_edges.c.kind != EdgeKind.FALLBACK.value)
    .distinct()
)
_prior = runs.alias("prior")
# The job's previous due time before the held run's; for its first, when it was defined.
_SINCE = func.coalesce(
    select(func.max(_prior.c.scheduled_for))
    .where(_prior.c.job_id == runs.c.job_id, _prior.c.scheduled_for < runs.c.scheduled_for)
    .where(_prior.c.trigger.in_([Trigger.SCHEDULE.value, Trigger.MISFIRE.value]))
    .scalar_subquery(),
    select(jobs.c.created_at).where(jobs.c.id == runs.c.job_id).scalar_subquery(),
)
_HELD_RUNS = (
    select(
        runs.c.id,
        runs.c.job_id,
        runs.c.scheduled_for,
        runs.c.not_before,
        runs.c.reason,
        _SINCE.label("since"),
    )
    .where(runs.c.job_id.in_(bindparam("jobs", expanding=True)))
    .where(runs.c.status == RunStatus.WAITING.value)
    .where(runs.c.reason.startswith(WAITING_FOR_UPSTREAM))
    .order_by(runs.c.id)
    .with_for_update()
)

_Gated = dict[int, list[tuple[int, EdgeKind, str]]]  # downstream: (upstream id, kind, name)


def _gated_edges(connection: Connection) -> _Gated:
    found: _Gated = {}
    for row in connection.execute(_GATED_EDGES):
        entry = (row.upstream_job_id, EdgeKind(row.kind), row.name)
        found.setdefault(row.downstream_job_id, []).append(entry)
    return found


def _latest(connection: Connection, job_id: int, since: datetime, until: datetime) -> Any:
    """The latest run of ``job_id`` due in (since, until], or None."""
    return connection.execute(
        select(runs.c.id, runs.c.status)
        .where(runs.c.job_id == job_id)
        .where(runs.c.scheduled_for > since, runs.c.scheduled_for <= until)
        .order_by(runs.c.scheduled_for.desc(), runs.c.id.desc())
        .limit(1)
    ).first()


def _upstreams(
    connection: Connection, run: Any, edges: Sequence[tuple[int, EdgeKind, str]]
) -> tuple[list[Upstream], int | None]:
    """What each upstream did since the job's previous due time, and the latest of their
    runs then: the one a run let through records."""
    found, ids = [], []
    for upstream_id, kind, name in edges:
        latest = _latest(connection, upstream_id, run.since, run.scheduled_for)
        found.append(Upstream(name, kind, None if latest is None else latest.status))
        if latest is not None:
            ids.append(latest.id)
    return found, max(ids, default=None)


def _apply(
    connection: Connection,
    run_id: int,
    decision: GateDecision,
    now: datetime,
    upstream_run_id: int | None,
) -> None:
    values: dict[str, Any] = {"status": decision.status, "reason": decision.reason}
    if decision.status == RunStatus.PENDING:
        values |= {"not_before": now, "upstream_run_id": upstream_run_id}
    elif decision.status == RunStatus.SKIPPED:
        values["finished_at"] = now
    connection.execute(
        update(runs)
        .where(runs.c.id == run_id, runs.c.status == RunStatus.WAITING.value)
        .values(values)
    )
