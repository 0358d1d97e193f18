"""Users and API tokens: who may use the API, with which role, until when.

A token is stored only as its hash (``cronwell.auth.hash_token``): its plain text is in the
value ``create_token`` returns and nowhere else. A token with a user acts for that user and
never above the user's role; a disabled user's tokens stop working at once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, insert, or_, select, update

from cronwell.auth import (
    AuthError,
    Role,
    check_given_token,
    hash_password,
    hash_token,
    new_token,
)
from cronwell.store.dialect import insert_ignoring_conflicts
from cronwell.store.tables import api_tokens, users


@dataclass(frozen=True, slots=True)
class UserRow:
    """A stored user; whether it has a password, never the password's hash."""

    id: int
    name: str
    role: Role
    has_password: bool
    is_disabled: bool
    created_at: datetime
    disabled_at: datetime | None


@dataclass(frozen=True, slots=True)
class TokenRow:
    """A stored token as it may be shown: never the token, never its hash."""

    id: int
    name: str | None
    user: str | None  # the user's name; None for a token of its own (a service token)
    role: Role
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token just made: ``token`` is its plain text, which is shown once and not kept."""

    token: str
    row: TokenRow


@dataclass(frozen=True, slots=True)
class Principal:
    """Who presented a valid token, and the role it acts with."""

    token_id: int
    user_id: int | None
    user: str | None
    role: Role


def add_user(
    connection: Connection, name: str, role: Role, *, now: datetime, password: str | None = None
) -> UserRow:
    """Store a new user; an AuthError if ``name`` is empty or taken. ``password`` is kept
    only as a salted scrypt hash."""
    if not name.strip():
        raise AuthError("name", "must not be empty")
    row = {
        "name": name,
        "role": role.value,
        "password_hash": None if password is None else hash_password(password),
        "is_disabled": False,
        "created_at": now,
    }
    # The unique name decides, not a read before the insert: of two adding the same name at
    # once, one inserts and the other is told it exists.
    added = insert_ignoring_conflicts(connection, users, [row], on=["name"], returning=users.c.id)
    if not added:
        raise AuthError("name", f"user {name!r} already exists")
    return get_user(connection, name)


def get_user(connection: Connection, name: str) -> UserRow:
    """The user ``name``; an AuthError if there is none."""
    found = connection.execute(_users_query().where(users.c.name == name)).first()
    if found is None:
        raise AuthError("user", f"user {name!r} does not exist")
    return _user_row(found._mapping)


def list_users(connection: Connection) -> list[UserRow]:
    """Every user, disabled ones too, by name."""
    query = _users_query().order_by(users.c.name)
    return [_user_row(row._mapping) for row in connection.execute(query)]


def disable_user(connection: Connection, name: str, *, now: datetime) -> bool:
    """Disable ``name``: it and its tokens no longer authenticate. Returns False if it was
    disabled already (it keeps its first ``disabled_at``); an AuthError if it does not exist."""
    get_user(connection, name)
    changed = connection.execute(
        update(users)
        .where(users.c.name == name, users.c.is_disabled.is_(False))
        .values(is_disabled=True, disabled_at=now)
    )
    return changed.rowcount == 1


def create_token(
    connection: Connection,
    role: Role,
    *,
    now: datetime,
    user: str | None = None,
    name: str | None = None,
    expires_at: datetime | None = None,
) -> NewToken:
    """Make a token with ``role``, for ``user`` if given, valid until ``expires_at`` (for
    ever without it). An AuthError if the user does not exist or is disabled, if ``role``
    is above the user's, or if ``expires_at`` is not after ``now``. Only the token's hash
    is stored."""
    user_id = None if user is None else _owner(connection, user, role).id
    if expires_at is not None and expires_at <= now:
        raise AuthError("expires_at", f"{expires_at.isoformat()} is not after now")
    token = new_token()
    row = _token_values(
        hash_token(token), role, now=now, name=name, user_id=user_id, expires_at=expires_at
    )
    token_id = connection.execute(insert(api_tokens).values(row).returning(api_tokens.c.id))
    return NewToken(token, get_token(connection, int(token_id.scalar_one())))


def _token_values(
    token_hash: str,
    role: Role,
    *,
    now: datetime,
    name: str | None,
    user_id: int | None,
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    """A token's row, made alike for a new token and a given one."""
    return {
        "token_hash": token_hash,
        "name": name,
        "user_id": user_id,
        "role": role.value,
        "created_at": now,
        "expires_at": expires_at,
    }


