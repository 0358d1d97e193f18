"""The dependency graph of a set of job definitions: validation, cycles, order (pure).

An edge points the way work flows, from the upstream job to the downstream one: ``depends_on``
entries of the downstream job, and ``fallback`` entries of the upstream job (a job that runs
when the upstream's run ends dead). A graph is valid when every edge names a job of the set,
no job depends on itself and no path leads back to where it started.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cronwell.lifecycle import ACTIVE, RunStatus
from cronwell.schedules import ManualSchedule
from cronwell.spec import JobSpec, SpecError


class EdgeKind(StrEnum):
    """An edge's kind: the ``on`` of a ``depends_on`` entry, or ``fallback``."""

    SUCCESS = "success"
    FAILURE = "failure"
    COMPLETION = "completion"
    FALLBACK = "fallback"  # the upstream's run ended dead; fires alone, never waits for others


@dataclass(frozen=True, slots=True, order=True)
class Edge:
    upstream: str
    downstream: str
    kind: EdgeKind
    is_trigger: bool = False  # the upstream's run ending makes the downstream's run


@dataclass(frozen=True, slots=True)
class Graph:
    """A valid graph: ``jobs`` by name, ``edges`` sorted."""

    jobs: tuple[str, ...]
    edges: tuple[Edge, ...]

    def upstreams(self, job: str) -> list[Edge]:
        """The edges into ``job``: what it waits for."""
        return [edge for edge in self.edges if edge.downstream == job]

    def downstreams(self, job: str) -> list[Edge]:
        """The edges out of ``job``: what waits for it."""
        return [edge for edge in self.edges if edge.upstream == job]

    def order(self) -> list[str]:
        """Every job after all its upstreams; among jobs free to come next, by name."""
        waiting = dict.fromkeys(self.jobs, 0)
        for edge in self.edges:
            waiting[edge.downstream] += 1
        ready = [job for job, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        after: dict[str, list[str]] = {job: [] for job in self.jobs}
        for edge in self.edges:
            after[edge.upstream].append(edge.downstream)
        ordered: list[str] = []
        while ready:
            job = heapq.heappop(ready)
            ordered.append(job)
            for downstream in after[job]:
                waiting[downstream] -= 1
                if waiting[downstream] == 0:
                    heapq.heappush(ready, downstream)
        return ordered


def edges_of(spec: JobSpec) -> list[Edge]:
    """The edges a definition declares. A ``depends_on`` edge fires the downstream's run only
    when the downstream has no schedule of its own; a fallback edge always does."""
    is_manual = isinstance(spec.schedule, ManualSchedule)
    found = [
        Edge(each.job, spec.name, EdgeKind(each.on.value), is_trigger=is_manual)
        for each in spec.depends_on
    ]
    found += [Edge(spec.name, name, EdgeKind.FALLBACK, is_trigger=True) for name in spec.fallback]
    return found


def has_edges(spec: JobSpec) -> bool:
    return bool(spec.depends_on or spec.fallback)


def build_graph(specs: Iterable[JobSpec], places: Mapping[str, str] | None = None) -> Graph:
    """The graph of ``specs``, or a SpecError naming every unknown job, self-dependency and
    cycle. ``places`` says where each job was written (``jobs[2]``), for the problems' places.
    """
    by_name = {spec.name: spec for spec in specs}
    places = places or {}
    problems = [
        problem
        for name in sorted(by_name)
        for problem in _problems(by_name[name], by_name, places.get(name, ""))
    ]
    if problems:
        raise SpecError(problems)
    graph = Graph(
        tuple(sorted(by_name)), tuple(sorted(e for s in by_name.values() for e in edges_of(s)))
    )
    cycle = find_cycle(graph)
    if cycle:
        place = _join(places.get(cycle[0], ""), "depends_on")
        raise SpecError([(place, f"cycle: {' -> '.join(cycle)}")])
    return graph


def _problems(spec: JobSpec, by_name: Mapping[str, JobSpec], place: str) -> list[tuple[str, str]]:
    found = []
    for index, each in enumerate(spec.depends_on):
        where = _join(place, f"depends_on[{index}].job")
        if each.job == spec.name:
            found.append((where, f"{spec.name!r} cannot depend on itself"))
        elif each.job not in by_name:
            found.append((where, f"no job named {each.job!r}"))
    for index, name in enumerate(spec.fallback):
        where = _join(place, f"fallback[{index}]")
        if name == spec.name:
            found.append((where, f"{spec.name!r} cannot be its own fallback"))
        elif name not in by_name:
            found.append((where, f"no job named {name!r}"))
    return found


def find_cycle(graph: Graph) -> list[str]:
    """A cycle as the path that closes it (``a -> b -> a``), starting at its first job by
    name; empty when there is none. Jobs are visited by name, so the answer is stable."""
    after = _after(graph)
    done: set[str] = set()
    for root in graph.jobs:
        if root in done:
            continue
        path, stack = [root], [iter(after[root])]  # depth first, without recursion
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                done.add(path.pop())
            elif nxt in path:
                return _rotated(path[path.index(nxt) :])
            elif nxt not in done:
                path.append(nxt)
                stack.append(iter(after[nxt]))
    return []


def _after(graph: Graph) -> dict[str, list[str]]:
    after: dict[str, set[str]] = {job: set() for job in graph.jobs}
    for edge in graph.edges:
        after[edge.upstream].add(edge.downstream)
    return {job: sorted(found) for job, found in after.items()}


def _rotated(cycle: list[str]) -> list[str]:
    start = cycle.index(min(cycle))
    ordered = cycle[start:] + cycle[:start]
    return [*ordered, ordered[0]]


def dependents(specs: Iterable[JobSpec], names: set[str]) -> dict[str, list[str]]:
    """For each job of ``names``, the jobs outside ``names`` whose edges name it."""
    found: dict[str, set[str]] = {}
    for spec in specs:
        if spec.name in names:
            continue
        for edge in edges_of(spec):
            for end in (edge.upstream, edge.downstream):
                if end in names:
                    found.setdefault(end, set()).add(spec.name)
    return {name: sorted(found[name]) for name in sorted(found)}


def _join(*parts: str) -> str:
    return ".".join(part for part in parts if part)


WAITING_FOR_UPSTREAM = "waiting for upstream"  # the reason of a run held by its upstreams
NOT_MET = "dependency not met"  # the reason of a run skipped for them

# The ends of an upstream run that satisfy each kind of edge: the one source for the gate, the
# runs an end fires (``cronwell.store.edges``) and the ends that look for downstreams at all.
# Skipped and cancelled runs satisfy none: nothing ran, so nothing downstream has its input.
SATISFYING: Mapping[EdgeKind, frozenset[RunStatus]] = {
    EdgeKind.SUCCESS: frozenset({RunStatus.SUCCEEDED}),
    EdgeKind.FAILURE: frozenset({RunStatus.DEAD}),
    EdgeKind.COMPLETION: frozenset({RunStatus.SUCCEEDED, RunStatus.DEAD}),
    EdgeKind.FALLBACK: frozenset({RunStatus.DEAD}),
}


@dataclass(frozen=True, slots=True)
class Upstream:
    """What a gated run's upstream did since the job's previous due time: the status of its
    latest run then (None: no run at all)."""

    job: str
    kind: EdgeKind
    status: str | None


@dataclass(frozen=True, slots=True)
class GateDecision:
    """What becomes of a due run of a job with a schedule and dependencies: ``status`` is
    ``pending``, ``waiting`` or ``skipped``, with the reason of the last two."""

    status: str
    reason: str | None = None


def gate(upstreams: Sequence[Upstream], *, is_past_deadline: bool) -> GateDecision:
    """Pending when every upstream's latest run ended as its edge requires; skipped when one
    cannot any more (no run, or it ended otherwise), or when one is still unfinished at the
    deadline; waiting, naming the unfinished ones, until then."""
    unmet = [_unmet(each) for each in upstreams if each.status not in ACTIVE]
    unmet = [problem for problem in unmet if problem]
    if unmet:
        return GateDecision("skipped", f"{NOT_MET}: {'; '.join(unmet)}")
    unfinished = [each.job for each in upstreams if each.status in ACTIVE]
    if not unfinished:
        return GateDecision("pending")
    if is_past_deadline:
        return GateDecision("skipped", f"{NOT_MET}: {', '.join(unfinished)} unfinished")
    return GateDecision("waiting", f"{WAITING_FOR_UPSTREAM}: {', '.join(unfinished)}")


def _unmet(upstream: Upstream) -> str:
    if upstream.status is None:
        return f"{upstream.job} has no run since the previous due time"
    if upstream.status in SATISFYING[upstream.kind]:
        return ""
    return f"{upstream.job}'s latest run ended {upstream.status} (on: {upstream.kind})"
