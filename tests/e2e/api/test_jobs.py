"""Jobs over HTTP: define, list, read, replace, change and delete jobs, with the roles that
may, over a real server and a real store of each dialect."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cronwell.auth import Role
from tests.e2e.api.conftest import Served
from tests.e2e.api.jobs import define, definition, refused

REPORT = "tests.e2e.api.tasks:report"


# --- create ---------------------------------------------------------------------------------


def test_an_operator_creates_a_job_and_gets_it_back_in_canonical_form(
    operator: httpx.Client,
) -> None:
    created = define(operator, kwargs={"limit": 3}, tags=["nightly"])
    assert created["name"] == "nightly"
    assert created["version"] == 1
    assert created["task"] == REPORT  # the registered name, stored as the path workers import
    assert created["next_due_at"] == "2026-03-03T02:00:00Z"
    assert created["definition"]["kwargs"] == {"limit": 3}
    assert created["definition"]["retry"]["max_attempts"] == 3  # defaults included
    assert operator.get("/jobs/nightly").json() == created


def test_a_definitions_secrets_are_shown_masked_and_kept(
    served: Served, admin: httpx.Client, operator: httpx.Client
) -> None:
    created = define(admin, kwargs={"limit": 3, "api_key": "abc"}, env={"DB_PASSWORD": "pw"})
    assert created["definition"]["kwargs"] == {"limit": 3, "api_key": "***"}
    assert created["definition"]["env"] == {"DB_PASSWORD": "***"}
    shown = operator.get("/jobs/nightly/versions/1").json()["definition"]
    assert (shown["kwargs"]["api_key"], shown["env"]["DB_PASSWORD"]) == ("***", "***")
    assert served.app.get_schedule("nightly").spec.kwargs["api_key"] == "abc"


def test_a_definition_read_and_sent_back_whole_keeps_its_secrets(
    served: Served, admin: httpx.Client
) -> None:
    define(admin, kwargs={"limit": 3, "api_key": "abc"}, env={"DB_PASSWORD": "pw"})
    shown = admin.get("/jobs/nightly").json()["definition"]
    shown["kwargs"]["limit"] = 4
    assert admin.put("/jobs/nightly", json=shown).status_code == 200
    stored = served.app.get_schedule("nightly").spec
    assert dict(stored.kwargs) == {"limit": 4, "api_key": "abc"}
    assert dict(stored.env) == {"DB_PASSWORD": "pw"}
    shown["kwargs"]["api_key"] = "new"  # a value sent in clear replaces the secret
    assert admin.put("/jobs/nightly", json=shown).status_code == 200
    assert served.app.get_schedule("nightly").spec.kwargs["api_key"] == "new"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"schedule": "61 * * * *"}, "schedule"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"task": "no_such_task"}, "task"),
        ({"retry": {"max_attempts": 0}}, "retry.max_attempts"),
        ({"template": "no\u0000such"}, "template"),  # PostgreSQL cannot even look it up
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_definition_answers_422_naming_the_field(
    admin: httpx.Client, fields: dict[str, Any], field: str
) -> None:
    refused(admin.post("/jobs", json=definition(**fields)), 422, "invalid", field)
    assert admin.get("/jobs").json()["total"] == 0


def test_a_dependency_cycle_answers_422_naming_depends_on(admin: httpx.Client) -> None:
    define(admin, "extract")
    define(admin, "load", depends_on=["extract"])
    response = admin.patch("/jobs/extract", json={"changes": {"depends_on": ["load"]}})
    assert response.status_code == 422
    assert response.json()["field"].endswith("depends_on")
    assert response.json()["code"] == "invalid"


def test_a_taken_name_answers_409(operator: httpx.Client) -> None:
    define(operator)
    refused(operator.post("/jobs", json=definition()), 409, "exists", "name")


def test_only_an_admin_may_define_a_command_or_an_unregistered_task(
    admin: httpx.Client, operator: httpx.Client
) -> None:
    command = {"name": "shell", "command": "true", "schedule": "@daily"}
    refused(operator.post("/jobs", json=command), 403, "forbidden", "command")
    dotted = definition("dotted", task="json:dumps")
    refused(operator.post("/jobs", json=dotted), 403, "forbidden", "task")
    assert admin.post("/jobs", json=command).status_code == 201
    assert admin.post("/jobs", json=dotted).status_code == 201


def test_a_command_a_template_gives_is_an_admins_alone_too(
    served: Served, operator: httpx.Client
) -> None:
    served.app.create_template("shell", command="true", schedule="@daily")
    body = {"name": "cleanup", "template": "shell"}
    refused(operator.post("/jobs", json=body), 403, "forbidden", "command")
    assert served.client(Role.ADMIN).post("/jobs", json=body).status_code == 201


def test_a_viewer_may_not_create(viewer: httpx.Client) -> None:
    refused(viewer.post("/jobs", json=definition()), 403, "forbidden", None)


# --- list and read --------------------------------------------------------------------------


def test_the_list_filters_by_status_tags_queue_and_name(
    operator: httpx.Client, viewer: httpx.Client
) -> None:
    define(operator, "nightly-report", tags=["report", "nightly"], queue="slow")
    define(operator, "hourly-report", tags=["report"])
    define(operator, "Nightly-sync", task="sync", tags=["nightly"])
    operator.post("/jobs/hourly-report/pause")

    def names(**params: Any) -> list[str]:
        response = viewer.get("/jobs", params=params)
        assert response.status_code == 200, response.text
        return [item["name"] for item in response.json()["items"]]

    assert names() == ["Nightly-sync", "hourly-report", "nightly-report"]
    assert names(status="paused") == ["hourly-report"]
    assert names(status="active") == ["Nightly-sync", "nightly-report"]
    assert names(tag=["report", "nightly"]) == ["nightly-report"]
    assert names(queue="slow") == ["nightly-report"]
    assert names(q="NIGHTLY") == ["Nightly-sync", "nightly-report"]


def test_the_list_pages_with_limit_and_offset_and_counts_every_match(
    operator: httpx.Client,
) -> None:
    for name in ("a", "b", "c"):
        define(operator, name)
    page = operator.get("/jobs", params={"limit": 2, "offset": 1}).json()
    assert [item["name"] for item in page["items"]] == ["b", "c"]
    assert page["total"] == 3
    summary = page["items"][0]
    assert summary["task"] == REPORT
    assert summary["schedule"] == "0 2 * * *"
    assert summary["is_enabled"] is True
    assert summary["version"] == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"offset": -1}, "offset"),
        ({"status": "sleeping"}, "status"),
    ],
)
def test_a_bad_list_query_answers_422_naming_the_parameter(
    viewer: httpx.Client, params: dict[str, Any], field: str
) -> None:
    refused(viewer.get("/jobs", params=params), 422, "invalid", field)


def test_reading_jobs_needs_a_token(served: Served) -> None:
    anonymous = served.client(None)
    assert anonymous.get("/jobs").status_code == 401
    assert anonymous.get("/jobs/nightly").status_code == 401


def test_an_unknown_job_answers_404(viewer: httpx.Client) -> None:
    refused(viewer.get("/jobs/nothing"), 404, "not_found", None)


def test_a_name_no_job_can_have_answers_422(viewer: httpx.Client) -> None:
    refused(viewer.get("/jobs/-bad"), 422, "invalid", "name")


# --- replace and change ---------------------------------------------------------------------


def test_a_replace_sets_the_whole_definition_and_makes_a_version(operator: httpx.Client) -> None:
    define(operator, queue="slow", tags=["x"])
    response = operator.put(
        "/jobs/nightly", json={**definition(schedule="@hourly"), "expected_version": 1}
    )
    assert response.status_code == 200, response.text
    replaced = response.json()
    assert replaced["version"] == 2
    assert replaced["schedule"] == "@hourly"
    assert replaced["queue"] == "default"  # left out: back to its default
    assert replaced["tags"] == []
    assert replaced["next_due_at"] == "2026-03-02T10:00:00Z"


def test_a_replace_takes_the_name_from_the_path(operator: httpx.Client) -> None:
    define(operator)
    body = {"task": "sync", "schedule": "@daily"}
    response = operator.put("/jobs/nightly", json=body)
    assert response.status_code == 200, response.text
    replaced = response.json()
    assert (replaced["name"], replaced["task"]) == ("nightly", "tests.e2e.api.tasks:sync")
    assert replaced["timezone"] == "UTC"


def test_a_change_made_from_a_stale_version_answers_409_and_changes_nothing(
    operator: httpx.Client,
) -> None:
    define(operator)
    operator.patch("/jobs/nightly", json={"changes": {"queue": "slow"}})
    stale = {**definition(schedule="@hourly"), "expected_version": 1}
    refused(operator.put("/jobs/nightly", json=stale), 409, "version_conflict", None)
    patch = {"changes": {"priority": "high"}, "expected_version": 1}
    refused(operator.patch("/jobs/nightly", json=patch), 409, "version_conflict", None)
    job = operator.get("/jobs/nightly").json()
    assert (job["version"], job["schedule"], job["queue"]) == (2, "0 2 * * *", "slow")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**definition(schedule="every tuesday"), "expected_version": 1}, "schedule"),
        ({**definition(), "expected_version": 0}, "expected_version"),
        (definition("renamed"), "name"),
        (definition(task="no_such_task"), "task"),
        (definition(task=5), "task"),
        (definition(template="no\u0000such"), "template"),
    ],
)
def test_a_bad_replace_answers_422_naming_the_field(
    admin: httpx.Client, body: dict[str, Any], field: str
) -> None:
    define(admin)
    refused(admin.put("/jobs/nightly", json=body), 422, "invalid", field)
    assert admin.get("/jobs/nightly").json()["version"] == 1


def test_a_patch_changes_the_fields_given_and_keeps_the_rest(operator: httpx.Client) -> None:
    define(operator, tags=["x"])
    body = {"changes": {"queue": "slow"}, "expected_version": 1, "message": "move it"}
    response = operator.patch("/jobs/nightly", json=body)
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["version"], changed["queue"], changed["tags"]) == (2, "slow", ["x"])
    versions = operator.get("/jobs/nightly/versions").json()["items"]
    assert (versions[-1]["author"], versions[-1]["message"]) == ("operator", "move it")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"changes": {"timezone": "Nowhere/Land"}}, "timezone"),
        ({"changes": {}}, "changes"),
        ({"changes": {"task": ["report"]}}, "task"),
        ({"changes": {"template": "no\u0000such"}}, "template"),
        ({"changes": {"queue": "x"}, "colour": "red"}, "colour"),
        ({"changes": {"queue": "x"}, "message": "a\u0000b"}, "message"),  # PostgreSQL: no NUL
    ],
)
def test_a_bad_patch_answers_422_naming_the_field(
    operator: httpx.Client, body: dict[str, Any], field: str
) -> None:
    define(operator)
    refused(operator.patch("/jobs/nightly", json=body), 422, "invalid", field)


def test_replacing_or_changing_an_unknown_job_answers_404(admin: httpx.Client) -> None:
    refused(admin.put("/jobs/nightly", json=definition()), 404, "not_found", None)
    patch = {"changes": {"queue": "slow"}}
    refused(admin.patch("/jobs/nightly", json=patch), 404, "not_found", None)


def test_an_operator_may_neither_make_a_command_nor_change_a_command_job(
    admin: httpx.Client, operator: httpx.Client
) -> None:
    define(operator)
    to_command = {"changes": {"task": None, "command": "rm -rf /tmp/x"}}
    refused(operator.patch("/jobs/nightly", json=to_command), 403, "forbidden", "command")
    admin.post("/jobs", json={"name": "shell", "command": "true", "schedule": "@daily"})
    to_task = {"name": "shell", "task": "report", "schedule": "@daily"}
    refused(operator.put("/jobs/shell", json=to_task), 403, "forbidden", "command")
    patch = {"changes": {"queue": "slow"}}
    refused(operator.patch("/jobs/shell", json=patch), 403, "forbidden", "command")
    assert operator.get("/jobs/nightly").json()["version"] == 1
    assert admin.patch("/jobs/shell", json=patch).status_code == 200


# --- delete ---------------------------------------------------------------------------------


def test_a_delete_answers_204_and_the_job_is_gone(operator: httpx.Client) -> None:
    define(operator)
    response = operator.delete("/jobs/nightly")
    assert response.status_code == 204
    assert response.content == b""
    assert operator.get("/jobs/nightly").status_code == 404
    assert operator.delete("/jobs/nightly").status_code == 404


def test_deleting_a_command_job_is_an_admins_alone(
    admin: httpx.Client, operator: httpx.Client
) -> None:
    admin.post("/jobs", json={"name": "shell", "command": "true", "schedule": "@daily"})
    refused(operator.delete("/jobs/shell"), 403, "forbidden", "command")
    assert admin.delete("/jobs/shell").status_code == 204


def test_a_job_others_depend_on_is_not_deleted(operator: httpx.Client) -> None:
    define(operator, "extract")
    define(operator, "load", depends_on=["extract"])
    response = operator.delete("/jobs/extract")
    assert response.status_code == 422
    assert operator.get("/jobs/extract").status_code == 200


# --- the role just below each route's --------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/jobs/nightly", definition()),
        ("PATCH", "/jobs/nightly", {"changes": {"queue": "slow"}}),
        ("DELETE", "/jobs/nightly", None),
    ],
)
def test_a_viewer_may_not_change_a_job(
    served: Served, viewer: httpx.Client, method: str, path: str, body: Any
) -> None:
    define(served.client(Role.OPERATOR))
    refused(viewer.request(method, path, json=body), 403, "forbidden", None)
    assert viewer.get("/jobs/nightly").json()["version"] == 1