def get_token(connection: Connection, token_id: int) -> TokenRow:
    """The token ``token_id`` as it may be shown; an AuthError if there is none."""
    found = connection.execute(_tokens_query().where(api_tokens.c.id == token_id)).first()
    if found is None:
        raise AuthError("id", f"token {token_id} does not exist")
    return _token_row(found._mapping)


def list_tokens(connection: Connection) -> list[TokenRow]:
    """Every token, revoked and expired ones too, oldest first; never a token or a hash."""
    query = _tokens_query().order_by(api_tokens.c.id)
    return [_token_row(row._mapping) for row in connection.execute(query)]


def revoke_token(connection: Connection, token_id: int, *, now: datetime) -> TokenRow | None:
    """Revoke the token: it no longer authenticates. Returns the token as revoked, for the
    caller's record of it; None if it was revoked already (it keeps its first
    ``revoked_at``); an AuthError if it does not exist."""
    found = get_token(connection, token_id)
    changed = connection.execute(
        update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return replace(found, revoked_at=now) if changed.rowcount == 1 else None


# How stale a token's ``last_used_at`` may be: recording every use would make each API request
# a writing transaction, which on SQLite waits its turn behind the scheduler's and workers'.
USE_PRECISION = timedelta(minutes=1)


def find_principal(
    connection: Connection, token: str, now: datetime
) -> tuple[Principal, datetime | None] | None:
    """Who ``token`` speaks for at ``now`` and when its use was last recorded, or None; only
    reads. A token is valid when its hash is known, it is not revoked, ``now`` is before its
    expiry and its user, if it has one, is not disabled. It acts with its own role, lowered
    to its user's should the user's be lower now."""
    query = (
        select(api_tokens.c.id, api_tokens.c.role, users.c.id.label("user_id"), users.c.name)
        .add_columns(users.c.role.label("user_role"), api_tokens.c.last_used_at)
        .outerjoin(users, users.c.id == api_tokens.c.user_id)
        .where(api_tokens.c.token_hash == hash_token(token))
        .where(api_tokens.c.revoked_at.is_(None))
        .where(or_(api_tokens.c.expires_at.is_(None), api_tokens.c.expires_at > now))
        .where(or_(api_tokens.c.user_id.is_(None), users.c.is_disabled.is_(False)))
    )
    found = connection.execute(query).first()
    if found is None:
        return None
    role = Role(found.role)
    if found.user_role is not None and not Role(found.user_role).is_at_least(role):
        role = Role(found.user_role)
    return Principal(found.id, found.user_id, found.name, role), found.last_used_at


def is_use_stale(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether a use at ``now`` should be recorded over ``last_used_at``."""
    return last_used_at is None or last_used_at <= now - USE_PRECISION


def record_use(connection: Connection, token_id: int, now: datetime) -> bool:
    """Set the token's ``last_used_at`` to ``now`` unless a use less than USE_PRECISION
    before ``now`` is recorded already; one guarded statement, so of many requests at once
    one writes and the rest change nothing. Returns whether it wrote."""
    stale = or_(
        api_tokens.c.last_used_at.is_(None),
        api_tokens.c.last_used_at <= now - USE_PRECISION,
    )
    changed = connection.execute(
        update(api_tokens).where(api_tokens.c.id == token_id, stale).values(last_used_at=now)
    )
    return changed.rowcount == 1


def _owner(connection: Connection, name: str, role: Role) -> UserRow:
    """The user a new token with ``role`` is for, if it may have one."""
    owner = get_user(connection, name)
    if owner.is_disabled:
        raise AuthError("user", f"user {name!r} is disabled")
    if not owner.role.is_at_least(role):
        raise AuthError("role", f"{role.value} is above the role of user {name!r} ({owner.role})")
    return owner


def _users_query() -> Select[Any]:
    return select(
        users.c.id,
        users.c.name,
        users.c.role,
        users.c.password_hash.is_not(None).label("has_password"),
        users.c.is_disabled,
        users.c.created_at,
        users.c.disabled_at,
    )


def _tokens_query() -> Select[Any]:
    return select(
        api_tokens.c.id,
        api_tokens.c.name,
        users.c.name.label("user"),
        api_tokens.c.role,
        api_tokens.c.created_at,
        api_tokens.c.expires_at,
        api_tokens.c.revoked_at,
        api_tokens.c.last_used_at,
    ).outerjoin(users, users.c.id == api_tokens.c.user_id)


def _user_row(fields: RowMapping) -> UserRow:
    return UserRow(**(dict(fields) | {"role": Role(fields["role"])}))


def _token_row(fields: RowMapping) -> TokenRow:
    return TokenRow(**(dict(fields) | {"role": Role(fields["role"])}))


# The user ``ensure_admin`` makes on a store that has no admin yet.
FIRST_ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class FirstAdmin:
    """What ``ensure_admin`` added, each None when it added nothing of the kind, so that
    the caller can record each addition. ``plain`` is a new token's text, to be shown once;
    a given token's never is."""

    user: UserRow | None = None
    token: TokenRow | None = None
    plain: str | None = None


def ensure_admin(connection: Connection, *, now: datetime, token: str | None = None) -> FirstAdmin:
    """Make sure someone can administer the store over the API. Without ``token``: on a
    store with no enabled admin, add the user ``admin`` with a new token (a store that has
    one gets nothing, so a token is shown at the first start only). With ``token`` (a
    person's choice, checked by ``check_given_token``): store its hash for the user
    ``admin``, adding that user if need be, unless it is stored already. An AuthError if
    ``admin`` exists but is disabled or not an admin."""
    if token is not None:
        return _keep_given_token(connection, check_given_token(token), now)
    if _has_enabled_admin(connection):
        return FirstAdmin()
    admin, is_added = _first_admin(connection, now)
    if not is_added:
        return FirstAdmin()
    made = create_token(connection, Role.ADMIN, now=now, user=FIRST_ADMIN, name="first")
    return FirstAdmin(admin, made.row, made.token)


def _keep_given_token(connection: Connection, token: str, now: datetime) -> FirstAdmin:
    token_hash = hash_token(token)
    known = select(api_tokens.c.id).where(api_tokens.c.token_hash == token_hash)
    if connection.execute(known).first() is not None:
        return FirstAdmin()
    admin, is_added = _first_admin(connection, now)
    row = _token_values(token_hash, Role.ADMIN, now=now, name="given", user_id=admin.id)
    # Of two processes storing the same given token at once, one inserts it; both are fine.
    added = insert_ignoring_conflicts(
        connection, api_tokens, [row], on=["token_hash"], returning=api_tokens.c.id
    )
    stored = get_token(connection, int(added[0])) if added else None
    return FirstAdmin(admin if is_added else None, stored)


def _has_enabled_admin(connection: Connection) -> bool:
    query = select(users.c.id).where(
        users.c.role == Role.ADMIN.value, users.c.is_disabled.is_(False)
    )
    return connection.execute(query.limit(1)).first() is not None


def _first_admin(connection: Connection, now: datetime) -> tuple[UserRow, bool]:
    """The user ``admin``, added unless it exists, and whether this call added it. Of
    processes starting at once, the unique name lets one add it (and show its token)."""
    row = {"name": FIRST_ADMIN, "role": Role.ADMIN.value, "is_disabled": False, "created_at": now}
    is_added = bool(
        insert_ignoring_conflicts(connection, users, [row], on=["name"], returning=users.c.id)
    )
    found = get_user(connection, FIRST_ADMIN)
    if found.is_disabled or found.role != Role.ADMIN:
        raise AuthError(
            "user", f"{FIRST_ADMIN!r} is disabled or not an admin: add an admin of another name"
        )
    return found, is_added
