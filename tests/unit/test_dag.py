"""The dependency graph: edges, order, and the definitions it refuses, each with its place."""

from __future__ import annotations

from typing import Any

import pytest

from cronwell.dag import Edge, EdgeKind, GateDecision, Upstream, build_graph, dependents, gate
from cronwell.spec import JobSpec, On, SpecError


def job(name: str, **fields: Any) -> JobSpec:
    return JobSpec.parse({"name": name, "command": "true", **fields})


def problems(specs: list[JobSpec], places: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(SpecError) as raised:
        build_graph(specs, places)
    return [f"{place}: {problem}" for place, problem in raised.value.problems]


def test_a_bare_name_is_an_on_success_dependency() -> None:
    spec = job("transform", depends_on=["extract", {"job": "audit", "on": "completion"}])
    assert [(each.job, each.on) for each in spec.depends_on] == [
        ("extract", On.SUCCESS),
        ("audit", On.COMPLETION),
    ]


def test_edges_point_from_upstream_to_downstream_and_fallbacks_fire() -> None:
    graph = build_graph(
        [
            job("extract", schedule="0 3 * * *", fallback=["page"]),
            job("transform", depends_on=["extract"]),
            job("report", schedule="30 6 * * *", depends_on=[{"job": "extract", "on": "failure"}]),
            job("page"),
        ]
    )
    assert graph.downstreams("extract") == [
        Edge("extract", "page", EdgeKind.FALLBACK, is_trigger=True),
        Edge("extract", "report", EdgeKind.FAILURE, is_trigger=False),  # has its own schedule
        Edge("extract", "transform", EdgeKind.SUCCESS, is_trigger=True),
    ]
    assert graph.upstreams("transform") == [Edge("extract", "transform", EdgeKind.SUCCESS, True)]


def test_the_order_puts_every_job_after_its_upstreams_ties_by_name() -> None:
    graph = build_graph(
        [
            job("load", depends_on=["transform", "audit"]),
            job("transform", depends_on=["extract"]),
            job("extract"),
            job("audit"),
            job("zeta"),
            job("alpha", fallback=["load"]),
        ]
    )
    assert graph.order() == ["alpha", "audit", "extract", "transform", "load", "zeta"]


def test_a_cycle_is_named_in_order_from_its_first_job() -> None:
    specs = [
        job("transform", depends_on=["extract"]),
        job("extract", depends_on=["transform"]),
        job("other"),
    ]
    assert problems(specs) == ["depends_on: cycle: extract -> transform -> extract"]


def test_a_longer_cycle_through_a_fallback_gets_the_place_of_its_first_job() -> None:
    specs = [
        job("b", depends_on=["a"]),
        job("c", depends_on=[{"job": "b", "on": "completion"}], fallback=["a"]),
        job("a"),
    ]
    found = problems(specs, {"a": "jobs[2]", "b": "jobs[0]", "c": "jobs[1]"})
    assert found == ["jobs[2].depends_on: cycle: a -> b -> c -> a"]


def test_unknown_jobs_and_self_dependencies_are_each_named() -> None:
    specs = [
        job("transform", depends_on=["extract", "transform"], fallback=["pager", "transform"]),
    ]
    assert problems(specs, {"transform": "jobs[0]"}) == [
        "jobs[0].depends_on[0].job: no job named 'extract'",
        "jobs[0].depends_on[1].job: 'transform' cannot depend on itself",
        "jobs[0].fallback[0]: no job named 'pager'",
        "jobs[0].fallback[1]: 'transform' cannot be its own fallback",
    ]


def test_a_job_named_twice_in_depends_on_is_refused() -> None:
    with pytest.raises(SpecError, match=r"depends_on: 'extract' named more than once"):
        job("transform", depends_on=["extract", {"job": "extract", "on": "failure"}])


def test_an_unknown_kind_of_dependency_is_refused() -> None:
    with pytest.raises(SpecError, match=r"depends_on\[0\]\.on: Input should be 'success'"):
        job("transform", depends_on=[{"job": "extract", "on": "finished"}])


def test_dependents_are_the_jobs_outside_the_set_that_name_it() -> None:
    specs = [
        job("extract", fallback=["page"]),
        job("transform", depends_on=["extract"]),
        job("load", depends_on=["transform"]),
        job("page"),
    ]
    assert dependents(specs, {"extract", "page"}) == {"extract": ["transform"]}
    assert dependents(specs, {"transform", "load"}) == {}
    assert dependents(specs, {"page"}) == {"page": ["extract"]}


def test_the_new_fields_round_trip_through_the_canonical_form() -> None:
    spec = job("t", depends_on=[{"job": "a", "on": "failure"}], fallback=["b"], wait_timeout="5m")
    stored = spec.canonical()
    assert stored["depends_on"] == [{"job": "a", "on": "failure"}]
    assert stored["fallback"] == ["b"]
    assert stored["wait_timeout"] == 300.0
    assert JobSpec.from_canonical(stored) == spec


def test_a_stored_form_from_before_dependencies_loads_with_the_defaults() -> None:
    stored = job("t").canonical()
    for key in ("depends_on", "fallback", "wait_timeout"):
        del stored[key]
    loaded = JobSpec.from_canonical(stored)
    assert (loaded.depends_on, loaded.fallback) == ((), ())
    assert loaded.wait_timeout.total_seconds() == 3600


def test_a_yaml_on_key_read_as_true_still_means_on() -> None:
    spec = job("transform", depends_on=[{"job": "extract", True: "failure"}])
    assert spec.depends_on[0].on is On.FAILURE


def test_the_gate_of_a_scheduled_run_waits_skips_or_lets_it_run() -> None:
    done = Upstream("cleanup", EdgeKind.SUCCESS, "succeeded")
    busy = Upstream("vacuum", EdgeKind.COMPLETION, "running")
    dead = Upstream("backup", EdgeKind.SUCCESS, "dead")
    never = Upstream("export", EdgeKind.FAILURE, None)
    assert gate([done], is_past_deadline=False) == GateDecision("pending")
    assert gate([], is_past_deadline=True) == GateDecision("pending")
    assert gate([done, busy], is_past_deadline=False) == GateDecision(
        "waiting", "waiting for upstream: vacuum"
    )
    assert gate([done, busy], is_past_deadline=True) == GateDecision(
        "skipped", "dependency not met: vacuum unfinished"
    )
    assert gate([busy, dead, never], is_past_deadline=False) == GateDecision(
        "skipped",
        "dependency not met: backup's latest run ended dead (on: success); "
        "export has no run since the previous due time",
    )
    for status in ("skipped", "cancelled"):
        skipped = Upstream("cleanup", EdgeKind.COMPLETION, status)
        assert gate([skipped], is_past_deadline=False).status == "skipped"
