"""One attempt, executed: run a task and report how it ended as an ``Outcome``.

A target is a shell ``Command`` or a ``TaskPath`` (``pkg.module:function``; registered task
names are resolved to paths before this module is reached).

- A command runs in its own process group; stdout and stderr are captured together.
- A callable in mode ``process`` runs in ``python -m cronwell.engine.child``, in its own process
  group too; its result, logs and heartbeats come back on a separate pipe.
- A callable in mode ``thread`` runs in a thread of this process. Nothing can kill a thread: on
  timeout the attempt is recorded as timed out and the thread is left running; cancellation is
  cooperative (``ctx.cancelled``). Its output is not captured (stdout belongs to the whole
  process) and its memory is not measured.

An attempt owns its process group: on timeout or cancel the group gets SIGTERM, then SIGKILL
after a grace period; when the first process ends, whatever it left running in the group is
killed. Output keeps the tail (the last ``output_limit`` bytes), read while the task runs, so a
chatty task never blocks on a full pipe.

Peak memory is reported by the child process of a callable when it ends (see
``child.peak_memory``); it is None for a child killed on timeout or cancel, and for commands:
a command's ``ru_maxrss`` from ``wait4`` starts at the worker's own size (the kernel carries
the forking process's high-water mark over the exec), so it would mislead.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from queue import Empty, SimpleQueue
from typing import IO, Any

from cronwell.engine.child import DOTTED_PATH, TaskContext, call, resolve
from cronwell.lifecycle import AttemptStatus
from cronwell.spec import Mode
from cronwell.store.runs import Outcome

GRACE = timedelta(seconds=2)
OUTPUT_LIMIT = 64 * 1024
LOG_LIMIT = 1000  # the last entries of ctx.log are kept
POLL = 0.05  # seconds between looks at the cancel event


@dataclass(frozen=True, slots=True)
class Command:
    """A shell command: a string run by ``/bin/sh -c``, or an argv run as it is."""

    line: str | tuple[str, ...]

    def argv(self) -> list[str]:
        return ["/bin/sh", "-c", self.line] if isinstance(self.line, str) else list(self.line)


@dataclass(frozen=True, slots=True)
class TaskPath:
    """A Python callable named ``pkg.module:function``."""

    path: str

    def __post_init__(self) -> None:
        if not DOTTED_PATH.fullmatch(self.path):
            raise ValueError(f"{self.path!r} is not pkg.module:function")


Target = Command | TaskPath


def _no_heartbeat() -> None:
    pass


@dataclass(frozen=True, slots=True)
class AttemptContext:
    """Which attempt runs; ``on_heartbeat`` is called on each ``ctx.heartbeat()`` (from a
    reader thread in process mode)."""

    run_id: int
    attempt: int
    scheduled_for: datetime
    on_heartbeat: Callable[[], None] = field(default=_no_heartbeat)


@dataclass(frozen=True, slots=True)
class Limits:
    timeout: timedelta | None = None
    grace: timedelta = GRACE
    output_limit: int = OUTPUT_LIMIT

    def deadline(self) -> float | None:
        return None if self.timeout is None else time.monotonic() + self.timeout.total_seconds()


def execute(
    target: Target,
    *,
    context: AttemptContext,
    cancel: threading.Event,
    now: Callable[[], datetime],
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    timeout: timedelta | None = None,
    mode: Mode = Mode.PROCESS,
    grace: timedelta = GRACE,
    output_limit: int = OUTPUT_LIMIT,
) -> Outcome:
    """Run one attempt of ``target`` to its end and say how it ended.

    Returns when the task ended, ``timeout`` passed, or ``cancel`` was set (then within about
    ``grace``). ``finished_at`` comes from ``now``. Does not raise for anything the task does.
    """
    if cancel.is_set():
        return Outcome(status=AttemptStatus.CANCELLED, finished_at=now())
    limits = Limits(timeout, grace, output_limit)
    if isinstance(target, Command):
        return _command_outcome(_run_group(target.argv(), b"", (), limits, cancel), limits, now())
    task = _Call(target.path, args, kwargs or {}, context)
    if mode is Mode.THREAD:
        return _run_in_thread(task, cancel, limits, now)
    return _run_in_child(task, cancel, limits, now)


@dataclass(frozen=True, slots=True)
class _Call:
    path: str
    args: Sequence[Any]
    kwargs: Mapping[str, Any]
    context: AttemptContext


@dataclass(frozen=True, slots=True)
class _Ended:
    """How a process group ended: ``stopped`` says whether we stopped it, and why."""

    exit_code: int
    output: str
    stopped: AttemptStatus | None


def _command_outcome(ended: _Ended, limits: Limits, finished_at: datetime) -> Outcome:
    status = ended.stopped or (
        AttemptStatus.SUCCEEDED if ended.exit_code == 0 else AttemptStatus.FAILED
    )
    return Outcome(
        status=status,
        finished_at=finished_at,
        exit_code=ended.exit_code,
        output=ended.output,
        error=_stop_message(status, limits) or _exit_message(ended.exit_code),
    )


def _stop_message(status: AttemptStatus, limits: Limits) -> str | None:
    if status is AttemptStatus.TIMED_OUT:
        return f"timed out after {limits.timeout}"
    if status is AttemptStatus.CANCELLED:
        return "cancelled"
    return None


def _exit_message(exit_code: int) -> str | None:
    if exit_code < 0:
        return f"killed by {signal.Signals(-exit_code).name}"
    return None if exit_code == 0 else f"exited with code {exit_code}"


def _run_group(
    argv: Sequence[str],
    request: bytes,
    pass_fds: Sequence[int],
    limits: Limits,
    cancel: threading.Event,
) -> _Ended:
    """Run ``argv`` in a new process group to its end, or stop it at the deadline or cancel."""
    deadline = limits.deadline()
    if shutil.which(argv[0]) is None:  # said here: setpriv would say it in its own words
        return _Ended(127, f"cannot start {argv[0]}: no such executable file\n", None)
    try:
        process = subprocess.Popen(
            [*_DIE_WITH_WORKER, *argv],
            stdin=subprocess.PIPE if request else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=pass_fds,
        )
    except OSError as error:  # 127, as a shell says of a command it cannot find
        return _Ended(127, f"cannot start {argv[0]}: {error}\n", None)
    assert process.stdout is not None
    tail = _Tail(process.stdout, limits.output_limit)
    leader = _Leader(process)
    _feed(process, request)
    stopped = _watch(leader.wait_exit, deadline, cancel)
    if stopped is not None:
        leader.signal_group(signal.SIGTERM)
        _wait_until(leader, time.monotonic() + limits.grace.total_seconds())
    # The leader is still an unreaped zombie here, so the group id cannot have been reused.
    leader.signal_group(signal.SIGKILL)
    return _Ended(leader.reap(), tail.text(), stopped)


# The group leader is killed if the worker dies (kill -9, OOM): otherwise it would run on
# beside the attempt that retries it elsewhere. setpriv sets the parent-death signal, then
# execs the command, which keeps it: a task's child process, a command given as a list.
# A shell command's leader is the shell: what the shell starts is not covered.
_SETPRIV = shutil.which("setpriv") if sys.platform == "linux" else None
_DIE_WITH_WORKER = (_SETPRIV, "--pdeathsig", "KILL", "--") if _SETPRIV else ()


def _feed(process: subprocess.Popen[bytes], request: bytes) -> None:
    if process.stdin is None:
        return
    try:
        process.stdin.write(request)
        process.stdin.close()
    except BrokenPipeError:  # it died before reading: its exit code tells
        pass


def _watch(
    is_done: Callable[[float], bool], deadline: float | None, cancel: threading.Event
) -> AttemptStatus | None:
    """Wait until ``is_done``; or return why we stop waiting: cancelled or timed out."""
    while not is_done(_slice(deadline)):
        if cancel.is_set():
            return AttemptStatus.CANCELLED
        if deadline is not None and time.monotonic() >= deadline:
            return AttemptStatus.TIMED_OUT
    return None


def _slice(deadline: float | None) -> float:
    if deadline is None:
        return POLL
    return max(0.0, min(POLL, deadline - time.monotonic()))


def _wait_until(leader: _Leader, deadline: float) -> None:
    while not leader.wait_exit(_slice(deadline)) and time.monotonic() < deadline:
        pass


class _Leader:
    """The first process of a group, watched without being reaped until the end: an unreaped
    process keeps its pid, and so the group id, from being reused."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self._pidfd = os.pidfd_open(process.pid) if hasattr(os, "pidfd_open") else None

    def wait_exit(self, seconds: float) -> bool:
        if self._pidfd is not None:
            select.select([self._pidfd], [], [], seconds)
        else:
            time.sleep(min(seconds, 0.01))
        flags = os.WEXITED | os.WNOWAIT | os.WNOHANG
        return os.waitid(os.P_PID, self.process.pid, flags) is not None

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def reap(self) -> int:
        """Its exit code, negative when a signal killed it."""
        _, status = os.waitpid(self.process.pid, 0)
        # Tell Popen it is reaped, or it would report a live child at garbage collection.
        self.process.returncode = os.waitstatus_to_exitcode(status)
        if self._pidfd is not None:
            os.close(self._pidfd)
        return self.process.returncode


