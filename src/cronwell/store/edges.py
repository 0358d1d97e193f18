"""Dependencies between jobs in the store: the graph kept in step with the definitions, and
the runs an upstream run's end makes (the gated due runs of scheduled jobs are in ``gates``).

A definition that changes the graph is checked (``cronwell.dag``) against every live job with
the change applied, inside the transaction that writes it, and ``job_edges`` is rewritten in
that same transaction: a refused change stores nothing, an accepted one is never half seen.

A run that ends ``succeeded`` or ``dead`` makes, in the transaction that ends it, a run of each
downstream job its end satisfies (``fire_downstreams``). The new run shares the upstream run's
``scheduled_for``: the unique (job, scheduled_for) constraint makes the firing exactly-once
however many processes settle runs, and a downstream with several upstreams fires when the
last of their runs at that same instant ends in the state it needs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
)

from cronwell.dag import SATISFYING, EdgeKind, Graph, build_graph, dependents, has_edges
from cronwell.lifecycle import RunStatus, Trigger
from cronwell.spec import JobSpec, SpecError
from cronwell.store.dialect import insert_select_ignoring_conflicts
from cronwell.store.gates import gate_waiting, gated_jobs, release_ungated
from cronwell.store.signals import RUNS, notify
from cronwell.store.tables import job_edges, jobs, runs
from cronwell.store.types import UtcDateTime


def live_specs(connection: Connection) -> dict[str, JobSpec]:
    """Every live job's definition, by name."""
    rows = connection.execute(select(jobs.c.spec).where(jobs.c.deleted_at.is_(None)))
    found = (JobSpec.from_canonical(spec) for spec in rows.scalars())
    return {spec.name: spec for spec in found}


def check_graph(
    connection: Connection,
    *,
    changed: Sequence[JobSpec] = (),
    deleted: Collection[str] = (),
    places: Mapping[str, str] | None = None,
) -> Graph:
    """The graph of the live jobs once ``changed`` are written and ``deleted`` are gone, or a
    SpecError: an unknown job, a self-dependency, a cycle, or a deleted job that a job staying
    names (deleting it would leave that job waiting for nothing)."""
    specs = live_specs(connection)
    remaining = [spec for name, spec in specs.items() if name not in deleted]
    held = dependents([*remaining, *changed], set(deleted))
    if held:
        raise SpecError(
            [(name, f"cannot be deleted: needed by {', '.join(held[name])}") for name in held]
        )
    specs = {spec.name: spec for spec in remaining} | {spec.name: spec for spec in changed}
    return build_graph(specs.values(), places)


def check_change(
    connection: Connection,
    *,
    changed: Sequence[JobSpec] = (),
    deleted: Collection[str] = (),
    was: Sequence[JobSpec] = (),
    places: Mapping[str, str] | None = None,
) -> Graph | None:
    """``check_graph`` for a change that may touch the graph; None, reading nothing more, for
    one that cannot: no definition ``changed`` (or as it ``was`` before) has an edge, and
    nothing is deleted while some job has one. Most jobs have none: they pay one query."""
    if any(has_edges(spec) for spec in [*changed, *was]):
        return check_graph(connection, changed=changed, deleted=deleted, places=places)
    if (deleted or places is not None) and _has_any_edge(connection):
        return check_graph(connection, changed=changed, deleted=deleted, places=places)
    return None


def _has_any_edge(connection: Connection) -> bool:
    return connection.execute(select(job_edges.c.kind).limit(1)).first() is not None


def keep_edges(connection: Connection, graph: Graph | None) -> None:
    """Rewrite ``job_edges`` as ``graph`` says, once the change it was checked for is written;
    nothing for None (a change that touched no edge)."""
    if graph is None:
        return
    was_gated = gated_jobs(connection)
    connection.execute(delete(job_edges))
    if graph.edges:
        _insert_edges(connection, graph)
    release_ungated(connection, sorted(was_gated - gated_jobs(connection)))


def _insert_edges(connection: Connection, graph: Graph) -> None:
    live = connection.execute(select(jobs.c.name, jobs.c.id).where(jobs.c.deleted_at.is_(None)))
    ids = {row.name: row.id for row in live}
    rows = [
        {
            "upstream_job_id": ids[edge.upstream],
            "downstream_job_id": ids[edge.downstream],
            "kind": edge.kind.value,
            "is_trigger": edge.is_trigger,
        }
        for edge in graph.edges
    ]
    connection.execute(insert(job_edges), rows)


