"""What an operator may not have the server do even on the way to a 403: import a module
by naming it as a task, or set the environment a task's interpreter starts with."""

from __future__ import annotations

import sys

import httpx
import pytest

from tests.e2e.api.conftest import Served

MODULE = "tests.e2e.api.never_imported"
UNKNOWN = {"task": f"{MODULE}:task", "schedule": "*/5 * * * *"}


@pytest.fixture(autouse=True)
def _not_yet_imported() -> None:
    sys.modules.pop(MODULE, None)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/jobs", {"name": "probe", **UNKNOWN}),
        ("PUT", "/jobs/known", UNKNOWN),
        ("PATCH", "/jobs/known", {"changes": {"task": UNKNOWN["task"]}}),
        ("POST", "/apply", {"jobs": [{"name": "probe", **UNKNOWN}]}),
    ],
)
def test_an_unregistered_task_is_refused_before_its_module_is_imported(
    served: Served, operator: httpx.Client, method: str, path: str, body: dict[str, object]
) -> None:
    served.app.schedule("tests.e2e.api.tasks:sync", "*/5 * * * *", name="known")
    response = operator.request(method, path, json=body)
    assert response.status_code == 403, response.text
    assert response.json()["field"].endswith("task")
    assert MODULE not in sys.modules


def test_an_admin_may_name_it(admin: httpx.Client) -> None:
    assert admin.post("/jobs", json={"name": "probe", **UNKNOWN}).status_code == 201
    assert MODULE in sys.modules


def test_only_an_admin_may_set_a_jobs_environment(
    operator: httpx.Client, admin: httpx.Client
) -> None:
    job = {"task": "tests.e2e.api.tasks:sync", "schedule": "*/5 * * * *"}
    env = {"PYTHONPATH": "/tmp/elsewhere"}
    refused = operator.post("/jobs", json={"name": "a", **job, "env": env})
    assert (refused.status_code, refused.json()["field"]) == (403, "env")
    assert admin.post("/jobs", json={"name": "a", **job, "env": env}).status_code == 201
    changed = operator.patch("/jobs/a", json={"changes": {"description": "x"}})
    assert changed.status_code == 403  # an admin's job stays the admin's