class _Tail:
    """Reads a stream to its end in a thread, keeping only the last ``limit`` bytes."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self._kept = bytearray()
        self._dropped = 0
        self._limit = limit
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        with stream:
            while chunk := os.read(stream.fileno(), 65536):
                with self._lock:
                    self._kept += chunk
                    excess = len(self._kept) - self._limit
                    if excess > 0:
                        del self._kept[:excess]
                        self._dropped += excess

    def text(self, wait: float = 1.0) -> str:
        """What was kept, once the stream ended or after ``wait`` seconds (a process that left
        the group may hold the pipe open)."""
        self._thread.join(wait)
        with self._lock:
            kept, dropped = bytes(self._kept), self._dropped
        head = f"[{dropped} earlier bytes dropped]\n" if dropped else ""
        return head + kept.decode("utf-8", errors="replace")


class _Reports:
    """Reads the child's report pipe: logs, heartbeats and the result."""

    def __init__(self, fd: int, on_heartbeat: Callable[[], None]) -> None:
        self.logs: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
        self.result: dict[str, Any] | None = None
        self._on_heartbeat = on_heartbeat
        self._thread = threading.Thread(target=self._read, args=(fd,), daemon=True)
        self._thread.start()

    def _read(self, fd: int) -> None:
        with os.fdopen(fd, encoding="utf-8", errors="replace") as stream:
            for line in stream:
                try:
                    self._take(json.loads(line))
                except ValueError:  # a line cut short by a kill
                    continue

    def _take(self, message: dict[str, Any]) -> None:
        if "log" in message:
            self.logs.append(message["log"])
        elif "heartbeat" in message:
            self._on_heartbeat()
        else:
            self.result = message

    def wait(self, seconds: float = 1.0) -> None:
        self._thread.join(seconds)