def _satisfied(kind: Any, status: Any) -> Any:
    """Whether a run that ended in ``status`` satisfies an edge of ``kind`` (``SATISFYING``)."""
    return or_(
        *(
            and_(kind == edge.value, status.in_(sorted(end.value for end in ends)))
            for edge, ends in SATISFYING.items()
        )
    )


_ended = runs.alias("ended")
_other = job_edges.alias("other")
_peer = runs.alias("peer")
# An upstream of the downstream (fallbacks aside) with no run at the ended run's instant in
# the state its edge needs: the downstream waits for it.
_UNMET = (
    select(_other.c.upstream_job_id)
    .where(_other.c.downstream_job_id == job_edges.c.downstream_job_id)
    .where(_other.c.kind != EdgeKind.FALLBACK.value)
    .where(
        ~exists(
            select(_peer.c.id)
            .where(_peer.c.job_id == _other.c.upstream_job_id)
            .where(_peer.c.scheduled_for == _ended.c.scheduled_for)
            .where(_satisfied(_other.c.kind, _peer.c.status))
        )
    )
)
_NOW = bindparam("now", type_=UtcDateTime())
_FIRED = (
    select(
        job_edges.c.downstream_job_id,
        _ended.c.scheduled_for,
        literal(Trigger.DEPENDENCY.value),
        literal(RunStatus.PENDING.value),
        func.min(jobs.c.queue),
        func.min(jobs.c.priority),
        _NOW,
        func.min(jobs.c.spec["retry"]["max_attempts"].as_integer()),
        func.max(_ended.c.id),  # the last of the runs it waited for: the one that fired it
        _NOW,
    )
    .select_from(_ended)
    .join(job_edges, job_edges.c.upstream_job_id == _ended.c.job_id)
    .join(jobs, jobs.c.id == job_edges.c.downstream_job_id)
    .where(_ended.c.id.in_(bindparam("ended", expanding=True)), job_edges.c.is_trigger)
    .where(_satisfied(job_edges.c.kind, _ended.c.status))
    .where(jobs.c.deleted_at.is_(None), jobs.c.is_enabled)
    .where(or_(job_edges.c.kind == EdgeKind.FALLBACK.value, ~exists(_UNMET)))
    .group_by(job_edges.c.downstream_job_id, _ended.c.scheduled_for)
)
_FIRED_COLUMNS = (
    "job_id",
    "scheduled_for",
    "trigger",
    "status",
    "queue",
    "priority",
    "not_before",
    "max_attempts",
    "upstream_run_id",
    "created_at",
)
# The downstream jobs of the ended runs' jobs, locked in id order.
_CANDIDATES = (
    select(jobs.c.id)
    .where(
        jobs.c.id.in_(
            select(job_edges.c.downstream_job_id)
            .join(runs, runs.c.job_id == job_edges.c.upstream_job_id)
            .where(runs.c.id.in_(bindparam("ended", expanding=True)))
        )
    )
    .order_by(jobs.c.id)
    .with_for_update()
)


def fire_downstreams(connection: Connection, run_ids: Sequence[int], now: datetime) -> list[int]:
    """Make the runs of the downstream jobs that these ended runs satisfy, claimable at
    ``now``, and signal workers; returns their ids. Call it in the transaction that ends the
    runs. Due runs of downstream jobs with schedules of their own that wait for these runs
    are decided too (``gate_waiting``), so they start, or are skipped, with the end.

    The candidate downstream jobs are locked first: two transactions each ending one of a
    job's two upstream runs then take turns, and the second sees the first's run ended (its
    statements read what committed before them), so one of them fires the downstream. A
    downstream that is paused or deleted gets no run.
    """
    if not run_ids:
        return []
    params = {"ended": list(run_ids), "now": now}
    candidates = list(connection.execute(_CANDIDATES, params).scalars())
    if not candidates:
        return []
    made = insert_select_ignoring_conflicts(
        connection, runs, _FIRED_COLUMNS, _FIRED, params, on=("job_id", "scheduled_for")
    )
    if made:
        notify(connection, RUNS)
    gate_waiting(connection, now, candidates)
    return made
