"""Task heartbeats: ``ctx.heartbeat(progress)`` keeps an attempt alive under its job's
``heartbeat_timeout`` and records how far the task got. Real child processes and threads,
real time: the silence is the point."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cronwell.engine.execute import AttemptContext, Pulse, TaskPath, execute
from cronwell.lifecycle import AttemptStatus
from cronwell.spec import Mode
from cronwell.store.runs import Outcome

ROOT = Path(__file__).resolve().parents[2]
TASKS = "tests.engine.tasks.heartbeats"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MODES = [Mode.PROCESS, Mode.THREAD]
SILENCE = timedelta(seconds=0.5)


@pytest.fixture(autouse=True)
def _project_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child imports tasks from its working directory, as a worker in a project does."""
    monkeypatch.chdir(ROOT)


def attempt(name: str, *args: Any, **options: Any) -> Outcome:
    """One attempt of a task of this module's tasks, on the real clock."""
    options.setdefault("context", AttemptContext(7, 1, NOW))
    return execute(
        TaskPath(f"{TASKS}:{name}"),
        cancel=threading.Event(),
        now=lambda: datetime.now(UTC),
        args=args,
        **options,
    )


@pytest.mark.parametrize("mode", MODES)
def test_the_last_heartbeat_and_its_progress_end_with_the_attempt(mode: Mode) -> None:
    started = datetime.now(UTC)
    outcome = attempt("count_rows", 5, mode=mode, heartbeat_timeout=timedelta(seconds=5))
    assert outcome.status is AttemptStatus.SUCCEEDED
    assert outcome.progress == "row 5 of 5"
    assert outcome.heartbeat_at is not None
    assert started <= outcome.heartbeat_at <= outcome.finished_at


@pytest.mark.parametrize("mode", MODES)
def test_a_task_that_stops_heartbeating_is_stopped_after_heartbeat_timeout(mode: Mode) -> None:
    started = time.monotonic()
    outcome = attempt(
        "beat_then_hang",
        3,
        2.5,
        mode=mode,
        timeout=timedelta(seconds=60),
        heartbeat_timeout=SILENCE,
    )
    took = time.monotonic() - started
    assert outcome.status is AttemptStatus.TIMED_OUT
    assert outcome.error is not None and outcome.error.startswith("no heartbeat for 0.5 s")
    assert "timed out after" not in outcome.error  # told apart from the overall timeout
    assert outcome.progress == "beat 3", "how far it got is kept"
    assert 0.5 <= took < 2.0, "stopped at its silence, not at the task's end"
    quiet = attempt("beat_then_hang", 0, 0.8, mode=mode)
    assert quiet.status is AttemptStatus.SUCCEEDED, "without heartbeat_timeout, silence is fine"


def test_a_silent_child_is_killed_with_its_process_group() -> None:
    pulse = Pulse()
    started = time.monotonic()
    outcome = attempt(
        "beat_then_hang", 0, 30, context=AttemptContext(7, 1, NOW, pulse=pulse),
        heartbeat_timeout=SILENCE,
    )  # fmt: skip
    assert outcome.status is AttemptStatus.TIMED_OUT
    assert outcome.exit_code is not None and outcome.exit_code != 0
    assert time.monotonic() - started < 5, "a 30 s sleep was cut short"
    assert (outcome.heartbeat_at, outcome.progress, pulse.last) == (None, None, None)


@pytest.mark.parametrize("mode", MODES)
def test_a_tight_loop_of_heartbeats_stays_alive_and_does_not_flood(mode: Mode) -> None:
    received: list[int] = []
    context = AttemptContext(7, 1, NOW, on_heartbeat=lambda: received.append(1))
    outcome = attempt(
        "tight_loop", 1.5, mode=mode, context=context, heartbeat_timeout=timedelta(seconds=1)
    )
    assert outcome.status is AttemptStatus.SUCCEEDED, outcome.error
    assert outcome.logs is not None
    calls = outcome.logs[-1]["fields"]["calls"]
    assert calls > 1000
    assert outcome.progress == f"{calls} calls", "the latest progress always arrives"
    if mode is Mode.PROCESS:  # at most one message per 100 ms, and the last
        assert len(received) <= 1.5 / 0.1 + 3
    else:  # in the same process: no pipe to flood
        assert len(received) == calls + 1


@pytest.mark.parametrize("mode", MODES)
def test_a_long_progress_is_cut_to_its_limit(mode: Mode) -> None:
    outcome = attempt("long_progress", mode=mode)
    assert outcome.progress == "x" * 200
