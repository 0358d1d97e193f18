"""The audit trail and logging in over HTTP.

The trail is read here and written nowhere: every change the API makes is recorded by the
facade in the change's own transaction, so no route may add, edit or delete a record.
Logging in trades a name and a password for a short-lived token; both outcomes are recorded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from cronwell.app import LoginFailed
from cronwell.audit import AuditAction
from cronwell.store.audit import AuditRecord
from cronwell.web.errors import ApiError
from cronwell.web.params import MAX_ID, Instant, Limit, Name
from cronwell.web.security import LOCAL, App, Caller

router = APIRouter(tags=["audit"])


class AuditItem(BaseModel):
    """One change: when, who (name, role, the edge it came by), what, to which object, and
    the object before and after, secrets masked."""

    id: int
    at: datetime
    actor: str
    role: str | None
    via: str
    action: str
    object_type: str
    object_id: str
    before: Any
    after: Any
    detail: Any


class AuditPage(BaseModel):
    """``next``: the ``before_id`` that reads the next, older page; None at the end."""

    items: list[AuditItem]
    next: int | None


class Login(BaseModel):
    name: Name
    password: str = Field(min_length=1, max_length=1024)


class LoggedIn(BaseModel):
    """The token is shown here once; send it as ``Authorization: Bearer ...``."""

    token: str
    user: str
    role: str
    expires_at: datetime | None


@router.get("/audit")
def list_audit(
    *,
    caller: Caller,
    app: App,
    actor: Annotated[Name | None, Query(description="Only changes by this name")] = None,
    action: Annotated[AuditAction | None, Query(description="Only this kind of change")] = None,
    object_type: Annotated[Name | None, Query(description="job, run, event, user, ...")] = None,
    object_id: Annotated[Name | None, Query(description="With object_type: one object")] = None,
    since: Annotated[Instant | None, Query(description="Made at or after this")] = None,
    until: Annotated[Instant | None, Query(description="Made before this")] = None,
    limit: Limit = 100,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Older than this")] = None,
) -> AuditPage:
    """Audit records, the newest first, by the filters given; page with ``next``."""
    found = app.list_audit(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        since=since,
        until=until,
        limit=limit,
        before_id=before_id,
    )
    items = [AuditItem.model_validate(record, from_attributes=True) for record in found]
    return AuditPage(items=items, next=_next(found, limit))


@router.post("/auth/login")
def login(credentials: Login, app: App) -> LoggedIn:
    """A token for the user whose name and password these are, expiring in 12 hours; 401
    with the same words whatever was wrong."""
    try:
        token, row = app.login(credentials.name, credentials.password)
    except LoginFailed as error:
        raise ApiError(401, "login_failed", str(error)) from None
    return LoggedIn(token=token, user=credentials.name, role=row.role, expires_at=row.expires_at)


@router.post("/auth/logout", status_code=204)
def logout(caller: Caller, app: App) -> None:
    """Revoke the token this request presents: a login's token ends before it expires.
    With auth off there is no token, and nothing to revoke."""
    if caller != LOCAL:
        app.revoke_token(caller.token_id)


def _next(found: list[AuditRecord], limit: int) -> int | None:
    return found[-1].id if len(found) == limit else None
