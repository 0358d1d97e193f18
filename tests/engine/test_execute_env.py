"""A job's env reaches its command and its child process, on top of the worker's own."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cronwell.engine.execute import AttemptContext, Command, Target, TaskPath, execute
from cronwell.lifecycle import AttemptStatus
from cronwell.store.runs import Outcome

ROOT = Path(__file__).resolve().parents[2]
CONTEXT = AttemptContext(run_id=1, attempt=1, scheduled_for=datetime(2026, 6, 1, tzinfo=UTC))


@pytest.fixture(autouse=True)
def _project_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def run(target: Target, env: dict[str, str] | None) -> Outcome:
    return execute(
        target,
        context=CONTEXT,
        cancel=threading.Event(),
        now=lambda: CONTEXT.scheduled_for,
        env=env,
    )


def test_a_command_sees_the_job_env_and_the_worker_env() -> None:
    outcome = run(Command('echo "$GREETING $HOME"'), {"GREETING": "hello"})
    assert outcome.status is AttemptStatus.SUCCEEDED
    assert outcome.output == f"hello {os.environ['HOME']}\n"


def test_the_job_env_wins_over_the_worker_env() -> None:
    outcome = run(Command(("/bin/sh", "-c", 'echo "$HOME"')), {"HOME": "/srv/elsewhere"})
    assert outcome.output == "/srv/elsewhere\n"


def test_without_env_a_command_sees_the_worker_env_only() -> None:
    assert run(Command('echo "[$GREETING]"'), None).output == "[]\n"


def test_a_path_in_env_is_where_a_command_is_looked_for(tmp_path: Path) -> None:
    script = tmp_path / "only-here"
    script.write_text("#!/bin/sh\necho found\n")
    script.chmod(0o755)
    assert run(Command(("only-here",)), None).exit_code == 127
    outcome = run(Command(("only-here",)), {"PATH": f"{tmp_path}:/usr/bin:/bin"})
    assert (outcome.status, outcome.output) == (AttemptStatus.SUCCEEDED, "found\n")


def test_a_task_in_a_child_process_sees_the_job_env() -> None:
    target = TaskPath("tests.engine.tasks.environ:show")
    outcome = execute(
        target,
        context=CONTEXT,
        cancel=threading.Event(),
        now=lambda: CONTEXT.scheduled_for,
        args=["REGION"],
        env={"REGION": "emea"},
    )
    assert outcome.status is AttemptStatus.SUCCEEDED
    assert "REGION=emea" in (outcome.output or "")
