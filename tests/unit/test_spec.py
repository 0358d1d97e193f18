"""JobSpec: one validation for every way a job is defined, every problem named with its place."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from cronwell.policies import MisfireAction, OverlapPolicy, Priority, RetryStrategy
from cronwell.spec import JobSpec, Mode, OnDead, SpecError, parse_jobs

FULL: dict[str, Any] = {
    "name": "nightly-report",
    "description": "The report the sales team reads at nine",
    "task": "reports.sales:nightly",
    "args": [1, "two"],
    "kwargs": {"region": "emea"},
    "schedule": "30 2 * * *",
    "timezone": "Europe/London",
    "enabled": False,
    "queue": "reports",
    "priority": "High",
    "timeout": "15m",
    "retry": {"strategy": "linear", "max_attempts": 5, "initial_delay": "30s", "max_delay": "1h"},
    "overlap": "queue",
    "misfire": {"policy": "run_all", "grace": "6h", "max_catch_up": 3},
    "on_dead": "disable",
    "mode": "thread",
    "tags": ["sales", "daily"],
    "metadata": {"owner": "sales-ops"},
}


def test_a_full_definition_becomes_typed_values() -> None:
    spec = JobSpec.parse(FULL)
    assert spec.schedule.describe() == "At 02:30 (Europe/London)"
    assert (spec.priority, spec.timeout, spec.mode, spec.on_dead) == (
        Priority.HIGH, timedelta(minutes=15), Mode.THREAD, OnDead.DISABLE,
    )  # fmt: skip
    assert spec.retry.strategy is RetryStrategy.LINEAR
    assert (spec.retry.max_attempts, spec.retry.initial_delay) == (5, timedelta(seconds=30))
    assert spec.overlap is OverlapPolicy.QUEUE
    assert (spec.misfire.action, spec.misfire.grace) == (MisfireAction.RUN_ALL, timedelta(hours=6))
    assert (spec.args, dict(spec.kwargs), spec.tags) == (
        (1, "two"),
        {"region": "emea"},
        ("sales", "daily"),
    )
    assert not spec.is_enabled


def test_defaults_are_the_documented_ones() -> None:
    spec = JobSpec.parse({"name": "cleanup", "command": "rm -rf /tmp/cache/*"})
    assert spec.schedule.describe() == "Only when triggered by hand"
    assert (spec.queue, spec.priority, spec.timeout, spec.mode) == (
        "default",
        Priority.NORMAL,
        None,
        Mode.PROCESS,
    )
    assert (spec.overlap, spec.on_dead) == (OverlapPolicy.FORBID, OnDead.KEEP)
    assert (spec.retry.strategy, spec.retry.max_attempts) == (RetryStrategy.EXPONENTIAL, 3)
    assert (spec.misfire.action, spec.misfire.grace) == (MisfireAction.RUN_ONCE, timedelta(days=1))


def test_the_canonical_form_round_trips_and_is_plain_json() -> None:
    canonical = JobSpec.parse(FULL).canonical()
    assert JobSpec.from_canonical(canonical).canonical() == canonical
    assert canonical["priority"] == "high"
    assert canonical["retry"]["initial_delay"] == 30.0
    assert JobSpec.parse({"name": "x", "command": ["ls", "-l"]}).command == ("ls", "-l")


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"schedule": "61 * * * *"}, "schedule: minute field: 61 is out of range 0-59"),
        ({"schedule": {"cron": "* * * * *", "start": "soon"}}, "schedule: start: 'soon' is not"),
        ({"timezone": "Mars/Olympus"}, "timezone: unknown time zone 'Mars/Olympus'"),
        ({"priority": "urgent"}, "priority: 'urgent' is not one of critical, high"),
        ({"timeout": "soon"}, "timeout: 'soon' is not a duration"),
        ({"retry": {"max_attempts": 0}}, "retry.max_attempts: Input should be greater than"),
        ({"retry": {"initial_delay": 60, "max_delay": 5}}, "retry.max_delay: must be at least"),
        ({"misfire": "sometimes"}, "misfire.policy: Input should be 'skip', 'run_once'"),
        ({"overlap": "never"}, "overlap: Input should be 'allow', 'forbid', 'queue'"),
        ({"mode": "fiber"}, "mode: Input should be 'process' or 'thread'"),
        ({"name": "two words"}, "name: 'two words' must start with a letter or digit"),
        ({"queue": ""}, "queue: '' must start with a letter or digit"),
        ({"tags": ["ok", "not ok"]}, "tags: 'not ok' must start"),
        ({"task": "not a path!"}, "task: 'not a path!' is not a task name"),
        ({"command": "ls"}, ": give exactly one of task and command"),
        ({"colour": "blue"}, "colour: unknown field"),
        ({"timeout": 0}, "timeout: 0 must be longer than zero"),
        ({"timeout": [5]}, "timeout: must be a duration like 90s"),
        ({"misfire": {"grace": -1}}, "misfire.grace: -1 must be zero or longer"),
        ({"retry": {"initial_delay": -5}}, "retry.initial_delay: -5 must be zero or longer"),
        ({"retry": 3}, "retry: must be a mapping"),
        ({"command": 5, "task": None}, "command: must be a shell command line or a list of"),
        ({"args": "a b"}, "args: must be a list"),
        ({"schedule": 7}, "schedule: must be a schedule string or a mapping"),
        ({"command": [], "task": None}, "command: must not be empty"),
        ({"command": " ", "task": None}, "command: must not be empty"),
        ({"timeout": timedelta(0)}, "timeout: 0s must be longer than zero"),
        ({"misfire": {"grace": timedelta(seconds=-5)}}, "misfire.grace: -5s must be zero or"),
        ({"heartbeat_timeout": "soon"}, "heartbeat_timeout: 'soon' is not a duration"),
        ({"heartbeat_timeout": 0}, "heartbeat_timeout: 0 must be longer than zero"),
        ({"heartbeat_timeout": -5}, "heartbeat_timeout: -5 must be longer than zero"),
        ({"heartbeat_timeout": timedelta(0)}, "heartbeat_timeout: 0s must be longer than zero"),
        ({"heartbeat_timeout": [5]}, "heartbeat_timeout: must be a duration like 90s"),
        (
            {"task": None, "command": "sleep 60", "heartbeat_timeout": "1m"},
            "heartbeat_timeout: a command cannot call ctx.heartbeat(): give a task",
        ),
    ],
)
def test_every_problem_names_its_place(changes: dict[str, Any], problem: str) -> None:
    definition = {"name": "job", "task": "pkg.mod:func"} | changes
    with pytest.raises(SpecError) as caught:
        parse_jobs([{"name": "fine", "command": "true"}, definition])
    assert any(
        line.startswith("jobs[1].") or line.startswith("jobs[1]:")
        for line in str(caught.value).splitlines()
    )
    assert problem in str(caught.value)


def test_a_file_reports_every_problem_at_once() -> None:
    with pytest.raises(SpecError) as caught:
        parse_jobs([
            {"name": "a", "task": "x:y", "schedule": "61 * * * *"},
            "not a job",
            {"name": "b", "command": "ls", "priority": "urgent", "timeout": "soon"},
            {"name": "a", "command": "true"},
        ])  # fmt: skip
    assert caught.value.problems == [
        ("jobs[0].schedule", "minute field: 61 is out of range 0-59"),
        ("jobs[1]", "must be a mapping of job fields"),
        ("jobs[2].priority", "'urgent' is not one of critical, high, normal, low, background"),
        ("jobs[2].timeout", "'soon' is not a duration like 90s, 5m, 2h or 1d"),
        ("jobs[3].name", "'a' is defined twice (also jobs[0])"),
    ]


def test_a_problem_of_the_whole_job_has_no_empty_place() -> None:
    with pytest.raises(SpecError) as caught:
        JobSpec.parse({"name": "job"})
    assert str(caught.value) == "give exactly one of task and command"


def test_durations_may_be_timedeltas_from_python() -> None:
    retry = {"initial_delay": timedelta(0), "max_delay": timedelta(hours=1)}
    spec = JobSpec.parse(
        {"name": "j", "command": "true", "timeout": timedelta(minutes=5), "retry": retry}
    )
    assert (spec.timeout, spec.retry.initial_delay) == (timedelta(minutes=5), timedelta(0))
    assert spec.canonical()["timeout"] == 300


def test_a_list_is_required() -> None:
    with pytest.raises(SpecError, match="jobs: must be a list of jobs"):
        parse_jobs({"name": "x"})


def test_heartbeat_timeout_is_a_duration_none_by_default() -> None:
    assert JobSpec.parse({"name": "j", "task": "pkg.mod:func"}).heartbeat_timeout is None
    spec = JobSpec.parse({"name": "j", "task": "pkg.mod:func", "heartbeat_timeout": "2m"})
    assert spec.heartbeat_timeout == timedelta(minutes=2)
    canonical = spec.canonical()
    assert canonical["heartbeat_timeout"] == 120
    assert JobSpec.from_canonical(canonical) == spec
