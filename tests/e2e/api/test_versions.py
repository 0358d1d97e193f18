"""Change control over HTTP: a job's versions, a diff, a rollback, and apply."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.api.conftest import Served
from tests.e2e.api.jobs import define, definition, refused

SHELL = {"name": "shell", "command": "true", "schedule": "@daily"}


@pytest.fixture
def changed(operator: httpx.Client) -> None:
    """``nightly`` at version 2: its schedule changed from 02:00 to 03:00."""
    define(operator)
    body = {"changes": {"schedule": "0 3 * * *"}, "message": "later"}
    assert operator.patch("/jobs/nightly", json=body).status_code == 200


def test_the_versions_are_listed_oldest_first(viewer: httpx.Client, changed: None) -> None:
    response = viewer.get("/jobs/nightly/versions")
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == 2
    first, second = page["items"]
    assert (first["version"], first["action"], first["author"]) == (1, "create", "operator")
    assert (second["version"], second["action"], second["message"]) == (2, "update", "later")
    assert first["hash"] != second["hash"]


def test_a_version_shows_the_definition_it_left(viewer: httpx.Client, changed: None) -> None:
    response = viewer.get("/jobs/nightly/versions/1")
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 1
    assert response.json()["definition"]["schedule"] == "0 2 * * *"
    assert viewer.get("/jobs/nightly/versions/2").json()["definition"]["schedule"] == "0 3 * * *"


def test_a_deleted_jobs_versions_stay_readable(operator: httpx.Client, changed: None) -> None:
    operator.delete("/jobs/nightly")
    actions = [item["action"] for item in operator.get("/jobs/nightly/versions").json()["items"]]
    assert actions == ["create", "update", "delete"]


def test_the_diff_shows_what_changed(viewer: httpx.Client, changed: None) -> None:
    response = viewer.get("/jobs/nightly/diff", params={"old": 1})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["old"], body["new"]) == (1, 2)
    assert '-  "schedule": "0 2 * * *"' in body["diff"]
    assert '+  "schedule": "0 3 * * *"' in body["diff"]
    same = viewer.get("/jobs/nightly/diff", params={"old": 2, "new": 2}).json()
    assert same["diff"] == ""


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/jobs/nightly/versions/0", {}, "number"),
        ("/jobs/nightly/versions/x", {}, "number"),
        ("/jobs/nightly/diff", {}, "old"),
        ("/jobs/nightly/diff", {"old": 0}, "old"),
        ("/jobs/nightly/diff", {"old": 1, "new": "latest"}, "new"),
    ],
)
def test_a_bad_version_read_answers_422(
    viewer: httpx.Client, changed: None, path: str, params: dict[str, Any], field: str
) -> None:
    refused(viewer.get(path, params=params), 422, "invalid", field)


@pytest.mark.parametrize(
    "path",
    [
        "/jobs/nothing/versions",
        "/jobs/nothing/versions/1",
        "/jobs/nothing/diff?old=1",
        "/jobs/nightly/versions/3",
        "/jobs/nightly/diff?old=1&new=3",
    ],
)
def test_an_unknown_job_or_version_answers_404(
    viewer: httpx.Client, changed: None, path: str
) -> None:
    refused(viewer.get(path), 404, "not_found", None)


@pytest.mark.parametrize(
    "path", ["/jobs/nightly/versions", "/jobs/nightly/versions/1", "/jobs/nightly/diff?old=1"]
)
def test_reading_versions_needs_a_token(served: Served, path: str) -> None:
    assert served.client(None).get(path).status_code == 401


# --- rollback -------------------------------------------------------------------------------


def test_a_rollback_defines_the_job_as_the_version_left_it(
    operator: httpx.Client, changed: None
) -> None:
    response = operator.post("/jobs/nightly/rollback", json={"to": 1, "expected_version": 2})
    assert response.status_code == 200, response.text
    job = response.json()
    assert (job["version"], job["schedule"]) == (3, "0 2 * * *")
    last = operator.get("/jobs/nightly/versions").json()["items"][-1]
    assert (last["action"], last["message"], last["author"]) == (
        "rollback",
        "rollback to version 1",
        "operator",
    )


def test_a_rollback_from_a_stale_version_answers_409(operator: httpx.Client, changed: None) -> None:
    body = {"to": 1, "expected_version": 1}
    refused(operator.post("/jobs/nightly/rollback", json=body), 409, "version_conflict", None)
    assert operator.get("/jobs/nightly").json()["version"] == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "to"),
        ({"to": 0}, "to"),
        ({"to": 1, "expected_version": "two"}, "expected_version"),
        ({"to": 1, "message": "a\u0000b"}, "message"),
    ],
)
def test_a_bad_rollback_answers_422(
    operator: httpx.Client, changed: None, body: dict[str, Any], field: str
) -> None:
    refused(operator.post("/jobs/nightly/rollback", json=body), 422, "invalid", field)


def test_a_rollback_of_an_unknown_job_or_version_answers_404(
    operator: httpx.Client, changed: None
) -> None:
    refused(operator.post("/jobs/nothing/rollback", json={"to": 1}), 404, "not_found", None)
    refused(operator.post("/jobs/nightly/rollback", json={"to": 9}), 404, "not_found", None)


def test_a_viewer_may_not_roll_back(viewer: httpx.Client, changed: None) -> None:
    refused(viewer.post("/jobs/nightly/rollback", json={"to": 1}), 403, "forbidden", None)


def test_rolling_back_to_a_command_is_an_admins_alone(
    admin: httpx.Client, operator: httpx.Client
) -> None:
    admin.post("/jobs", json={**SHELL, "name": "nightly"})
    admin.put("/jobs/nightly", json=definition())  # now a registered task
    refused(operator.post("/jobs/nightly/rollback", json={"to": 1}), 403, "forbidden", "command")
    assert admin.post("/jobs/nightly/rollback", json={"to": 1}).status_code == 200


# --- apply ----------------------------------------------------------------------------------


def test_apply_creates_updates_and_prunes_as_the_document_says(
    operator: httpx.Client,
) -> None:
    define(operator, "old")
    define(operator, "kept")
    document = {
        "jobs": [definition("kept", queue="slow"), definition("new", schedule="@hourly")],
        "prune": True,
        "message": "from the API",
    }
    dry = operator.post("/apply", json={**document, "dry_run": True})
    assert dry.status_code == 200, dry.text
    plan = {"created": ["new"], "updated": ["kept"], "deleted": ["old"], "unchanged": []}
    assert dry.json() == {**plan, "templates": [], "is_dry_run": True}
    assert operator.get("/jobs").json()["total"] == 2
    done = operator.post("/apply", json=document)
    assert done.json() == {**plan, "templates": [], "is_dry_run": False}
    names = [item["name"] for item in operator.get("/jobs").json()["items"]]
    assert names == ["kept", "new"]
    again = operator.post("/apply", json=document).json()
    assert (again["unchanged"], again["created"]) == (["kept", "new"], [])


def test_apply_stores_templates_and_lays_them_under_jobs(operator: httpx.Client) -> None:
    document = {
        "templates": [{"name": "slow", "queue": "slow", "tags": ["batch"]}],
        "jobs": [{"name": "nightly", "task": "report", "template": "slow"}],
    }
    response = operator.post("/apply", json=document)
    assert response.status_code == 200, response.text
    assert response.json()["templates"] == ["slow"]
    job = operator.get("/jobs/nightly").json()
    assert (job["queue"], job["tags"]) == ("slow", ["batch"])


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"jobs": [definition(), definition("b", schedule="nope")]}, "jobs[1].schedule"),
        ({"jobs": [definition(timezone="Atlantis/Lost")]}, "jobs[0].timezone"),
        ({"jobs": [definition(task="unknown")]}, "jobs[0].task"),
        ({"jobs": [definition(template="none")]}, "jobs[0].template"),
        ({"jobs": [definition(), definition()]}, "jobs[1].name"),
        ({"jobs": "all of them"}, "jobs"),
        ({"jobs": [], "prune": "maybe"}, "prune"),
        ({"jobs": [definition()], "message": "a\u0000b"}, "message"),
    ],
)
def test_a_bad_document_answers_422_and_changes_nothing(
    admin: httpx.Client, document: dict[str, Any], field: str
) -> None:
    # An admin's: to an operator an unknown task is not invalid but forbidden (test_lookups).
    refused(admin.post("/apply", json=document), 422, "invalid", field)
    assert admin.get("/jobs").json()["total"] == 0


def test_an_operator_may_not_apply_a_command_nor_prune_one(
    admin: httpx.Client, operator: httpx.Client
) -> None:
    document = {"jobs": [definition(), SHELL]}
    refused(operator.post("/apply", json=document), 403, "forbidden", "jobs[1].command")
    assert operator.get("/jobs").json()["total"] == 0
    assert admin.post("/apply", json=document).status_code == 200
    prune = {"jobs": [definition()], "prune": True}
    refused(operator.post("/apply", json=prune), 403, "forbidden", "jobs.shell.command")
    assert operator.get("/jobs/shell").status_code == 200


def test_an_operator_may_not_turn_a_templates_jobs_into_commands(
    operator: httpx.Client,
) -> None:
    nightly = {"name": "nightly", "template": "base", "queue": "slow"}  # task: the template's
    base = {"name": "base", "task": "report", "schedule": "@daily"}
    assert operator.post("/apply", json={"jobs": [nightly], "templates": [base]}).status_code == 200
    shell = {"name": "base", "command": "true", "schedule": "@daily"}
    response = operator.post("/apply", json={"jobs": [], "templates": [shell]})
    refused(response, 403, "forbidden", "jobs.nightly.command")
    assert operator.get("/jobs/nightly").json()["task"] == "tests.e2e.api.tasks:report"


def test_a_viewer_may_not_apply(viewer: httpx.Client) -> None:
    refused(viewer.post("/apply", json={"jobs": [definition()]}), 403, "forbidden", None)
