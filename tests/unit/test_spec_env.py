"""JobSpec.env: the variables a job's command or task process gets on top of the worker's."""

from __future__ import annotations

from typing import Any

import pytest

from cronwell.spec import JobSpec, SpecError

JOB: dict[str, Any] = {"name": "backup", "command": "backup.sh", "schedule": "@daily"}


def test_env_is_kept_and_stored_in_the_canonical_form() -> None:
    spec = JobSpec.parse(JOB | {"env": {"PATH": "/usr/bin:/bin", "MODE": "full"}})
    assert dict(spec.env) == {"PATH": "/usr/bin:/bin", "MODE": "full"}
    canonical = spec.canonical()
    assert canonical["env"] == {"PATH": "/usr/bin:/bin", "MODE": "full"}
    assert JobSpec.from_canonical(canonical) == spec


def test_a_job_without_env_has_an_empty_one() -> None:
    spec = JobSpec.parse(JOB)
    assert dict(spec.env) == {}
    assert spec.canonical()["env"] == {}


def test_a_stored_form_from_before_env_still_loads() -> None:
    older = JobSpec.parse(JOB).canonical()
    del older["env"]
    assert JobSpec.from_canonical(older) == JobSpec.parse(JOB)


def test_env_changes_the_definition() -> None:
    plain, with_env = JobSpec.parse(JOB), JobSpec.parse(JOB | {"env": {"A": "1"}})
    assert plain.canonical() != with_env.canonical()


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"1ST": "x"}, "'1ST' is not an environment variable name"),
        ({"MY-VAR": "x"}, "'MY-VAR' is not an environment variable name"),
        ({"A": "x\0y"}, "A: a value must not hold a NUL character"),
        ({"PORT": 8080}, "Input should be a valid string"),
        (["A=1"], "must be a mapping"),
    ],
)
def test_bad_env_is_named(env: Any, problem: str) -> None:
    with pytest.raises(SpecError) as error:
        JobSpec.parse(JOB | {"env": env}, "jobs[0]")
    ((place, found),) = error.value.problems
    assert place.startswith("jobs[0].env")
    assert problem in found


def test_a_thread_task_cannot_have_env() -> None:
    job = {"name": "t", "task": "pkg.mod:fn", "mode": "thread", "env": {"A": "1"}}
    with pytest.raises(SpecError, match="env: a task in mode thread shares"):
        JobSpec.parse(job)
    assert JobSpec.parse(job | {"mode": "process"}).env == {"A": "1"}
