"""Every route that changes something leaves an audit record in its caller's name.

The calls below are made in order on one store, each by a fresh admin token (a logout or a
revoke must not blind the calls after it). The first test pins that the list covers every
route that is not a read, so a new mutating route fails here until it is listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from cronwell.app import Cronwell
from cronwell.auth import Role
from tests.e2e.api.conftest import NOW, Served, api_routes

JOB = {"task": "tests.e2e.api.tasks:sync", "schedule": "*/5 * * * *"}


@dataclass(frozen=True)
class Change:
    route: str  # the endpoint's name
    method: str
    path: str  # may name a prepared object: {pending}, {cancelled}, {token}
    action: str  # what the audit record must say
    body: dict[str, Any] | None = None
    actor: str = "admin"


CHANGES = [
    Change("create_job", "POST", "/jobs", "job.create", {"name": "made", **JOB}),
    Change("replace_job", "PUT", "/jobs/made", "job.update", {**JOB, "schedule": "0 * * * *"}),
    Change("update_job", "PATCH", "/jobs/made", "job.update", {"changes": {"timeout": "5m"}}),
    Change("pause_job", "POST", "/jobs/made/pause", "job.pause", {}),
    Change("resume_job", "POST", "/jobs/made/resume", "job.resume", {}),
    Change("trigger_job", "POST", "/jobs/made/trigger", "job.trigger", {}),
    Change("skip_next_job", "POST", "/jobs/made/skip-next", "job.skip_next"),
    Change(
        "backfill_job",
        "POST",
        "/jobs/made/backfill",
        "job.backfill",
        {"from": (NOW - timedelta(hours=2)).isoformat(), "to": NOW.isoformat()},
    ),
    Change(
        "move_cursor_job",
        "POST",
        "/jobs/made/move-cursor",
        "job.move_cursor",
        {"to": (NOW - timedelta(hours=1)).isoformat()},
    ),
    Change("rollback_job", "POST", "/jobs/made/rollback", "job.rollback", {"to": 1}),
    Change(
        "apply_document", "POST", "/apply", "job.create", {"jobs": [{"name": "applied", **JOB}]}
    ),
    Change("delete_job", "DELETE", "/jobs/applied", "job.delete"),
    Change("cancel_run", "POST", "/runs/{pending}/cancel", "run.cancel"),
    Change("retry_run", "POST", "/runs/{cancelled}/retry", "run.retry"),
    Change("recover_dlq", "POST", "/dlq/broken/recover", "dlq.recover", {"retry": True}),
    Change("fire_event", "POST", "/events/stock.low", "event.fire", {"payload": {"sku": 1}}),
    Change("pause_all", "POST", "/pause", "scheduler.pause"),
    Change("resume_all", "POST", "/resume", "scheduler.resume"),
    Change("create_user", "POST", "/users", "user.add", {"name": "temp", "role": "viewer"}),
    Change("disable_user", "POST", "/users/temp/disable", "user.disable"),
    Change("create_token", "POST", "/tokens", "token.create", {"role": "viewer", "user": "viewer"}),
    Change("revoke_token", "DELETE", "/tokens/{token}", "token.revoke"),
    Change("login", "POST", "/auth/login", "login", {"name": "pat", "password": "pw"}, actor="pat"),
    Change("logout", "POST", "/auth/logout", "token.revoke"),
]


def test_every_route_that_is_not_a_read_is_listed(served: Served) -> None:
    changing = {route.name for route in api_routes(served.app) if route.methods - {"GET"}}
    assert changing == {change.route for change in CHANGES}


def test_each_change_writes_a_record_in_its_callers_name(served: Served) -> None:
    prepared = _prepare(served.app)
    for change in CHANGES:
        before = _count(served.app, change)
        response = _fresh_admin(served).request(
            change.method, change.path.format(**prepared), json=change.body
        )
        assert response.status_code < 300, f"{change.route}: {response.text}"
        assert _count(served.app, change) > before, f"{change.route} left no {change.action}"


def _prepare(app: Cronwell) -> dict[str, int]:
    """The objects the calls act on: a pending run, a cancelled one, a dead job, a token."""
    app.schedule("tests.e2e.api.tasks:report", name="report")
    pending = app.trigger_now("report")
    cancelled = app.trigger_now("report")
    app.cancel_run(cancelled)
    once = {"max_attempts": 1}
    app.schedule(command="exit 1", name="broken", retry=once, on_dead="disable")
    app.execute_now("broken")
    app.add_user("pat", Role.VIEWER, password="pw")
    token = app.create_token(Role.VIEWER, user="viewer", name="to revoke").row.id
    return {"pending": pending, "cancelled": cancelled, "token": token}


def _count(app: Cronwell, change: Change) -> int:
    return len(app.list_audit(actor=change.actor, action=change.action, limit=1000))


def _fresh_admin(served: Served) -> httpx.Client:
    return served.client(token=served.app.create_token(Role.ADMIN, user="admin").token)
