"""Who may call what: the one place the API's roles are enforced.

``RULES`` names every route (by its endpoint's name) with the least role that may call it;
``None`` marks the few public routes. A route missing from the table answers 403 to
everyone but an admin, so a forgotten entry fails closed, and a test walks every route
against every role. Job definitions carry one rule of their own (``check_definition``):
only an admin may define a job that runs a shell command or a task the registry does not
know, because either runs arbitrary code on the workers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cronwell.app import Cronwell
from cronwell.audit import VIA_API, Actor, acting_as
from cronwell.auth import Role
from cronwell.spec import JobSpec
from cronwell.store.auth import Principal
from cronwell.web.errors import ApiError

VIEWER, OPERATOR, ADMIN = Role.VIEWER, Role.OPERATOR, Role.ADMIN

# The least role of each route, by endpoint name; None: public. Reads are the viewer's,
# operating runs is the operator's, users, tokens and raw code are the admin's.
RULES: dict[str, Role | None] = {
    "health": None,
    "whoami": VIEWER,
    # web/jobs.py: defining jobs is also checked by check_definition
    "list_jobs": VIEWER,
    "create_job": OPERATOR,
    "get_job": VIEWER,
    "replace_job": OPERATOR,
    "update_job": OPERATOR,
    "delete_job": OPERATOR,
    "pause_job": OPERATOR,
    "resume_job": OPERATOR,
    "trigger_job": OPERATOR,
    "skip_next_job": OPERATOR,
    "backfill_job": OPERATOR,
    "move_cursor_job": OPERATOR,
    "get_job_next_times": VIEWER,
    "get_job_status": VIEWER,
    # web/versions.py
    "list_job_versions": VIEWER,
    "get_job_version": VIEWER,
    "diff_job_versions": VIEWER,
    "rollback_job": OPERATOR,
    "apply_document": OPERATOR,
    # web/runs.py
    "list_runs": VIEWER,
    "get_run": VIEWER,
    "cancel_run": OPERATOR,
    "retry_run": OPERATOR,
    "list_dlq": VIEWER,
    "recover_dlq": OPERATOR,
    # web/events.py
    "fire_event": OPERATOR,
    "list_events": VIEWER,
    "get_event": VIEWER,
    # web/cluster.py: a global pause stops every job from firing, so it is the admin's
    "list_workers": VIEWER,
    "list_leases": VIEWER,
    "get_stats": VIEWER,
    "get_pause": VIEWER,
    "pause_all": ADMIN,
    "resume_all": ADMIN,
    # web/access.py
    "list_users": ADMIN,
    "create_user": ADMIN,
    "disable_user": ADMIN,
    "list_tokens": ADMIN,
    "create_token": ADMIN,
    "revoke_token": ADMIN,
    # web/audit.py: who changed what is the operators' to read; anyone may log in or out
    "list_audit": OPERATOR,
    "login": None,
    "logout": VIEWER,
}

# With auth off (only on 127.0.0.1), every caller is this local admin.
LOCAL = Principal(token_id=0, user_id=None, user="local", role=ADMIN)

_bearer = HTTPBearer(auto_error=False, description="An API token: `cronwell tokens create`")


@dataclass(frozen=True, slots=True)
class WebState:
    """What the routes share: the facade they call and whether tokens are asked for."""

    app: Cronwell
    is_auth_on: bool = True


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


async def facade(request: Request, caller: Caller) -> AsyncIterator[Cronwell]:
    """The Cronwell the API serves, acting for the caller: routes call it and nothing below
    it, and every change they make is versioned and audited in the caller's name.

    ``async`` on purpose: FastAPI runs it in the request's own task, so the actor it sets is
    in the context that the route's thread is started with. A plain ``def`` would set it in
    a thread of its own, where the route would never see it."""
    with acting_as(actor_of(caller)):
        yield web_state(request).app


def actor_of(caller: Principal) -> Actor:
    """The caller as the audit trail names them: its user, or the token for a user-less one."""
    name = caller.user if caller.user is not None else f"token {caller.token_id}"
    return Actor(name=name, role=caller.role.value, via=VIA_API)


def authorize(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, if the route's rule lets them in: 401 without a valid token, 403 when the
    token's role is below the route's."""
    needed = _needed(request)
    state = web_state(request)
    if needed is None or not state.is_auth_on:
        return LOCAL
    principal = _principal(state.app, credentials)
    if not principal.role.is_at_least(needed):
        role = principal.role.value
        raise ApiError(403, "forbidden", f"role {role} may not do this: it needs {needed.value}")
    return principal


Caller = Annotated[Principal, Depends(authorize)]
App = Annotated[Cronwell, Depends(facade)]


def check_definition(caller: Principal, spec: JobSpec, app: Cronwell) -> None:
    """403 unless ``caller`` may define ``spec``: a command, a task the registry does not
    know, or an environment (``PYTHONPATH`` or ``LD_PRELOAD`` would load code of the
    definer's choosing into a registered task) is an admin's alone."""
    if caller.role.is_at_least(ADMIN):
        return
    if spec.command is not None:
        raise ApiError(403, "forbidden", "command: only an admin may define commands", "command")
    check_task(caller, spec.task, app)
    if spec.env:
        problem = "only an admin may set a job's environment: it reaches the task's interpreter"
        raise ApiError(403, "forbidden", f"env: {problem}", "env")


def check_task(caller: Principal, task: object, app: Cronwell) -> None:
    """403 unless ``caller`` may name ``task``. Called before the facade sees a task name as
    well as after: resolving a name the registry does not know imports its module, so an
    operator's unknown name must be refused before it is looked up, not once it has run."""
    if caller.role.is_at_least(ADMIN) or (isinstance(task, str) and app.registry.knows(task)):
        return
    raise ApiError(
        403,
        "forbidden",
        f"task: {task!r} is not a registered task; only an admin may name others",
        "task",
    )


def _needed(request: Request) -> Role | None:
    route = request.scope.get("route")
    name = getattr(route, "name", None)
    return RULES.get(name, ADMIN) if name is not None else ADMIN


def _principal(app: Cronwell, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("a bearer token is required (Authorization: Bearer cwt_...)")
    principal = app.authenticate(credentials.credentials)
    if principal is None:
        raise _unauthorized("the token is unknown, expired or revoked")
    return principal


def _unauthorized(message: str) -> ApiError:
    error = ApiError(401, "unauthorized", message)
    error.headers = {"WWW-Authenticate": "Bearer"}
    return error
