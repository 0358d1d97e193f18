"""Roles, tokens and password hashes (cronwell.auth)."""

from __future__ import annotations

import hashlib

import pytest

from cronwell.auth import (
    TOKEN_PREFIX,
    AuthError,
    Role,
    hash_password,
    hash_token,
    new_token,
    parse_role,
    verify_password,
)


def test_roles_are_ordered_admin_over_operator_over_viewer() -> None:
    assert Role.ADMIN.is_at_least(Role.OPERATOR)
    assert Role.OPERATOR.is_at_least(Role.VIEWER)
    assert Role.OPERATOR.is_at_least(Role.OPERATOR)
    assert not Role.VIEWER.is_at_least(Role.OPERATOR)
    assert not Role.OPERATOR.is_at_least(Role.ADMIN)
    assert sorted(Role, key=lambda role: role.rank) == [Role.VIEWER, Role.OPERATOR, Role.ADMIN]


def test_parse_role_names_the_field_and_the_roles_there_are() -> None:
    assert parse_role("operator") is Role.OPERATOR
    with pytest.raises(AuthError) as raised:
        parse_role("root", field="--role")
    assert str(raised.value) == "--role: unknown role 'root' (one of viewer, operator, admin)"


def test_tokens_are_prefixed_random_and_long() -> None:
    tokens = {new_token() for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert token.startswith(TOKEN_PREFIX)
        assert len(token) >= len(TOKEN_PREFIX) + 43  # 32 bytes, base64 without padding


def test_a_token_hash_is_its_sha256_and_never_the_token() -> None:
    token = new_token()
    assert hash_token(token) == hashlib.sha256(token.encode()).hexdigest()
    assert hash_token(token) != hash_token(new_token())
    assert token not in hash_token(token)


def test_a_password_verifies_against_its_hash_only() -> None:
    stored = hash_password("correct horse")
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horsE", stored)
    assert not verify_password("", stored)
    assert "correct horse" not in stored


def test_the_same_password_hashes_differently_each_time() -> None:
    first, second = hash_password("s3cret"), hash_password("s3cret")
    assert first != second  # a fresh salt each time
    assert verify_password("s3cret", first) and verify_password("s3cret", second)


@pytest.mark.parametrize(
    "stored", ["", "plain", "bcrypt$1$2$3$00$00", "scrypt$x$8$1$00$00", "scrypt$16384$8$1$zz$00"]
)
def test_a_stored_value_that_is_no_hash_never_verifies(stored: str) -> None:
    assert not verify_password("anything", stored)
