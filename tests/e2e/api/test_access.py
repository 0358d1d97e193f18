"""Users and tokens over HTTP, an admin's alone: a token is shown once, listed never, and
stops working when revoked or when its user is disabled."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from cronwell.auth import Role
from tests.e2e.api.conftest import NOW, Served

TOO_BIG = 2**63


def test_users_are_listed_by_name_a_page_at_a_time(admin: httpx.Client) -> None:
    everyone = admin.get("/users")
    assert everyone.status_code == 200, everyone.text
    shown = [(user["name"], user["role"]) for user in everyone.json()["items"]]
    assert shown == [("admin", "admin"), ("operator", "operator"), ("viewer", "viewer")]
    page = admin.get("/users", params={"limit": 1, "offset": 1}).json()
    assert ([user["name"] for user in page["items"]], page["total"]) == (["operator"], 3)


def test_a_user_is_added_with_its_role_and_never_shows_its_password(
    served: Served, admin: httpx.Client
) -> None:
    response = admin.post("/users", json={"name": "ada", "role": "operator", "password": "s3cret!"})
    assert response.status_code == 201, response.text
    added = response.json()
    assert (added["name"], added["role"], added["has_password"]) == ("ada", "operator", True)
    assert (added["is_disabled"], added["created_at"]) == (False, "2026-03-02T09:00:00Z")
    assert "s3cret!" not in response.text and "s3cret!" not in admin.get("/users").text
    assert [user.name for user in served.app.list_users()] == ["ada", "admin", "operator", "viewer"]


@pytest.mark.parametrize(
    ("body", "answer"),
    [
        ({"name": "viewer", "role": "admin"}, (409, "exists", "name")),
        ({"name": "ada", "role": "root"}, (422, "invalid", "role")),
        ({"name": "   ", "role": "viewer"}, (422, "invalid", "name")),
        ({"name": "a\x00b", "role": "viewer"}, (422, "invalid", "name")),
        ({"name": "ada", "role": "viewer", "password": ""}, (422, "invalid", "password")),
        ({"role": "viewer"}, (422, "invalid", "name")),
    ],
)
def test_a_bad_user_is_refused_and_nothing_is_added(
    served: Served, admin: httpx.Client, body: dict[str, str], answer: tuple[int, str, str]
) -> None:
    response = admin.post("/users", json=body)
    assert response.status_code == answer[0], response.text
    assert (response.json()["code"], response.json()["field"]) == answer[1:]
    viewer = next(user for user in served.app.list_users() if user.name == "viewer")
    assert viewer.role is Role.VIEWER
    assert len(served.app.list_users()) == 3


def test_disabling_a_user_stops_its_tokens_at_once(
    served: Served, admin: httpx.Client, viewer: httpx.Client
) -> None:
    assert viewer.get("/runs").status_code == 200
    response = admin.post("/users/viewer/disable")
    assert response.status_code == 200, response.text
    assert (response.json()["is_disabled"], response.json()["disabled_at"]) == (
        True,
        "2026-03-02T09:00:00Z",
    )
    assert viewer.get("/runs").status_code == 401
    again = admin.post("/users/viewer/disable")
    assert (again.status_code, again.json()["is_disabled"]) == (200, True)


def test_disabling_an_unknown_user_answers_404(admin: httpx.Client) -> None:
    response = admin.post("/users/nobody/disable")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert admin.post("/users/a%00b/disable").status_code == 422


def test_tokens_are_listed_without_the_token_or_its_hash(
    served: Served, admin: httpx.Client
) -> None:
    response = admin.get("/tokens")
    assert response.status_code == 200, response.text
    listed = response.json()
    assert (listed["total"], [token["user"] for token in listed["items"]]) == (
        3,
        ["viewer", "operator", "admin"],
    )
    assert all("token" not in token for token in listed["items"])
    assert not any(token in response.text for token in served.tokens.values())


def test_a_token_made_is_shown_once_and_works(served: Served, admin: httpx.Client) -> None:
    body = {"role": "viewer", "user": "operator", "name": "ci", "expires_in_seconds": 3600}
    response = admin.post("/tokens", json=body)
    assert response.status_code == 201, response.text
    made = response.json()
    assert (made["role"], made["user"], made["name"]) == ("viewer", "operator", "ci")
    assert made["expires_at"] == "2026-03-02T10:00:00Z"
    whoami = served.client(token=made["token"]).get("/whoami").json()
    assert (whoami["user"], whoami["role"], whoami["token_id"]) == (
        "operator",
        "viewer",
        made["id"],
    )
    assert made["token"] not in admin.get("/tokens").text


def test_a_service_token_with_an_expiry_instant(served: Served, admin: httpx.Client) -> None:
    at = (NOW + timedelta(days=2)).astimezone().isoformat()  # any offset: stored in UTC
    response = admin.post("/tokens", json={"role": "operator", "expires_at": at})
    assert response.status_code == 201, response.text
    assert (response.json()["user"], response.json()["expires_at"]) == (
        None,
        "2026-03-04T09:00:00Z",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "root"}, "role"),
        ({"role": "admin", "user": "viewer"}, "role"),  # above the user's role
        ({"role": "viewer", "user": "nobody"}, "user"),
        ({"role": "viewer", "expires_in_seconds": 0}, "expires_in_seconds"),
        ({"role": "viewer", "expires_at": "2026-03-02T08:59:59+00:00"}, "expires_at"),
        ({"role": "viewer", "expires_at": "2026-03-03T09:00:00"}, "expires_at"),
        (
            {"role": "viewer", "expires_at": "2026-03-03T09:00:00Z", "expires_in_seconds": 60},
            "expires_at",
        ),
    ],
)
def test_a_bad_token_is_refused_and_none_is_made(
    served: Served, admin: httpx.Client, body: dict[str, object], field: str
) -> None:
    response = admin.post("/tokens", json=body)
    assert response.status_code == 422, response.text
    assert (response.json()["code"], response.json()["field"]) == ("invalid", field)
    assert len(served.app.list_tokens()) == 3


def test_a_revoked_token_stops_working_and_revoking_again_changes_nothing(
    served: Served, admin: httpx.Client, viewer: httpx.Client
) -> None:
    token_id = next(row.id for row in served.app.list_tokens() if row.role is Role.VIEWER)
    assert admin.delete(f"/tokens/{token_id}").status_code == 204
    assert viewer.get("/runs").status_code == 401
    assert served.app.list_tokens()[0].revoked_at == NOW
    assert admin.delete(f"/tokens/{token_id}").status_code == 204


def test_revoking_an_unknown_token_answers_404_and_an_impossible_id_422(
    admin: httpx.Client,
) -> None:
    missing = admin.delete("/tokens/999")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    for impossible in (0, TOO_BIG):
        refused = admin.delete(f"/tokens/{impossible}")
        assert (refused.status_code, refused.json()["field"]) == (422, "token_id")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/users"),
        ("POST", "/users"),
        ("POST", "/users/viewer/disable"),
        ("GET", "/tokens"),
        ("POST", "/tokens"),
        ("DELETE", "/tokens/1"),
    ],
)
def test_an_operator_may_not_manage_users_or_tokens(
    served: Served, operator: httpx.Client, method: str, path: str
) -> None:
    body = {"name": "x", "role": "admin"} if method == "POST" else None
    response = operator.request(method, path, json=body)
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert len(served.app.list_users()) == 3
    assert all(row.revoked_at is None for row in served.app.list_tokens())
    assert not any(user.is_disabled for user in served.app.list_users())
