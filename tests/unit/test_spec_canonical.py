"""JobSpec.from_canonical: the stored form read back without validation equals what parse
makes of it, and anything not in the canonical shape is validated as before."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cronwell.spec import JobSpec, SpecError

SCHEDULES: tuple[str | dict[str, Any], ...] = (
    "manual",
    "*/5 * * * *",
    "30 2 * * *",
    "0 0 L * *",
    "every 90s",
    "daily 09:00,13:30",
    "weekly mon,thu 10:00",
    "monthly 1,15,last 12:00",
    "once 2026-12-01T10:00",
    "event deploy",
    {"every": "5m", "jitter": "10s"},
    {"cron": "0 9 * * MON-FRI", "timezone": "America/New_York", "start": "2026-01-01T00:00"},
)
OPTIONS: dict[str, st.SearchStrategy[Any]] = {
    "description": st.sampled_from(["", "the nightly report"]),
    "args": st.sampled_from([[], [1, "two", {"three": 3}]]),
    "kwargs": st.sampled_from([{}, {"region": "emea", "limits": [1, 2]}]),
    "timezone": st.sampled_from(["UTC", "Europe/London", "Australia/Lord_Howe"]),
    "enabled": st.booleans(),
    "queue": st.sampled_from(["default", "reports"]),
    "priority": st.sampled_from(["critical", "High", "normal", "background"]),
    "timeout": st.sampled_from([None, 90, 1.5, "15m", "1h30m"]),
    "retry": st.sampled_from(
        [
            {},
            {"strategy": "none"},
            {"strategy": "linear", "max_attempts": 5, "initial_delay": "30s", "max_delay": "1h"},
            {"strategy": "fixed", "initial_delay": 0, "max_delay": 0, "jitter": 0},
            {"multiplier": 3, "jitter": 1},
        ]
    ),
    "overlap": st.sampled_from(["allow", "forbid", "queue", "replace"]),
    "misfire": st.sampled_from(
        ["skip", "run_all", {"policy": "run_all", "grace": "6h", "max_catch_up": 3}, {"grace": 0}]
    ),
    "on_dead": st.sampled_from(["keep", "disable"]),
    "mode": st.sampled_from(["process", "thread"]),
    "tags": st.sampled_from([[], ["sales", "daily"]]),
    "metadata": st.sampled_from([{}, {"owner": "sales-ops"}]),
}


@st.composite
def definitions(draw: st.DrawFn) -> dict[str, Any]:
    definition: dict[str, Any] = {"name": draw(st.sampled_from(["report", "sync.eu-1"]))}
    target = draw(st.sampled_from(["task", "shell", "argv"]))
    if target == "task":
        definition["task"] = "reports.sales:nightly"
    else:
        definition["command"] = "echo hi" if target == "shell" else ["echo", "hi"]
    definition["schedule"] = draw(st.sampled_from(SCHEDULES))
    for option, values in OPTIONS.items():
        if draw(st.booleans()):
            definition[option] = draw(values)
    is_thread_task = target == "task" and definition.get("mode") == "thread"
    if draw(st.booleans()) and not is_thread_task:  # a thread has the worker's environment
        definition["env"] = draw(st.sampled_from([{}, {"PATH": "/usr/bin", "REGION": "emea"}]))
    return definition


@settings(max_examples=300)
@given(definitions())
def test_the_stored_form_reads_back_as_parse_reads_it(definition: dict[str, Any]) -> None:
    canonical = JobSpec.parse(definition).canonical()
    trusted, parsed = JobSpec.from_canonical(canonical), JobSpec.parse(canonical)
    assert trusted == parsed
    for field in ("overlap", "on_dead", "mode", "priority", "retry", "misfire", "timeout"):
        assert type(getattr(trusted, field)) is type(getattr(parsed, field)), field
    assert type(trusted.schedule) is type(parsed.schedule)
    assert trusted.canonical() == canonical


def test_the_trusted_form_shares_nothing_mutable_with_the_stored_one() -> None:
    canonical = JobSpec.parse(
        {"name": "a", "task": "t", "kwargs": {"x": 1}, "schedule": {"every": "5m"}}
    ).canonical()
    spec = JobSpec.from_canonical(canonical)
    canonical["kwargs"]["x"] = 2
    canonical["schedule"]["every"] = "1m"
    assert dict(spec.kwargs) == {"x": 1}
    assert spec.schedule_source == {"every": "5m"}


CANONICAL = JobSpec.parse({"name": "report", "task": "reports:nightly"}).canonical()


@pytest.mark.parametrize(
    "changes",
    [
        {"retry": {"max_attempts": 2}},  # an older form, without every key: defaults fill in
        {"misfire": "skip"},  # a shorthand
        {"timeout": "15m"},
        {"priority": " high "},
    ],
)
def test_a_form_not_in_canonical_shape_is_parsed(changes: dict[str, Any]) -> None:
    stored = CANONICAL | changes
    assert JobSpec.from_canonical(stored) == JobSpec.parse(stored)


def test_an_older_form_missing_a_field_is_parsed() -> None:
    stored = {key: value for key, value in CANONICAL.items() if key != "on_dead"}
    assert JobSpec.from_canonical(stored) == JobSpec.parse(stored)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"schedule": "61 * * * *"}, "schedule: minute field"),
        ({"priority": "urgent"}, "priority: "),
        ({"retry": CANONICAL["retry"] | {"strategy": "sometimes"}}, "retry.strategy"),
        ({"overlap": "never"}, "overlap"),
    ],
)
def test_an_invalid_stored_form_is_still_refused_in_the_users_words(
    changes: dict[str, Any], problem: str
) -> None:
    with pytest.raises(SpecError, match=problem):
        JobSpec.from_canonical(CANONICAL | changes)
