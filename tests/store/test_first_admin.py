"""The first admin: a token shown once on a store without an admin, or the one given."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Table, func, select

from cronwell.auth import AuthError, Role, check_given_token, hash_token
from cronwell.store.auth import (
    FirstAdmin,
    add_user,
    disable_user,
    ensure_admin,
    find_principal,
)
from cronwell.store.database import Database
from cronwell.store.tables import api_tokens, users

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
GIVEN = "cwt_" + "x" * 40


def test_a_store_without_an_admin_gets_one_whose_token_is_returned_once(
    database: Database,
) -> None:
    with database.transaction() as connection:
        token = ensure_admin(connection, now=NOW).plain
        again = ensure_admin(connection, now=NOW)
        found = find_principal(connection, token or "", NOW)
    assert token is not None and token.startswith("cwt_")
    assert again == FirstAdmin()
    assert found is not None
    assert (found[0].user, found[0].role) == ("admin", Role.ADMIN)
    assert _count(database, api_tokens) == 1


def test_a_store_with_an_enabled_admin_gets_nothing(database: Database) -> None:
    with database.transaction() as connection:
        add_user(connection, "root", Role.ADMIN, now=NOW)
        assert ensure_admin(connection, now=NOW) == FirstAdmin()
    assert _count(database, users) == 1
    assert _count(database, api_tokens) == 0


def test_a_disabled_admin_does_not_count_and_a_disabled_user_admin_is_refused(
    database: Database,
) -> None:
    with database.transaction() as connection:
        add_user(connection, "admin", Role.ADMIN, now=NOW)
        disable_user(connection, "admin", now=NOW)
    with (
        pytest.raises(AuthError, match="user: 'admin' is disabled or not an admin"),
        database.transaction() as connection,
    ):
        ensure_admin(connection, now=NOW)
    assert _count(database, api_tokens) == 0


def test_a_given_token_is_stored_hashed_for_the_admin_once_and_never_returned(
    database: Database,
) -> None:
    with database.transaction() as connection:
        add_user(connection, "root", Role.ADMIN, now=NOW)
        first = ensure_admin(connection, now=NOW, token=GIVEN)
        again = ensure_admin(connection, now=NOW, token=GIVEN)
        found = find_principal(connection, GIVEN, NOW)
        stored = connection.execute(select(api_tokens.c.token_hash)).scalars().all()
    assert found is not None
    assert (found[0].user, found[0].role) == ("admin", Role.ADMIN)
    assert stored == [hash_token(GIVEN)]
    assert first.plain is None, "a given token is never returned"
    assert first.user is not None and first.user.name == "admin"
    assert first.token is not None and first.token.name == "given"
    assert again == FirstAdmin()


def test_a_weak_given_token_is_refused_and_nothing_is_stored(database: Database) -> None:
    with (
        pytest.raises(AuthError, match="token: must start with cwt_"),
        database.transaction() as connection,
    ):
        ensure_admin(connection, now=NOW, token="x" * 40)
    assert _count(database, users) == 0


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        ("secret" * 8, "token: must start with cwt_"),
        ("cwt_" + "a" * 31, "token: must have at least 32 characters after cwt_"),
        ("cwt_" + "a" * 31 + " ", "token: may hold only letters, digits, '-' and '_'"),
    ],
)
def test_a_given_token_must_be_prefixed_long_and_header_safe(token: str, problem: str) -> None:
    with pytest.raises(AuthError) as refused:
        check_given_token(token)
    assert str(refused.value) == problem


def test_a_long_enough_given_token_is_accepted() -> None:
    assert check_given_token("cwt_" + "a-_9" * 8) == "cwt_" + "a-_9" * 8


def _count(database: Database, table: Table) -> int:
    with database.transaction(write=False) as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())
