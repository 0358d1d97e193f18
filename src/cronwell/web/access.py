"""Users and API tokens over HTTP, an admin's alone: who may use the API, with which role,
until when. A token is in the answer that makes it and nowhere else: the store keeps only
its hash, so no route can show it again."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Annotated, TypeVar

from fastapi import APIRouter, Response
from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from cronwell.auth import AuthError, Role
from cronwell.store.auth import TokenRow, UserRow
from cronwell.web.errors import ApiError
from cronwell.web.params import (
    NAME_LENGTH,
    Instant,
    Limit,
    Name,
    Offset,
    PathId,
    PathName,
    storable_text,
)
from cronwell.web.security import App, Caller

router = APIRouter(tags=["access"])

T = TypeVar("T")
MAX_LIFETIME = 100 * 365 * 24 * 3600  # seconds: a token for longer is a token for ever

# A user's name must say something: the store refuses one of spaces alone.
UserName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=NAME_LENGTH, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$"),
    AfterValidator(storable_text),
]


class UserBody(BaseModel):
    """A user; whether it has a password, never the password or its hash."""

    id: int
    name: str
    role: Role
    has_password: bool
    is_disabled: bool
    created_at: datetime
    disabled_at: datetime | None


class UserList(BaseModel):
    items: list[UserBody]
    total: int


class NewUser(BaseModel):
    name: UserName
    role: Role
    # Without one the user signs in by token only.
    password: Annotated[str, Field(min_length=1, max_length=1024)] | None = None


class TokenBody(BaseModel):
    """A token as it may be shown: never the token, never its hash."""

    id: int
    name: str | None
    user: str | None  # None: a service token, of no user
    role: Role
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None  # to the minute


class TokenList(BaseModel):
    items: list[TokenBody]
    total: int


class NewToken(BaseModel):
    """A token to make: with ``user`` it acts for that user, never above the user's role.
    It expires ``expires_in_seconds`` from now or at ``expires_at`` (give at most one), or
    never."""

    role: Role
    user: Name | None = None
    name: Name | None = None
    expires_in_seconds: Annotated[int, Field(ge=1, le=MAX_LIFETIME)] | None = None
    expires_at: Instant | None = None


class MadeToken(TokenBody):
    token: str  # shown this once: store it now


@router.get("/users")
def list_users(caller: Caller, app: App, limit: Limit = 100, offset: Offset = 0) -> UserList:
    """Every user by name, disabled ones too."""
    found = app.list_users()
    return UserList(
        items=[_user_body(row) for row in _page(found, limit, offset)], total=len(found)
    )


@router.post("/users", status_code=201)
def create_user(new: NewUser, caller: Caller, app: App) -> UserBody:
    """Add a user with a role; 409 if the name is taken."""
    with _auth_errors({"name": (409, "exists")}):
        added = app.add_user(new.name, new.role, password=new.password)
    return _user_body(added)


@router.post("/users/{name}/disable")
def disable_user(name: PathName, caller: Caller, app: App) -> UserBody:
    """Disable the user: its tokens stop working at once. Disabling it again changes
    nothing."""
    with _auth_errors({"user": (404, "not_found")}):
        app.disable_user(name)
    return next(_user_body(row) for row in app.list_users() if row.name == name)


@router.get("/tokens")
def list_tokens(caller: Caller, app: App, limit: Limit = 100, offset: Offset = 0) -> TokenList:
    """Every token, oldest first, revoked and expired ones too."""
    found = app.list_tokens()
    items = [_token_body(row) for row in _page(found, limit, offset)]
    return TokenList(items=items, total=len(found))


@router.post("/tokens", status_code=201)
def create_token(new: NewToken, caller: Caller, app: App) -> MadeToken:
    """Make a token; the answer is the only place it is ever shown."""
    if new.expires_in_seconds is not None and new.expires_at is not None:
        problem = "expires_at: give it or expires_in_seconds, not both"
        raise ApiError(422, "invalid", problem, "expires_at")
    expires_in = None
    if new.expires_in_seconds is not None:
        expires_in = timedelta(seconds=new.expires_in_seconds)
    made = app.create_token(
        new.role, user=new.user, name=new.name, expires_at=new.expires_at, expires_in=expires_in
    )
    return MadeToken(**_token_body(made.row).model_dump(), token=made.token)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: PathId, caller: Caller, app: App) -> Response:
    """Revoke the token: it stops working at once. Revoking it again changes nothing."""
    with _auth_errors({"id": (404, "not_found")}):
        app.revoke_token(token_id)
    return Response(status_code=204)


@contextmanager
def _auth_errors(answers: dict[str, tuple[int, str]]) -> Iterator[None]:
    """Answer an AuthError on one of ``answers``' fields with its status and code; the
    routes' input is checked before, so on these fields only that error is left (a name
    taken, a user or token that does not exist). The rest are bad input: 422."""
    try:
        yield
    except AuthError as error:
        if error.field not in answers:
            raise
        status, code = answers[error.field]
        raise ApiError(status, code, str(error), error.field) from None


def _page(rows: Sequence[T], limit: int, offset: int) -> Sequence[T]:
    return rows[offset : offset + limit]


def _user_body(row: UserRow) -> UserBody:
    return UserBody.model_validate(row, from_attributes=True)


def _token_body(row: TokenRow) -> TokenBody:
    return TokenBody.model_validate(row, from_attributes=True)
