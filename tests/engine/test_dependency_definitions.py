"""Dependencies are checked when jobs are defined, against every live job with the change
applied, in the writing transaction: a refused change stores nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from cronwell.app import Cronwell
from cronwell.spec import JobSpec, SpecError
from cronwell.store.tables import job_edges, jobs

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def spec(name: str, **fields: Any) -> JobSpec:
    return JobSpec.parse({"name": name, "command": "true", **fields})


def stored(app: Cronwell) -> tuple[list[str], list[tuple[str, str, str, bool]]]:
    """The live jobs' names and the stored edges, (upstream, downstream, kind, is_trigger)."""
    with app.database.transaction(write=False) as connection:
        names = dict(connection.execute(select(jobs.c.id, jobs.c.name)).all())
        live = connection.execute(
            select(jobs.c.name).where(jobs.c.deleted_at.is_(None)).order_by(jobs.c.name)
        )
        edges = connection.execute(select(job_edges)).all()
    found = sorted((names[e[0]], names[e[1]], e[2], e[3]) for e in edges)
    return list(live.scalars()), found


def refused(call: Any) -> list[str]:
    with pytest.raises(SpecError) as raised:
        call()
    return [f"{place}: {problem}" for place, problem in raised.value.problems]


def test_schedule_keeps_the_edges_of_a_chain(app: Cronwell) -> None:
    app.schedule(command="true", name="page")
    app.schedule(command="true", schedule="0 3 * * *", name="extract", fallback=["page"])
    app.schedule(command="true", name="transform", depends_on=["extract"])
    assert stored(app)[1] == [
        ("extract", "page", "fallback", True),
        ("extract", "transform", "success", True),
    ]
    assert app.topological_order() == ["extract", "page", "transform"]


def test_schedule_refuses_an_unknown_upstream_and_stores_nothing(app: Cronwell) -> None:
    problems = refused(lambda: app.schedule(command="true", name="t", depends_on=["nope"]))
    assert problems == ["depends_on[0].job: no job named 'nope'"]
    assert stored(app) == ([], [])


def test_schedule_refuses_a_self_dependency(app: Cronwell) -> None:
    problems = refused(lambda: app.schedule(command="true", name="t", depends_on=["t"]))
    assert problems == ["depends_on[0].job: 't' cannot depend on itself"]
    assert stored(app) == ([], [])


def test_update_refuses_a_cycle_naming_it_and_keeps_the_old_version(app: Cronwell) -> None:
    app.schedule(command="true", name="extract")
    app.schedule(command="true", name="transform", depends_on=["extract"])
    update = lambda: app.update_schedule("extract", depends_on=["transform"])  # noqa: E731
    assert refused(update) == ["depends_on: cycle: extract -> transform -> extract"]
    assert app.get_schedule("extract").version == 1
    assert stored(app)[1] == [("extract", "transform", "success", True)]


def test_update_that_gives_a_schedule_makes_the_edge_wait_rather_than_fire(app: Cronwell) -> None:
    app.schedule(command="true", name="extract")
    app.schedule(command="true", name="report", depends_on=["extract"])
    app.update_schedule("report", schedule="30 6 * * *")
    assert stored(app)[1] == [("extract", "report", "success", False)]
    app.update_schedule("report", depends_on=[])
    assert stored(app)[1] == []


def test_apply_takes_jobs_that_name_each_other_in_any_order(app: Cronwell) -> None:
    app.apply(
        [
            spec("load", depends_on=["transform"]),
            spec("transform", depends_on=[{"job": "extract", "on": "completion"}]),
            spec("extract", schedule="0 3 * * *"),
        ]
    )
    assert app.topological_order() == ["extract", "transform", "load"]
    assert stored(app)[1] == [
        ("extract", "transform", "completion", True),
        ("transform", "load", "success", True),
    ]


def test_apply_refuses_a_cycle_with_the_place_in_the_file(app: Cronwell) -> None:
    specs = [spec("transform", depends_on=["extract"]), spec("extract", depends_on=["transform"])]
    assert refused(lambda: app.apply(specs)) == [
        "jobs[1].depends_on: cycle: extract -> transform -> extract"
    ]
    assert stored(app) == ([], [])


def test_apply_dry_run_checks_too(app: Cronwell) -> None:
    problems = refused(lambda: app.apply([spec("t", fallback=["x"])], dry_run=True))
    assert problems == ["jobs[0].fallback[0]: no job named 'x'"]


def test_deleting_a_job_others_need_is_refused_naming_them(app: Cronwell) -> None:
    app.schedule(command="true", name="extract")
    app.schedule(command="true", name="transform", depends_on=["extract"])
    app.schedule(command="true", name="audit", depends_on=[{"job": "extract", "on": "failure"}])
    assert refused(lambda: app.delete_schedule("extract")) == [
        "extract: cannot be deleted: needed by audit, transform"
    ]
    assert stored(app)[0] == ["audit", "extract", "transform"]
    app.delete_schedule("audit")
    app.delete_schedule("transform")
    app.delete_schedule("extract")
    assert stored(app) == ([], [])


def test_deleting_a_fallback_its_job_names_is_refused(app: Cronwell) -> None:
    app.schedule(command="true", name="page")
    app.schedule(command="true", name="extract", fallback=["page"])
    assert refused(lambda: app.delete_schedule("page")) == [
        "page: cannot be deleted: needed by extract"
    ]


def test_prune_refuses_to_delete_what_a_staying_job_needs_unless_it_goes_too(
    app: Cronwell,
) -> None:
    app.apply([spec("extract"), spec("transform", depends_on=["extract"]), spec("other")])
    with pytest.raises(SpecError, match="extract: cannot be deleted: needed by transform"):
        app.apply([spec("transform", depends_on=["extract"])], prune=True)
    assert stored(app)[0] == ["extract", "other", "transform"]
    plan = app.apply([spec("other")], prune=True)
    assert plan.delete == ("extract", "transform")
    assert stored(app) == (["other"], [])


def test_a_rollback_brings_its_version_s_edges_back_and_cannot_make_a_cycle(
    app: Cronwell,
) -> None:
    app.schedule(command="true", name="extract")
    app.schedule(command="true", name="transform", depends_on=["extract"])
    app.update_schedule("transform", depends_on=[])
    app.update_schedule("extract", depends_on=["transform"])
    assert refused(lambda: app.rollback("transform", 1)) == [
        "depends_on: cycle: extract -> transform -> extract"
    ]
    assert stored(app)[1] == [("transform", "extract", "success", True)]
    app.update_schedule("extract", depends_on=[])
    app.rollback("transform", 1)
    assert stored(app)[1] == [("extract", "transform", "success", True)]


def test_a_template_that_gives_its_jobs_a_schedule_makes_their_edges_wait(
    app: Cronwell,
) -> None:
    app.create_template("nightly")
    app.schedule(command="true", name="extract")
    app.schedule(command="true", name="report", template="nightly", depends_on=["extract"])
    assert stored(app)[1] == [("extract", "report", "success", True)]
    app.update_template("nightly", schedule="30 6 * * *")
    assert stored(app)[1] == [("extract", "report", "success", False)]
