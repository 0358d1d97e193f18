"""Every route of the API against every role, read from the application itself, so a route
added anywhere is covered without editing this file: no token answers 401 (public routes
excepted), a role below the route's rule 403, a role at or above it anything but 401 and 403.

The requests carry made-up path values and an empty body: a 404 or a 422 past the role check
is fine, since only the check is on trial here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, get_type_hints

import httpx
import pytest
from fastapi import APIRouter

from cronwell.auth import Role
from cronwell.web import api
from cronwell.web.api import PREFIX
from cronwell.web.security import ADMIN, OPERATOR, RULES, VIEWER
from cronwell.web.server import WebServer
from tests.e2e.api.conftest import Served, api_routes

MADE_UP: dict[Any, str] = {int: "987654", str: "no-such-thing"}
BODY_METHODS = {"POST", "PUT", "PATCH"}


@dataclass(frozen=True)
class Call:
    name: str  # the endpoint's name: its key in RULES
    method: str
    path: str  # under PREFIX, with made-up values for its parameters

    def send(self, client: httpx.Client) -> httpx.Response:
        body: dict[str, Any] = {"json": {}} if self.method in BODY_METHODS else {}
        return client.request(self.method, self.path, **body)


def calls(served: Served) -> list[Call]:
    """One call per method of every route under PREFIX of the API ``served`` serves."""
    found = []
    for route in api_routes(served.app):
        path = route.path.removeprefix(PREFIX)
        hints = get_type_hints(route.endpoint)
        for name in re.findall(r"{(\w+)", path):
            value = MADE_UP.get(hints.get(name), "no-such-thing")
            path = re.sub(rf"{{{name}(:\w+)?}}", value, path)
        found += [Call(route.name, method, path) for method in sorted(route.methods)]
    return found


def test_every_route_has_a_rule_and_every_rule_a_route(served: Served) -> None:
    names = [route.name for route in api_routes(served.app)]
    assert len(names) == len(set(names)), "endpoint names are unique: they key RULES"
    assert sorted(set(names) - set(RULES)) == [], "routes without a rule"
    assert sorted(set(RULES) - set(names)) == [], "rules without a route"


def test_without_a_token_only_public_routes_answer(served: Served) -> None:
    assert _unguarded(served) == []


@pytest.mark.parametrize("role", list(Role), ids=lambda role: role.value)
def test_each_role_is_let_in_exactly_where_its_rule_allows(served: Served, role: Role) -> None:
    assert _misjudged(served, role) == []


def test_the_matrix_sees_the_frames_routes(served: Served) -> None:
    """The walk finds routes at all, with their names: a walk that found none would pass."""
    assert {(call.name, call.method) for call in calls(served)} >= {
        ("health", "GET"),
        ("whoami", "GET"),
    }


# Routes of each rule, served beside the API's own, so the matrix is seen to tell each role
# apart now, whatever routes the API has; one without a rule is an admin's (fails closed).
probe = APIRouter()
PROBES = {"probe_viewer": VIEWER, "probe_operator": OPERATOR, "probe_admin": ADMIN}


@probe.get("/probe/viewer")
def probe_viewer() -> dict[str, str]:
    return {}


@probe.post("/probe/operator/{probe_id}")
def probe_operator(probe_id: int) -> dict[str, str]:
    return {}


@probe.delete("/probe/admin/{name}")
def probe_admin(name: str) -> dict[str, str]:
    return {}


@probe.get("/probe/unlisted")
def probe_unlisted() -> dict[str, str]:
    return {}


@pytest.fixture
def probed(served: Served, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    monkeypatch.setattr(api, "ROUTERS", (*api.ROUTERS, probe))
    for name, role in PROBES.items():
        monkeypatch.setitem(RULES, name, role)
    server = WebServer(served.app, port=0)
    server.start()
    probed = Served(served.app, server.url, served.tokens)
    yield probed
    for client in probed.clients:
        client.close()
    server.stop()


@pytest.mark.parametrize("role", list(Role), ids=lambda role: role.value)
def test_the_matrix_tells_every_role_apart(probed: Served, role: Role) -> None:
    assert {call.name for call in calls(probed)} >= {*PROBES, "probe_unlisted"}
    assert _unguarded(probed) == []
    assert _misjudged(probed, role) == []
    answers = {call.name: call.send(_fresh(probed, role)).status_code for call in calls(probed)}
    assert answers["probe_unlisted"] == (200 if role is ADMIN else 403)
    assert answers["probe_operator"] == (403 if role is VIEWER else 200)


def _unguarded(served: Served) -> list[str]:
    """The calls that a request without a token gets wrong: 401 unless public."""
    client = served.client(None)
    wrong = []
    for call in calls(served):
        status = call.send(client).status_code
        is_public = RULES.get(call.name, ADMIN) is None
        if (status == 401) == is_public:
            wrong.append(f"{call.method} {call.path}: {status}")
    return wrong


def _misjudged(served: Served, role: Role) -> list[str]:
    """The calls that ``role``'s token gets wrong: 403 below the rule, past the check at or
    above it."""
    wrong = []
    for call in calls(served):
        needed = RULES.get(call.name, ADMIN)
        status = call.send(_fresh(served, role)).status_code
        is_allowed = needed is None or role.is_at_least(needed)
        is_right = status not in {401, 403} if is_allowed else status == 403
        if not is_right:
            expected = "not 401/403" if is_allowed else "403"
            wrong.append(f"{call.method} {call.path} ({needed}): {status}, expected {expected}")
    return wrong


def _fresh(served: Served, role: Role) -> httpx.Client:
    """A client with a token of its own: a call that revokes its token (a logout, a revoke)
    leaves the calls after it their own."""
    return served.client(token=served.app.create_token(role, user=role.value).token)


def _job(**fields: Any) -> dict[str, Any]:
    return {"name": "matrix-job", "schedule": "*/5 * * * *", **fields}


def test_an_operator_may_not_define_a_command(operator: httpx.Client) -> None:
    answer = operator.post("/jobs", json=_job(command="echo hello"))
    assert answer.status_code == 403
    assert (answer.json()["code"], answer.json()["field"]) == ("forbidden", "command")


def test_an_operator_may_not_name_an_unregistered_task(operator: httpx.Client) -> None:
    answer = operator.post("/jobs", json=_job(task="os:getcwd"))
    assert answer.status_code == 403
    assert (answer.json()["code"], answer.json()["field"]) == ("forbidden", "task")


def test_an_operator_may_define_a_job_of_a_registered_task(operator: httpx.Client) -> None:
    answer = operator.post("/jobs", json=_job(task="tests.e2e.api.tasks:report"))
    assert answer.status_code == 201, answer.text
