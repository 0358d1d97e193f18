"""The audit trail and logging in over HTTP: changes are recorded in the caller's name, read
back by filter, and secrets leave the API masked."""

from __future__ import annotations

import httpx

from cronwell.auth import Role
from tests.e2e.api.conftest import Served


def test_a_change_over_http_is_recorded_in_the_callers_name(
    served: Served, operator: httpx.Client, admin: httpx.Client
) -> None:
    served.app.schedule("tests.e2e.api.tasks:sync", "event stock.low", name="restock")
    assert operator.post("/events/stock.low", json={"payload": {"sku": 4}}).status_code == 201
    page = operator.get("/audit", params={"action": "event.fire"}).json()
    [record] = page["items"]
    assert (record["actor"], record["role"], record["via"]) == ("operator", "operator", "api")
    assert record["object_type"] == "event"
    [version] = admin.get("/audit", params={"action": "job.create"}).json()["items"]
    assert version["via"] == "python"  # made by the test's own Python call, not the API


def test_the_trail_is_read_newest_first_a_page_at_a_time(
    served: Served, admin: httpx.Client
) -> None:
    for name in ("ann", "bob", "cy"):
        assert admin.post("/users", json={"name": name, "role": "viewer"}).status_code == 201
    added_by_admin = {"action": "user.add", "actor": "admin"}  # not the fixture's users
    first = admin.get("/audit", params={**added_by_admin, "limit": 2}).json()
    assert [record["object_id"] for record in first["items"]] == ["cy", "bob"]
    rest = admin.get("/audit", params={**added_by_admin, "before_id": first["next"]}).json()
    assert [record["object_id"] for record in rest["items"]] == ["ann"]
    assert rest["next"] is None
    by_actor = admin.get("/audit", params={"actor": "nobody"}).json()
    assert by_actor["items"] == []


def test_a_bad_filter_answers_422_naming_it(operator: httpx.Client) -> None:
    response = operator.get("/audit", params={"action": "job.explode"})
    assert response.status_code == 422
    assert response.json()["field"] == "action"


def test_a_viewer_may_not_read_the_trail(viewer: httpx.Client) -> None:
    assert viewer.get("/audit").json()["code"] == "forbidden"


def test_a_login_gives_a_working_token_and_is_recorded(served: Served, admin: httpx.Client) -> None:
    served.app.add_user("dana", Role.OPERATOR, password="correct horse")
    anonymous = served.client(None)
    response = anonymous.post("/auth/login", json={"name": "dana", "password": "correct horse"})
    assert response.status_code == 200
    body = response.json()
    assert (body["user"], body["role"]) == ("dana", "operator")
    dana = served.client(token=body["token"])
    assert dana.get("/whoami").json()["user"] == "dana"
    [record] = admin.get("/audit", params={"action": "login"}).json()["items"]
    assert (record["actor"], record["via"], record["object_id"]) == ("dana", "api", "dana")
    assert dana.post("/auth/logout").status_code == 204
    assert dana.get("/whoami").status_code == 401


def test_a_failed_login_answers_401_in_the_same_words_and_is_recorded(
    served: Served, admin: httpx.Client
) -> None:
    served.app.add_user("erin", Role.VIEWER, password="right")
    anonymous = served.client(None)
    wrong = anonymous.post("/auth/login", json={"name": "erin", "password": "wrong"})
    unknown = anonymous.post("/auth/login", json={"name": "zed", "password": "right"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["code"] == "login_failed"
    failed = admin.get("/audit", params={"action": "login.failed"}).json()["items"]
    assert sorted(record["object_id"] for record in failed) == ["erin", "zed"]


def test_secrets_leave_the_api_masked(served: Served, operator: httpx.Client) -> None:
    served.app.schedule(
        "tests.e2e.api.tasks:report", "event nightly", name="report", kwargs={"api_key": "k-1"}
    )
    run_id = served.app.trigger_now("report", kwargs={"db_password": "hunter2", "limit": 3})
    run = operator.get(f"/runs/{run_id}").json()
    assert run["kwargs"] == {"db_password": "***", "limit": 3}
    fired = operator.post("/events/nightly", json={"payload": {"token": "t-1", "n": 1}}).json()
    assert fired["payload"] == {"token": "***", "n": 1}
    [change] = operator.get("/audit", params={"action": "job.create"}).json()["items"]
    assert change["after"]["kwargs"] == {"api_key": "***"}
    assert "hunter2" not in operator.get(f"/runs/{run_id}").text
