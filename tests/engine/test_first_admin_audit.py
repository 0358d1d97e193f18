"""The first admin is a change like any other: the user and token ``ensure_admin`` adds are
recorded in the audit trail, once, and a given token's text never reaches it. On both
stores."""

from __future__ import annotations

from dataclasses import astuple
from datetime import UTC, datetime

from cronwell.app import Cronwell
from cronwell.auth import Role, hash_token

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
GIVEN = "cwt_" + "g" * 40


def test_a_fresh_stores_first_admin_and_token_are_recorded_once(app: Cronwell) -> None:
    token = app.ensure_admin()
    assert app.ensure_admin() is None
    user, made = app.list_audit(limit=10)[::-1]
    (stored,) = app.list_tokens()
    assert token is not None
    assert (user.action, user.object_type, user.object_id) == ("user.add", "user", "admin")
    assert user.after == {"name": "admin", "role": "admin", "signs_in_with": "token"}
    assert (made.action, made.object_type, made.object_id) == ("token.create", "token", "1")
    assert made.after["id"] == stored.id
    assert (made.after["user"], made.after["role"], made.after["name"]) == (
        "admin",
        "admin",
        "first",
    )
    assert user.at == made.at == NOW
    assert token not in repr(astuple(made))


def test_a_given_token_is_recorded_once_without_its_text_or_hash(app: Cronwell) -> None:
    app.add_user("root", Role.ADMIN)
    assert app.ensure_admin(GIVEN) is None
    assert app.ensure_admin(GIVEN) is None
    actions = [(r.action, r.object_id) for r in app.list_audit(limit=10)[::-1]]
    (made,) = [r for r in app.list_audit(limit=10) if r.action == "token.create"]
    assert actions == [("user.add", "root"), ("user.add", "admin"), ("token.create", "1")]
    assert (made.after["user"], made.after["name"]) == ("admin", "given")
    text = repr(astuple(made))
    assert GIVEN not in text
    assert GIVEN[4:] not in text
    assert hash_token(GIVEN) not in text


def test_a_given_token_for_an_existing_admin_records_only_the_token(app: Cronwell) -> None:
    app.ensure_admin()
    app.ensure_admin(GIVEN)
    actions = [r.action for r in app.list_audit(limit=10)[::-1]]
    assert actions == ["user.add", "token.create", "token.create"]


def test_a_store_with_an_admin_records_nothing(app: Cronwell) -> None:
    app.add_user("root", Role.ADMIN)
    assert app.ensure_admin() is None
    assert [r.action for r in app.list_audit(limit=10)] == ["user.add"]
