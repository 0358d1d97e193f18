"""Secret masking: which keys name a secret, and mappings, definitions and text masked."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cronwell.engine.masking import masked_outcome
from cronwell.lifecycle import AttemptStatus
from cronwell.policies.base import PolicyError
from cronwell.policies.secrets import CHANGED, MASK, SecretKeys
from cronwell.store.runs import Outcome


@pytest.mark.parametrize(
    "key", ["password", "DB_PASSWORD", "X-Api-Key", "api-key", "API_KEY", "github_token", "Secret"]
)
def test_a_key_that_contains_a_pattern_names_a_secret(key: str) -> None:
    assert SecretKeys().matches(key)


@pytest.mark.parametrize("key", ["user", "apikey_hint", "passwd", "host", 3, None])
def test_other_keys_name_no_secret(key: Any) -> None:
    assert not SecretKeys().matches(key)


def test_patterns_are_configurable_and_read_from_comma_separated_text() -> None:
    keys = SecretKeys.parse(" pin , Session-Id,,")
    assert keys.patterns == ("pin", "session_id")
    assert keys.matches("USER_PIN") and keys.matches("session_id")
    assert not keys.matches("password")


@pytest.mark.parametrize("patterns", [("",), ("  ",), "password", (3,)])
def test_bad_patterns_are_refused_naming_the_setting(patterns: Any) -> None:
    with pytest.raises(PolicyError, match=r"^secret_keys: "):
        SecretKeys(patterns)


def test_a_mapping_is_masked_at_any_depth_and_the_original_is_left_alone() -> None:
    value: dict[str, Any] = {
        "user": "ana",
        "db": {"password": "hunter2", "hosts": [{"api_key": "k", "port": 5432}]},
        "token": {"nested": "all of it"},
    }
    masked = SecretKeys().mask_mapping(value)
    assert masked == {
        "user": "ana",
        "db": {"password": MASK, "hosts": [{"api_key": MASK, "port": 5432}]},
        "token": MASK,
    }
    assert value["db"]["password"] == "hunter2"


def test_a_definition_masks_kwargs_env_and_metadata_and_leaves_args_and_the_rest() -> None:
    definition: dict[str, Any] = {
        "name": "sync",
        "args": ["password", "hunter2"],
        "kwargs": {"api_key": "k", "n": 1},
        "env": {"DB_PASSWORD": "p", "HOME": "/root"},
        "metadata": {"owner": "ops", "slack_token": "t"},
        "command": None,
    }
    assert SecretKeys().mask_definition(definition) == {
        "name": "sync",
        "args": ["password", "hunter2"],
        "kwargs": {"api_key": MASK, "n": 1},
        "env": {"DB_PASSWORD": MASK, "HOME": "/root"},
        "metadata": {"owner": "ops", "slack_token": MASK},
        "command": None,
    }
    assert definition["kwargs"]["api_key"] == "k"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("password=hunter2", "password=***"),
        ("login ok, DB_PASSWORD=s3cr3t; next", "login ok, DB_PASSWORD=***; next"),
        ("token: abc.def more", "token: *** more"),
        ('{"api_key": "k-1\\"x", "user": "ana"}', '{"api_key": "***", "user": "ana"}'),
        ("X-Api-Key: 123\nuser=ana", "X-Api-Key: ***\nuser=ana"),
        ("secret = 'a b'", "secret = '***'"),
        ("user=ana host: db", "user=ana host: db"),
        ("ValueError: password: hunter2", "ValueError: password: ***"),
        ("url=https://x?token=abc&n=1", "url=https://x?token=***&n=1"),
    ],
)
def test_free_text_has_its_secret_assignments_masked(text: str, masked: str) -> None:
    assert SecretKeys().mask_text(text) == masked


@pytest.mark.parametrize("text", ["a" * 1_000_000, "token" * 200_000, '"' * 1_000_000])
def test_masking_takes_time_in_proportion_to_the_text(text: str) -> None:
    # A pattern that backtracks takes hours on a long word; a linear one well under a second.
    started = time.monotonic()
    assert SecretKeys().mask_text(text) == text
    assert time.monotonic() - started < 5


def test_text_is_masked_by_the_configured_patterns() -> None:
    assert SecretKeys(("pin",)).mask_text("pin=1234 password=x") == "pin=*** password=x"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "password", "Api-Key", "b", "my_token"]), inner)
    ),
    max_leaves=12,
)


def _secret_values(value: Any) -> list[Any]:
    """The values under secret keys, at any depth."""
    found: list[Any] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += [inner] if SecretKeys().matches(key) else _secret_values(inner)
    elif isinstance(value, list):
        for inner in value:
            found += _secret_values(inner)
    return found


@given(json_values)
def test_masking_leaves_only_masks_under_secret_keys_and_is_idempotent(value: Any) -> None:
    masked = SecretKeys().mask_mapping(value)
    assert all(found == MASK for found in _secret_values(masked))
    assert SecretKeys().mask_mapping(masked) == masked
    if not _secret_values(value):
        assert masked == value


@given(
    st.sampled_from(["password", "TOKEN", "api-key"]),
    st.from_regex(r"[A-Za-z0-9]{1,12}", fullmatch=True),
)
def test_a_secret_assigned_in_text_never_survives(key: str, secret: str) -> None:
    forms = {
        f"{key}={secret}": f"{key}={MASK}",
        f"{key}: {secret}": f"{key}: {MASK}",
        f'"{key}": "{secret}"': f'"{key}": "{MASK}"',
    }
    for text, masked in forms.items():
        assert SecretKeys().mask_text(f"start {text} end") == f"start {masked} end"


def test_an_attempts_output_error_and_progress_are_masked_and_the_rest_kept() -> None:
    ended = Outcome(
        AttemptStatus.FAILED,
        datetime(2026, 6, 1, tzinfo=UTC),
        exit_code=1,
        output="token=abc",
        error="ValueError: password: hunter2",
        progress="secret=1 of 2",
        logs=[{"level": "INFO", "message": "login with password=x", "extra": {"token": "t"}}],
    )
    masked = masked_outcome(ended, SecretKeys())
    assert (masked.output, masked.error, masked.progress) == (
        "token=***",
        "ValueError: password: ***",
        "secret=*** of 2",
    )
    assert masked.logs == [
        {"level": "INFO", "message": "login with password=***", "extra": {"token": "***"}}
    ]
    assert (masked.status, masked.exit_code) == (ended.status, ended.exit_code)
    assert masked_outcome(Outcome(AttemptStatus.SUCCEEDED, ended.finished_at), SecretKeys()) == (
        Outcome(AttemptStatus.SUCCEEDED, ended.finished_at)
    )


def test_two_definitions_masked_for_a_diff_say_which_secret_changed_and_not_its_value() -> None:
    before = {"kwargs": {"token": "a", "api_key": "k"}, "env": {"PASSWORD": "p"}}
    after = {"kwargs": {"token": "b", "api_key": "k"}, "env": {"PASSWORD": "p", "SECRET": "s"}}
    old, new = SecretKeys().mask_definitions(before, after)
    assert old == {"kwargs": {"token": MASK, "api_key": MASK}, "env": {"PASSWORD": MASK}}
    assert new == {
        "kwargs": {"token": CHANGED, "api_key": MASK},
        "env": {"PASSWORD": MASK, "SECRET": MASK},
    }
    assert before["kwargs"]["token"] == "a" and after["kwargs"]["token"] == "b"


def test_mask_all_masks_secret_keys_and_secret_assignments_in_every_string() -> None:
    value = {"a": ["x token=t y", {"api_key": ["k"]}], "n": 1, "password": None}
    assert SecretKeys().mask_all(value) == {
        "a": ["x token=*** y", {"api_key": MASK}],
        "n": 1,
        "password": MASK,
    }


def test_a_definition_sent_back_masked_keeps_the_current_secrets() -> None:
    keys = SecretKeys()
    current = {"kwargs": {"api_key": "k", "nested": {"token": "t"}}, "env": {"PASSWORD": "p"}}
    sent = {"kwargs": {"api_key": "***", "nested": {"token": "new"}}, "env": {"PASSWORD": "***"}}
    kept = keys.keep_masked(sent, current)
    assert kept == {
        "kwargs": {"api_key": "k", "nested": {"token": "new"}},
        "env": {"PASSWORD": "p"},
    }
    assert keys.keep_masked({"kwargs": {"note": "***"}}, {"kwargs": {"note": "x"}}) == {
        "kwargs": {"note": "***"}  # not a secret key: the text is what was sent
    }
    assert keys.keep_masked({"name": "a"}, current) == {"name": "a"}
