"""Users and API tokens in the store, on both dialects, at explicit instants."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, select, text, update

from cronwell.app import Cronwell
from cronwell.auth import AuthError, Role, hash_token, verify_password
from cronwell.engine.clock import ManualClock
from cronwell.store.auth import (
    Principal,
    add_user,
    create_token,
    disable_user,
    find_principal,
    list_tokens,
    list_users,
    revoke_token,
)
from cronwell.store.database import Database
from cronwell.store.tables import api_tokens, metadata, users
from tests.waiting import eventually

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def principal_of(connection: Connection, token: str, now: datetime) -> Principal | None:
    """Whom ``token`` speaks for at ``now``, by the store's read alone."""
    found = find_principal(connection, token, now)
    return None if found is None else found[0]


def test_a_user_is_stored_with_its_role_and_only_a_hash_of_its_password(
    database: Database,
) -> None:
    with database.transaction() as connection:
        added = add_user(connection, "ada", Role.OPERATOR, now=NOW, password="hunter22")
        add_user(connection, "bob", Role.VIEWER, now=NOW)
    assert (added.name, added.role, added.has_password, added.is_disabled) == (
        "ada",
        Role.OPERATOR,
        True,
        False,
    )
    with database.transaction(write=False) as connection:
        listed = list_users(connection)
        stored = connection.execute(select(users.c.password_hash).where(users.c.name == "ada"))
        password_hash = stored.scalar_one()
    assert [(user.name, user.role, user.has_password) for user in listed] == [
        ("ada", Role.OPERATOR, True),
        ("bob", Role.VIEWER, False),
    ]
    assert "hunter22" not in password_hash
    assert verify_password("hunter22", password_hash)


def test_a_second_user_of_the_same_name_is_refused(database: Database) -> None:
    with database.transaction() as connection:
        add_user(connection, "ada", Role.ADMIN, now=NOW)
    with (
        pytest.raises(AuthError, match="name: user 'ada' already exists"),
        database.transaction() as connection,
    ):
        add_user(connection, "ada", Role.VIEWER, now=NOW)
    with database.transaction(write=False) as connection:
        assert [(user.name, user.role) for user in list_users(connection)] == [("ada", "admin")]


def test_of_two_adding_one_name_at_once_the_second_is_told_it_exists(
    database: Database,
) -> None:
    refused: list[str] = []

    def second() -> None:
        try:
            with database.transaction() as connection:
                add_user(connection, "ada", Role.VIEWER, now=NOW)
        except AuthError as error:
            refused.append(str(error))

    thread = threading.Thread(target=second)
    with database.transaction() as connection:
        add_user(connection, "ada", Role.ADMIN, now=NOW)
        thread.start()
        # The second waits behind the first: on PostgreSQL for the row its name collides
        # with (so it read before the first committed), on SQLite for the write lock.
        eventually(lambda: _is_waiting(database, thread))
    thread.join(timeout=10)
    assert refused == ["name: user 'ada' already exists"]
    with database.transaction(write=False) as connection:
        assert [(user.name, user.role) for user in list_users(connection)] == [("ada", "admin")]


