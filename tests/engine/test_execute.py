"""One attempt executed for real: shell commands, callables in a child process and in a
thread, with timeouts, cancellation, bounded output and peak memory. No mocks."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cronwell.engine.execute import AttemptContext, Command, Target, TaskPath, execute
from cronwell.lifecycle import AttemptStatus
from cronwell.spec import Mode
from cronwell.store.runs import Outcome
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
TASKS = "tests.engine.tasks.sample"
FINISHED_AT = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
CONTEXT = AttemptContext(run_id=7, attempt=2, scheduled_for=datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
SHORT = timedelta(seconds=0.5)
MODES = [Mode.PROCESS, Mode.THREAD]


@pytest.fixture(autouse=True)
def _project_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child imports tasks from its working directory, as a worker in a project does."""
    monkeypatch.chdir(ROOT)


def run(target: Target, cancel: threading.Event | None = None, **options: Any) -> Outcome:
    options.setdefault("context", CONTEXT)
    return execute(target, cancel=cancel or threading.Event(), now=lambda: FINISHED_AT, **options)


def task(name: str) -> TaskPath:
    return TaskPath(f"{TASKS}:{name}")


def live_members(group: int) -> list[int]:
    """Pids of the processes of a process group that still run (zombies do not count)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # it ended while we looked
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


@pytest.fixture
def cancel_soon() -> Iterator[threading.Event]:
    cancel = threading.Event()
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    yield cancel
    timer.cancel()


# Shell commands


def test_a_command_that_succeeds_records_its_output_and_exit_code() -> None:
    outcome = run(Command("echo out; echo err >&2"))
    assert outcome.status is AttemptStatus.SUCCEEDED
    assert (outcome.exit_code, outcome.output, outcome.error) == (0, "out\nerr\n", None)
    assert outcome.finished_at == FINISHED_AT
    assert outcome.peak_memory is None  # it would start at the worker's own size


def test_a_command_that_fails_records_its_exit_code() -> None:
    outcome = run(Command("echo trying; exit 3"))
    assert outcome.status is AttemptStatus.FAILED
    assert (outcome.exit_code, outcome.output) == (3, "trying\n")
    assert outcome.error == "exited with code 3"


def test_an_argv_command_runs_without_a_shell() -> None:
    outcome = run(Command(("printf", "%s|", "a b", "$HOME")))
    assert (outcome.status, outcome.output) == (AttemptStatus.SUCCEEDED, "a b|$HOME|")


def test_a_command_that_cannot_start_fails_with_127() -> None:
    outcome = run(Command(("/nonexistent/program",)))
    assert (outcome.status, outcome.exit_code) == (AttemptStatus.FAILED, 127)
    assert outcome.output is not None
    assert "cannot start /nonexistent/program" in outcome.output


def test_a_timeout_kills_the_command_and_everything_it_started() -> None:
    started = time.monotonic()
    outcome = run(Command("sleep 30 & echo $$ $!; sleep 30"), timeout=SHORT)
    assert time.monotonic() - started < 5
    assert outcome.status is AttemptStatus.TIMED_OUT
    assert outcome.error == "timed out after 0:00:00.500000"
    assert outcome.exit_code == -15  # the shell died of SIGTERM
    assert outcome.output is not None
    shell, background = (int(pid) for pid in outcome.output.split())
    eventually(lambda: not live_members(shell))  # the shell's group: both sleeps too
    assert background not in live_members(shell)


def test_a_command_ignoring_sigterm_is_killed_after_the_grace_period() -> None:
    started = time.monotonic()
    outcome = run(Command("trap '' TERM; sleep 30"), timeout=SHORT, grace=SHORT)
    assert outcome.status is AttemptStatus.TIMED_OUT
    assert time.monotonic() - started < 5
    assert outcome.exit_code == -9


def test_what_a_finished_command_left_running_is_killed() -> None:
    outcome = run(Command("sleep 30 >/dev/null & echo $$"))
    assert outcome.status is AttemptStatus.SUCCEEDED
    assert outcome.output is not None
    eventually(lambda: not live_members(int(outcome.output or "")))


@pytest.mark.parametrize(
    "target", [Command("sleep 30"), task("sleep")], ids=["command", "callable"]
)
def test_cancel_stops_a_running_attempt(target: Target, cancel_soon: threading.Event) -> None:
    started = time.monotonic()
    outcome = run(target, cancel_soon, args=[30])
    assert time.monotonic() - started < 3
    assert (outcome.status, outcome.error) == (AttemptStatus.CANCELLED, "cancelled")


def test_an_attempt_cancelled_before_it_starts_does_not_run() -> None:
    cancel = threading.Event()
    cancel.set()
    outcome = run(Command("echo ran"), cancel)
    assert (outcome.status, outcome.output) == (AttemptStatus.CANCELLED, None)


# Callables


def test_a_callable_runs_in_a_child_with_its_arguments() -> None:
    outcome = run(task("add"), args=[2], kwargs={"b": 3})
    assert outcome.status is AttemptStatus.SUCCEEDED
    assert (outcome.exit_code, outcome.output, outcome.error) == (0, "5\n", None)
    assert outcome.logs == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("name", "message"), [("fail", "ValueError: boom"), ("fail_later", "RuntimeError: async boom")]
)
def test_an_exception_fails_the_attempt_with_its_traceback(
    mode: Mode, name: str, message: str
) -> None:
    outcome = run(task(name), mode=mode)
    assert outcome.status is AttemptStatus.FAILED
    assert outcome.error is not None
    assert outcome.error.startswith("Traceback (most recent call last):")
    assert 'sample.py", line' in outcome.error
    assert outcome.error.rstrip().endswith(message)
    if mode is Mode.PROCESS:
        assert (outcome.exit_code, outcome.output) == (1, "")  # the traceback is not output


@pytest.mark.parametrize("mode", MODES)
def test_an_async_callable_runs_to_its_end(mode: Mode) -> None:
    outcome = run(task("nap"), mode=mode, args=[0.01])
    assert outcome.status is AttemptStatus.SUCCEEDED
    if mode is Mode.PROCESS:
        assert outcome.output == "awake\n"


def test_an_unknown_callable_fails_the_attempt() -> None:
    outcome = run(task("missing"))
    assert outcome.status is AttemptStatus.FAILED
    assert outcome.error is not None
    assert "AttributeError" in outcome.error


def test_a_path_must_be_dotted() -> None:
    with pytest.raises(ValueError, match=r"pkg\.module:function"):
        TaskPath("registered-name")


@pytest.mark.parametrize("mode", MODES)
def test_context_logs_and_heartbeats_come_back(mode: Mode) -> None:
    beats: list[int] = []
    context = AttemptContext(7, 2, CONTEXT.scheduled_for, on_heartbeat=lambda: beats.append(1))
    outcome = run(task("chat"), mode=mode, kwargs={"name": "ada"}, context=context)
    assert outcome.status is AttemptStatus.SUCCEEDED
    assert outcome.logs is not None
    assert [(entry["message"], entry["fields"]) for entry in outcome.logs] == [
        ("hello", {"name": "ada", "when": "2026-06-01 09:00:00+00:00"}),
        ("run 7 attempt 2", {}),
    ]
    assert all(datetime.fromisoformat(entry["at"]) for entry in outcome.logs)
    assert beats == [1]


def test_a_timeout_kills_the_child() -> None:
    started = time.monotonic()
    outcome = run(task("sleep"), args=[30], timeout=SHORT)
    assert outcome.status is AttemptStatus.TIMED_OUT
    assert time.monotonic() - started < 5


def test_a_thread_that_times_out_is_recorded_and_left_running() -> None:
    outcome = run(task("sleep"), mode=Mode.THREAD, args=[1], timeout=timedelta(seconds=0.1))
    assert outcome.status is AttemptStatus.TIMED_OUT
    assert outcome.error is not None
    assert "left running" in outcome.error


def test_a_thread_stops_when_it_sees_the_cancel(cancel_soon: threading.Event) -> None:
    outcome = run(task("until_cancelled"), cancel_soon, mode=Mode.THREAD)
    assert outcome.status is AttemptStatus.CANCELLED
    assert outcome.logs is not None
    assert [entry["message"] for entry in outcome.logs] == ["stopping"]


def test_output_keeps_only_the_tail() -> None:
    outcome = run(task("shout"), args=[4], output_limit=64 * 1024)
    assert outcome.status is AttemptStatus.SUCCEEDED
    assert outcome.output is not None
    head, _, kept = outcome.output.partition("\n")
    assert head == f"[{4 * 2**20 + len('the end') + 1 - 64 * 1024} earlier bytes dropped]"
    assert len(kept) == 64 * 1024
    assert kept.endswith("x\nthe end\n")


def test_peak_memory_reflects_what_the_task_allocated() -> None:
    idle = run(task("allocate"), args=[0]).peak_memory
    busy = run(task("allocate"), args=[50]).peak_memory
    assert idle is not None
    assert busy is not None
    assert idle < 40 * 2**20  # a bare interpreter, not the size of the process that forked it
    assert 45 * 2**20 < busy - idle < 60 * 2**20
