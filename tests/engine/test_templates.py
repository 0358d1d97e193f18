"""Templates over real stores: jobs start from a template's fields, override some, and follow
the template when it changes, each change a new version of the job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cronwell.app import Cronwell, TemplateExists, TemplateInUse, TemplateNotFound
from cronwell.policies import RetryStrategy
from cronwell.spec import JobSpec, SpecError
from cronwell.store.tables import job_edges
from cronwell.templates import Template

NOW = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
NIGHTLY = {
    "schedule": "30 2 * * *",
    "timezone": "Europe/Berlin",
    "retry": {"strategy": "fixed", "initial_delay": "1m", "max_attempts": 5},
    "queue": "nightly",
    "tags": ["ops"],
    "timeout": "1h",
}


@pytest.fixture
def nightly(app: Cronwell) -> Template:
    return app.create_template("nightly", description="the 02:30 batch", **NIGHTLY)


def test_a_job_takes_its_templates_fields_and_overrides_some(
    app: Cronwell, nightly: Template
) -> None:
    job_id = app.schedule(
        command="backup.sh",
        name="backup",
        template="nightly",
        retry={"max_attempts": 2},
        tags=["backups"],
    )
    spec = app.get_schedule(job_id).spec
    assert (spec.queue, spec.timezone, spec.timeout) == (
        "nightly",
        "Europe/Berlin",
        timedelta(hours=1),
    )
    # A mapping field is merged key by key; tags add up.
    assert spec.retry.strategy is RetryStrategy.FIXED
    assert (spec.retry.max_attempts, spec.retry.initial_delay) == (2, timedelta(minutes=1))
    assert spec.tags == ("ops", "backups")
    # 02:30 Berlin is 00:30 UTC before the clocks go forward on the 29th.
    assert app.get_schedule(job_id).next_due_at == datetime(2026, 3, 28, 1, 30, tzinfo=UTC)
    assert spec.template == "nightly"
    assert dict(spec.overrides) == {
        "command": "backup.sh",
        "retry": {"max_attempts": 2},
        "tags": ["backups"],
    }


def test_changing_a_template_reversions_the_jobs_that_use_it(
    app: Cronwell, nightly: Template
) -> None:
    backup = app.schedule(command="backup.sh", name="backup", template="nightly")
    own = app.schedule(command="sync.sh", name="sync", template="nightly", queue="sync")
    alone = app.schedule(command="true", name="alone", schedule="every 5m")
    changed = app.update_template("nightly", schedule="0 4 * * *", queue="batch")
    assert sorted(changed) == ["backup", "sync"]
    first, second = app.get_schedule(backup), app.get_schedule(own)
    assert (first.version, first.spec.schedule_source, first.spec.queue) == (
        2,
        "0 4 * * *",
        "batch",
    )
    # What the job set itself stays its own; what it took from the template follows it.
    assert (second.version, second.spec.queue) == (2, "sync")
    assert second.spec.schedule_source == "0 4 * * *"
    assert app.get_schedule(alone).version == 1
    latest = app.list_versions(backup)[-1]
    assert (latest.number, latest.action, latest.message) == (
        2,
        "update",
        "template nightly changed",
    )
    assert '-  "schedule": "30 2 * * *",' in app.diff_versions(backup, 1, 2)
    assert first.next_due_at == datetime(2026, 3, 28, 3, 0, tzinfo=UTC)  # from now: no misfire


def test_a_template_change_that_changes_no_job_makes_no_version(
    app: Cronwell, nightly: Template
) -> None:
    backup = app.schedule(command="backup.sh", name="backup", template="nightly", queue="mine")
    assert app.update_template("nightly", queue="other") == []
    assert app.get_schedule(backup).version == 1


def test_a_template_change_that_breaks_a_job_changes_nothing(
    app: Cronwell, nightly: Template
) -> None:
    app.schedule(command="backup.sh", name="backup", template="nightly")
    with pytest.raises(SpecError, match=r"jobs\.backup\.heartbeat_timeout: a command cannot"):
        app.update_template("nightly", heartbeat_timeout="5m")
    assert "heartbeat_timeout" not in app.get_template("nightly").fields
    assert app.get_schedule("backup").version == 1


def test_updating_a_job_keeps_its_template_and_leaving_it_keeps_its_fields(
    app: Cronwell, nightly: Template
) -> None:
    app.schedule(command="backup.sh", name="backup", template="nightly")
    updated = app.update_schedule("backup", timeout="2h")
    assert (updated.spec.template, updated.spec.timeout) == ("nightly", timedelta(hours=2))
    assert dict(updated.spec.overrides) == {"command": "backup.sh", "timeout": "2h"}
    left = app.update_schedule("backup", template=None)
    assert (left.spec.template, dict(left.spec.overrides)) == (None, {})
    assert (left.spec.queue, left.spec.schedule_source) == ("nightly", "30 2 * * *")
    app.update_template("nightly", queue="elsewhere")
    assert app.get_schedule("backup").spec.queue == "nightly", "it left the template"


def test_bad_templates_and_unknown_ones_are_refused(app: Cronwell, nightly: Template) -> None:
    with pytest.raises(TemplateExists):
        app.create_template("nightly", queue="x")
    with pytest.raises(SpecError, match="schedule: minute field: 61 is out of range"):
        app.create_template("bad", schedule="61 * * * *")
    with pytest.raises(SpecError, match="template: a template cannot set it"):
        Template.parse({"name": "t", "template": "other"})
    with pytest.raises(SpecError, match="template: no template named 'nope'"):
        app.schedule(command="true", name="orphan", template="nope")
    with pytest.raises(TemplateNotFound):
        app.update_template("nope", queue="x")
    assert [template.name for template in app.list_templates()] == ["nightly"]
    assert app.list_schedules() == []


def test_a_template_in_use_is_not_deleted(app: Cronwell, nightly: Template) -> None:
    app.schedule(command="backup.sh", name="backup", template="nightly")
    with pytest.raises(TemplateInUse, match="used by backup"):
        app.delete_template("nightly")
    app.delete_schedule("backup")
    app.delete_template("nightly")
    assert app.list_templates() == []


def test_apply_stores_templates_and_follows_them(app: Cronwell) -> None:
    first = Template.parse({"name": "hourly", "schedule": "every 1h", "queue": "q1"})
    job = app.schedule(command="a.sh", name="a")  # a job the file does not name
    plan = app.apply([], templates=[first])
    assert plan.templates == ("hourly",)
    app.update_schedule(job, template="hourly")
    assert app.get_schedule("a").spec.queue == "q1"
    again = app.apply([], templates=[first])
    assert (again.templates, again.update) == ((), ())
    moved = Template.parse({"name": "hourly", "schedule": "every 1h", "queue": "q2"})
    dry = app.apply([], templates=[moved], dry_run=True)
    assert [spec.name for spec in dry.update] == ["a"]
    assert app.get_template("hourly").fields["queue"] == "q1", "a dry run changes nothing"
    app.apply([], templates=[moved])
    assert (app.get_schedule("a").spec.queue, app.get_schedule("a").version) == ("q2", 3)


def test_a_template_that_drops_a_dependency_drops_its_edge(app: Cronwell) -> None:
    app.create_template("chained", depends_on=["up"])
    app.schedule(command="true", name="up")
    app.schedule(command="true", name="down", template="chained")
    assert edges(app) == [("success", True)]
    app.update_template("chained", depends_on=None)
    assert app.get_schedule("down").spec.depends_on == ()
    assert edges(app) == [], "down would still fire from up"


def test_apply_from_python_makes_a_job_from_the_template_it_names(app: Cronwell) -> None:
    app.create_template("hourly", schedule="every 1h", queue="q1")
    app.apply([JobSpec.parse({"name": "a", "command": "true", "template": "hourly"})])
    spec = app.get_schedule("a").spec
    assert (spec.queue, spec.schedule_source, dict(spec.overrides)) == (
        "q1",
        "every 1h",
        {"command": "true"},
    )
    assert app.update_template("hourly", queue="q2") == ["a"]
    assert app.get_schedule("a").spec.queue == "q2"
    again = app.apply([JobSpec.parse({"name": "a", "command": "true", "template": "hourly"})])
    assert again.unchanged == ("a",)
    with pytest.raises(SpecError, match=r"jobs\[0\]\.template: no template named 'nope'"):
        app.apply([JobSpec.parse({"name": "b", "command": "true", "template": "nope"})])


def edges(app: Cronwell) -> list[tuple[str, bool]]:
    with app.database.transaction(write=False) as connection:
        rows = connection.execute(select(job_edges.c.kind, job_edges.c.is_trigger))
        return [(row.kind, row.is_trigger) for row in rows]
