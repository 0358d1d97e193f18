"""Logging in with a password: the one read that sees a user's password hash.

``cronwell.store.auth`` never lets a hash out; a login needs it once, to check a password
against it, and this module is that one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import Connection, select

from cronwell.auth import hash_password
from cronwell.store.auth import UserRow, get_user
from cronwell.store.tables import users


@dataclass(frozen=True, slots=True)
class Login:
    """A user who may log in with a password, and the hash to check it against."""

    row: UserRow
    password_hash: str


@cache
def stand_in() -> str:
    """A hash an unknown name's password is checked against: it costs the same scrypt as a
    known name's, so the time a login takes does not say whether the name exists. Made on
    first use, not on import: every command imports this, few log anyone in."""
    return hash_password("")


def find_login(connection: Connection, name: str) -> Login | None:
    """The user ``name`` with its password hash, if it exists, is enabled and has one."""
    password_hash = connection.execute(
        select(users.c.password_hash).where(users.c.name == name, users.c.is_disabled.is_(False))
    ).scalar_one_or_none()
    if password_hash is None:
        return None
    return Login(get_user(connection, name), password_hash)