def _run_in_child(
    task: _Call, cancel: threading.Event, limits: Limits, now: Callable[[], datetime]
) -> Outcome:
    read_fd, write_fd = os.pipe()
    reports = _Reports(read_fd, task.context.on_heartbeat)
    request = _request(task, write_fd)
    argv = [sys.executable, "-m", "cronwell.engine.child"]
    try:
        ended = _run_group(argv, request, (write_fd,), limits, cancel)
    finally:
        os.close(write_fd)  # the reader sees the end once the child's copy is gone too
    reports.wait()
    return _child_outcome(ended, reports, limits, now())


def _request(task: _Call, report_fd: int) -> bytes:
    fields = {
        "run_id": task.context.run_id,
        "attempt": task.context.attempt,
        "scheduled_for": task.context.scheduled_for.isoformat(),
    }
    request = {"path": task.path, "args": list(task.args), "kwargs": dict(task.kwargs)}
    return json.dumps(request | {"report_fd": report_fd, "context": fields}).encode()


def _child_outcome(ended: _Ended, reports: _Reports, limits: Limits, at: datetime) -> Outcome:
    result = reports.result or {}
    if ended.stopped is not None:
        status, error = ended.stopped, _stop_message(ended.stopped, limits)
    elif result.get("ok") and ended.exit_code == 0:
        status, error = AttemptStatus.SUCCEEDED, None
    else:
        status = AttemptStatus.FAILED
        error = result.get("error") or _lost_result(ended.exit_code)
    return Outcome(
        status=status,
        finished_at=at,
        exit_code=ended.exit_code,
        output=ended.output,
        error=error,
        peak_memory=result.get("peak_memory"),
        logs=list(reports.logs),
    )


