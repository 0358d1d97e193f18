"""Users and tokens through the Cronwell facade, on the app's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cronwell.app import Cronwell
from cronwell.auth import AuthError, Role
from cronwell.engine.clock import ManualClock

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_a_token_for_a_span_expires_by_the_apps_clock(app: Cronwell, clock: ManualClock) -> None:
    app.add_user("ada", "operator")
    made = app.create_token(Role.OPERATOR, user="ada", expires_in=timedelta(days=1))
    assert made.row.expires_at == NOW + timedelta(days=1)
    clock.advance(timedelta(hours=23))
    principal = app.authenticate(made.token)
    assert principal is not None and (principal.user, principal.role) == ("ada", "operator")
    assert app.list_tokens()[0].last_used_at == NOW + timedelta(hours=23)
    clock.advance(timedelta(hours=1))
    assert app.authenticate(made.token) is None


def test_revoking_and_disabling_stop_tokens_at_the_apps_now(
    app: Cronwell, clock: ManualClock
) -> None:
    app.add_user("ada", Role.ADMIN)
    mine = app.create_token("viewer", user="ada")
    service = app.create_token("admin", name="backups")
    clock.advance(timedelta(minutes=5))
    assert app.revoke_token(service.row.id) is True
    assert app.disable_user("ada") is True
    assert app.authenticate(service.token) is None
    assert app.authenticate(mine.token) is None
    assert app.list_tokens()[1].revoked_at == NOW + timedelta(minutes=5)
    assert app.list_users()[0].disabled_at == NOW + timedelta(minutes=5)


def test_an_unknown_role_is_refused_by_name(app: Cronwell) -> None:
    with pytest.raises(AuthError, match="role: unknown role 'owner'"):
        app.add_user("ada", "owner")
    with pytest.raises(AuthError, match="role: unknown role 'owner'"):
        app.create_token("owner")
    assert app.list_users() == [] and app.list_tokens() == []