def _is_waiting(database: Database, thread: threading.Thread) -> bool:
    if database.engine.dialect.name != "postgresql":
        return thread.is_alive()
    with database.transaction(write=False) as connection:
        waiting = (
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return bool(connection.execute(text(waiting)).scalar_one())


def test_a_token_authenticates_with_its_role_and_records_its_use(
    database: Database, database_url: str
) -> None:
    with database.transaction() as connection:
        add_user(connection, "ada", Role.ADMIN, now=NOW)
        made = create_token(connection, Role.OPERATOR, now=NOW, user="ada", name="deploys")
    app = Cronwell(database_url, clock=ManualClock(LATER), migrate=False)
    try:
        principal = app.authenticate(made.token)
    finally:
        app.database.dispose()
    assert principal is not None
    assert (principal.token_id, principal.user, principal.role) == (made.row.id, "ada", "operator")
    with database.transaction(write=False) as connection:
        (shown,) = list_tokens(connection)
    assert (shown.name, shown.user, shown.role) == ("deploys", "ada", Role.OPERATOR)
    assert (shown.created_at, shown.last_used_at, shown.revoked_at) == (NOW, LATER, None)


def test_only_the_hash_of_a_token_is_stored_and_never_shown(database: Database) -> None:
    with database.transaction() as connection:
        add_user(connection, "ada", Role.ADMIN, now=NOW)
        made = create_token(connection, Role.ADMIN, now=NOW, user="ada", name="ci")
    with database.transaction(write=False) as connection:
        stored = [
            list(row)
            for table in metadata.sorted_tables
            for row in connection.execute(select(table))
        ]
        shown = list_tokens(connection)
        hashes = connection.execute(select(api_tokens.c.token_hash)).scalars().all()
    assert hashes == [hash_token(made.token)]
    assert not any(made.token in str(value) for row in stored for value in row)
    assert not any(made.token in str(row) or hashes[0] in str(row) for row in shown)


def test_a_service_token_has_no_user(database: Database) -> None:
    with database.transaction() as connection:
        made = create_token(connection, Role.VIEWER, now=NOW)
        principal = principal_of(connection, made.token, NOW)
    assert principal is not None
    assert (principal.user_id, principal.user, principal.role) == (None, None, Role.VIEWER)


def test_an_unknown_token_authenticates_no_one(database: Database) -> None:
    with database.transaction() as connection:
        made = create_token(connection, Role.ADMIN, now=NOW)
        assert principal_of(connection, made.token + "x", NOW) is None
        assert principal_of(connection, "", NOW) is None
        assert principal_of(connection, hash_token(made.token), NOW) is None  # not the hash


def test_a_token_works_until_it_expires(database: Database) -> None:
    expires_at = NOW + timedelta(days=30)
    with database.transaction() as connection:
        made = create_token(connection, Role.VIEWER, now=NOW, expires_at=expires_at)
    with database.transaction() as connection:
        assert principal_of(connection, made.token, expires_at - timedelta(seconds=1))
        assert principal_of(connection, made.token, expires_at) is None
        assert principal_of(connection, made.token, expires_at + timedelta(days=1)) is None


def test_a_token_that_expires_before_it_is_made_is_refused(database: Database) -> None:
    with (
        pytest.raises(AuthError, match=r"expires_at: .* is not after now"),
        database.transaction() as connection,
    ):
        create_token(connection, Role.VIEWER, now=NOW, expires_at=NOW)
    with database.transaction(write=False) as connection:
        assert list_tokens(connection) == []


def test_a_revoked_token_no_longer_authenticates(database: Database) -> None:
    with database.transaction() as connection:
        made = create_token(connection, Role.ADMIN, now=NOW)
        other = create_token(connection, Role.ADMIN, now=NOW)
    with database.transaction() as connection:
        assert revoke_token(connection, made.row.id, now=LATER) == replace(
            made.row, revoked_at=LATER
        )
        assert revoke_token(connection, made.row.id, now=LATER + timedelta(hours=1)) is None
    with database.transaction() as connection:
        assert principal_of(connection, made.token, LATER) is None
        assert principal_of(connection, other.token, LATER) is not None
        revoked = [token.revoked_at for token in list_tokens(connection)]
    assert revoked == [LATER, None]


def test_revoking_an_unknown_token_is_refused(database: Database) -> None:
    with (
        pytest.raises(AuthError, match="id: token 7 does not exist"),
        database.transaction() as connection,
    ):
        revoke_token(connection, 7, now=NOW)


def test_a_disabled_users_tokens_no_longer_authenticate(database: Database) -> None:
    with database.transaction() as connection:
        add_user(connection, "ada", Role.ADMIN, now=NOW)
        made = create_token(connection, Role.ADMIN, now=NOW, user="ada")
    with database.transaction() as connection:
        assert disable_user(connection, "ada", now=LATER) is True
        assert disable_user(connection, "ada", now=LATER + timedelta(hours=1)) is False
    with database.transaction() as connection:
        assert principal_of(connection, made.token, LATER) is None
        (ada,) = list_users(connection)
    assert (ada.is_disabled, ada.disabled_at) == (True, LATER)
    with (
        pytest.raises(AuthError, match="user: user 'ada' is disabled"),
        database.transaction() as connection,
    ):
        create_token(connection, Role.VIEWER, now=LATER, user="ada")


def test_a_token_may_not_have_a_role_above_its_users(database: Database) -> None:
    with database.transaction() as connection:
        add_user(connection, "val", Role.VIEWER, now=NOW)
    with (
        pytest.raises(AuthError, match=r"role: admin is above the role of user 'val' \(viewer\)"),
        database.transaction() as connection,
    ):
        create_token(connection, Role.ADMIN, now=NOW, user="val")
    with database.transaction(write=False) as connection:
        assert list_tokens(connection) == []


@pytest.mark.parametrize("call", ["token", "disable"])
def test_an_unknown_user_is_refused(database: Database, call: str) -> None:
    with (
        pytest.raises(AuthError, match="user: user 'nobody' does not exist"),
        database.transaction() as connection,
    ):
        if call == "token":
            create_token(connection, Role.VIEWER, now=NOW, user="nobody")
        else:
            disable_user(connection, "nobody", now=NOW)


def test_a_token_acts_no_higher_than_its_users_role_now(database: Database) -> None:
    with database.transaction() as connection:
        add_user(connection, "ada", Role.ADMIN, now=NOW)
        made = create_token(connection, Role.ADMIN, now=NOW, user="ada")
        # No command lowers a role yet; the API's user management will, so the store
        # must already read the user's role when the token is used, not when it was made.
        connection.execute(update(users).values(role=Role.VIEWER.value))
    with database.transaction() as connection:
        principal = principal_of(connection, made.token, LATER)
    assert principal is not None and principal.role is Role.VIEWER