def _lost_result(exit_code: int) -> str:
    how = _exit_message(exit_code) or "exited"
    return f"the task process {how} without reporting a result"


def _run_in_thread(
    task: _Call, cancel: threading.Event, limits: Limits, now: Callable[[], datetime]
) -> Outcome:
    deadline = limits.deadline()
    logs: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
    task_context = TaskContext(
        run_id=task.context.run_id,
        attempt=task.context.attempt,
        scheduled_for=task.context.scheduled_for,
        sink=logs.append,
        heartbeat=task.context.on_heartbeat,
        is_cancelled=cancel.is_set,
        now=now,
    )
    attempt = _ThreadAttempt(task, task_context)
    stopped = _watch(attempt.done.wait, deadline, cancel)
    if stopped is AttemptStatus.CANCELLED:
        attempt.done.wait(limits.grace.total_seconds())  # time to notice ctx.cancelled
    if stopped is AttemptStatus.TIMED_OUT:
        error: str | None = f"timed out after {limits.timeout}; its thread was left running"
    else:
        error = _stop_message(stopped, limits) if stopped else attempt.error
    status = stopped or (AttemptStatus.FAILED if attempt.error else AttemptStatus.SUCCEEDED)
    return Outcome(status=status, finished_at=now(), error=error, logs=list(logs))


class _ThreadAttempt:
    """A callable running in a daemon thread: a thread that overruns cannot be killed, and
    must not keep the worker process alive at exit."""

    def __init__(self, task: _Call, context: TaskContext) -> None:
        self.done = threading.Event()
        self.error: str | None = None
        _THREADS.start(partial(self._run, task, context))

    def _run(self, task: _Call, context: TaskContext) -> None:
        try:
            call(resolve(task.path), task.args, task.kwargs, context)
        except BaseException:
            self.error = traceback.format_exc()
        finally:
            self.done.set()


class _TaskThreads:
    """The daemon threads thread-mode tasks run in, each kept for a next task once its task
    returns: starting a thread costs more than a short task. A task that overruns (a timeout,
    an ignored cancel) keeps its thread; a new one starts when none is free, and a thread idle
    for ``IDLE_THREAD`` seconds ends."""

    def __init__(self) -> None:
        self._idle: list[SimpleQueue[Callable[[], None]]] = []
        self._lock = threading.Lock()

    def start(self, job: Callable[[], None]) -> None:
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
        if inbox is None:
            inbox = SimpleQueue()
            threading.Thread(
                target=self._serve, args=(inbox,), name="cronwell-task", daemon=True
            ).start()
        inbox.put(job)

    def _serve(self, inbox: SimpleQueue[Callable[[], None]]) -> None:
        while True:
            try:
                job = inbox.get(timeout=IDLE_THREAD)
            except Empty:
                with self._lock:
                    if inbox not in self._idle:
                        continue  # handed a task just now: it is on its way
                    self._idle.remove(inbox)
                    return
            job()
            del job
            with self._lock:
                self._idle.append(inbox)


IDLE_THREAD = 60.0
_THREADS = _TaskThreads()
