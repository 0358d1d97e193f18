"""Change control's pure parts: the default author and the diff of two definitions."""

from __future__ import annotations

import pytest

from cronwell.versions import author_or_default, diff_definitions


def test_the_author_given_wins_else_the_user_running_this(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOGNAME", "ana")
    assert author_or_default("ci") == "ci"
    assert author_or_default(None) == "ana"
    assert author_or_default("") == "ana"


def test_a_diff_shows_the_changed_fields_under_numbered_headers() -> None:
    old = {"name": "sync", "retry": {"max_attempts": 3}, "schedule": "@hourly"}
    new = {"name": "sync", "retry": {"max_attempts": 5}, "schedule": "@hourly"}
    assert diff_definitions("sync", (1, old), (4, new)).splitlines() == [
        "--- sync@v1",
        "+++ sync@v4",
        "@@ -1,7 +1,7 @@",
        " {",
        '   "name": "sync",',
        '   "retry": {',
        '-    "max_attempts": 3',
        '+    "max_attempts": 5',
        "   },",
        '   "schedule": "@hourly"',
        " }",
    ]


def test_equal_definitions_differ_in_nothing() -> None:
    same = {"name": "sync", "tags": ["a", "b"]}
    assert diff_definitions("sync", (1, same), (2, dict(reversed(same.items())))) == ""
