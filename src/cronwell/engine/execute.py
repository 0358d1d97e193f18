"""One attempt, executed: run a task and report how it ended as an ``Outcome``.

A target is a shell ``Command`` or a ``TaskPath`` (``pkg.module:function``; registered task
names are resolved to paths before this module is reached).

- A command runs in its own process group; stdout and stderr are captured together.
- A callable in mode ``process`` runs in ``python -m cronwell.engine.child``, in its own process
  group too; its result, logs and heartbeats come back on a separate pipe.
- A callable's heartbeats (``ctx.heartbeat(progress)``) beat its attempt's ``Pulse``. With a
  ``heartbeat_timeout``, an attempt whose pulse stays silent that long (from its start, then
  from its last heartbeat) is stopped as a timeout is, with an error that says so.
- A callable in mode ``thread`` runs in a thread of this process. Nothing can kill a thread: on
  timeout the attempt is recorded as timed out and the thread is left running; cancellation is
  cooperative (``ctx.cancelled``). Its output is not captured (stdout belongs to the whole
  process) and its memory is not measured. ``start_in_thread`` starts one and returns: its
  thread reports how it ended, and one watch thread looks after the timeouts and cancels of
  them all. Tasks queue for the task threads, so that short ones do not each wake a thread;
  one waits at most ``HAND_OFF`` for a thread of its own while the others are busy.

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
import logging
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
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache, partial
from queue import SimpleQueue
from typing import IO, Any

from cronwell.engine.child import (
    DOTTED_PATH,
    PROGRESS_LIMIT,
    TaskContext,
    TaskEvent,
    call,
    resolve,
)
from cronwell.lifecycle import AttemptStatus
from cronwell.spec import Mode
from cronwell.store.runs import Outcome

log = logging.getLogger(__name__)

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
class Heartbeat:
    """A task's last heartbeat: when it came and the last progress the task gave."""

    at: datetime
    progress: str | None


class Pulse:
    """An attempt's signs of life: when its task last called ``ctx.heartbeat()`` (monotonic
    seconds; the attempt's start until then) and the last ``Heartbeat``.

    The thread that reads the task's reports (or the task's own thread) beats it; the watch
    of the attempt reads it for ``heartbeat_timeout``, and the worker to record the last
    heartbeat with its lease renewal. Each value is one attribute, replaced whole, so readers
    need no lock."""

    __slots__ = ("__weakref__", "last", "recorded", "silent_since")

    def __init__(self) -> None:
        self.silent_since = time.monotonic()
        self.last: Heartbeat | None = None
        self.recorded: Heartbeat | None = None  # the last heartbeat the store has, if known

    def beat(self, at: datetime, progress: str | None) -> None:
        if progress is None and self.last is not None:
            progress = self.last.progress  # a beat without progress keeps the last given
        self.last = Heartbeat(at, progress)
        self.silent_since = time.monotonic()


@dataclass(frozen=True, slots=True)
class AttemptContext:
    """Which attempt runs. Its task's heartbeats beat ``pulse`` (a fresh one per attempt when
    none is given) and call ``on_heartbeat`` (from a reader thread in process mode).
    ``event``: the event whose firing made the run, given to the task (see ``event_env``)."""

    run_id: int
    attempt: int
    scheduled_for: datetime
    on_heartbeat: Callable[[], None] = field(default=_no_heartbeat)
    pulse: Pulse | None = None
    event: TaskEvent | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    timeout: timedelta | None = None
    grace: timedelta = GRACE
    output_limit: int = OUTPUT_LIMIT
    heartbeat_timeout: timedelta | None = None

    def deadline(self) -> float | None:
        return None if self.timeout is None else time.monotonic() + self.timeout.total_seconds()

    def is_silent(self, pulse: Pulse | None, at: float) -> bool:
        """Whether ``pulse`` has had no heartbeat for ``heartbeat_timeout`` at monotonic ``at``."""
        if pulse is None or self.heartbeat_timeout is None:
            return False
        return at - pulse.silent_since >= self.heartbeat_timeout.total_seconds()

    def silence_message(self) -> str:
        seconds = (self.heartbeat_timeout or timedelta(0)).total_seconds()
        return f"no heartbeat for {seconds:g} s (heartbeat_timeout)"


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
    heartbeat_timeout: timedelta | None = None,
    env: Mapping[str, str] | None = None,
) -> Outcome:
    """Run one attempt of ``target`` to its end and say how it ended.

    Returns when the task ended, ``timeout`` passed, a callable had no heartbeat for
    ``heartbeat_timeout``, or ``cancel`` was set (then within about ``grace``).
    ``finished_at`` comes from ``now``. ``env`` goes on top of this process's environment
    for a command or a child process (a thread shares the process's). Does not raise for
    anything the task does.
    """
    if cancel.is_set():
        return Outcome(status=AttemptStatus.CANCELLED, finished_at=now())
    limits = Limits(timeout, grace, output_limit, heartbeat_timeout)
    if isinstance(target, Command):
        commands = {**(env or {}), **event_env(context.event)}
        environment = {**os.environ, **commands} if commands else None
        ended = _run_group(target.argv(), b"", (), limits, cancel, env=environment)
        return _command_outcome(ended, now())
    environment = {**os.environ, **env} if env else None
    task = _Call(target.path, args, kwargs or {}, _with_pulse(context))
    if mode is Mode.THREAD:
        return _run_in_thread(task, cancel, limits, now)
    return _run_in_child(task, cancel, limits, now, environment)


def event_env(event: TaskEvent | None) -> dict[str, str]:
    """What a command's environment gains from the event that made its run: the event's
    name, id and payload (as JSON) in ``CRONWELL_EVENT_NAME``, ``CRONWELL_EVENT_ID`` and
    ``CRONWELL_EVENT_PAYLOAD``; nothing for a run no event made. They go over the job's
    own ``env``."""
    if event is None:
        return {}
    return {
        "CRONWELL_EVENT_NAME": event.name,
        "CRONWELL_EVENT_ID": str(event.id),
        "CRONWELL_EVENT_PAYLOAD": json.dumps(event.payload),
    }


def _with_pulse(context: AttemptContext) -> AttemptContext:
    return context if context.pulse is not None else replace(context, pulse=Pulse())


@dataclass(frozen=True, slots=True)
class _Call:
    path: str
    args: Sequence[Any]
    kwargs: Mapping[str, Any]
    context: AttemptContext

    @property
    def pulse(self) -> Pulse:
        assert self.context.pulse is not None  # execute gives every call one
        return self.context.pulse


@dataclass(frozen=True, slots=True)
class _Stop:
    """Why we stopped an attempt: its status and error."""

    status: AttemptStatus
    error: str


@dataclass(frozen=True, slots=True)
class _Ended:
    """How a process group ended: ``stopped`` says whether we stopped it, and why."""

    exit_code: int
    output: str
    stopped: _Stop | None


def _command_outcome(ended: _Ended, finished_at: datetime) -> Outcome:
    error: str | None
    if ended.stopped is not None:
        status, error = ended.stopped.status, ended.stopped.error
    else:
        status = AttemptStatus.SUCCEEDED if ended.exit_code == 0 else AttemptStatus.FAILED
        error = _exit_message(ended.exit_code)
    return Outcome(
        status=status,
        finished_at=finished_at,
        exit_code=ended.exit_code,
        output=ended.output,
        error=error,
    )


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
    *,
    pulse: Pulse | None = None,
    env: Mapping[str, str] | None = None,
) -> _Ended:
    """Run ``argv`` in a new process group (in ``env``, the whole environment, else the
    worker's) to its end, or stop it at the deadline, when ``pulse`` stays silent too long,
    or on cancel."""
    deadline = limits.deadline()
    search = None if env is None else env.get("PATH", os.defpath)
    if (
        shutil.which(argv[0], path=search) is None
    ):  # said here: setpriv would say it in its own words
        return _Ended(127, f"cannot start {argv[0]}: no such executable file\n", None)
    try:
        process = subprocess.Popen(
            [*_DIE_WITH_WORKER, *argv],
            stdin=subprocess.PIPE if request else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=pass_fds,
            env=env,
        )
    except OSError as error:  # 127, as a shell says of a command it cannot find
        return _Ended(127, f"cannot start {argv[0]}: {error}\n", None)
    assert process.stdout is not None
    tail = _Tail(process.stdout, limits.output_limit)
    leader = _Leader(process)
    _feed(process, request)
    stopped = _watch(leader.wait_exit, deadline, cancel, limits, pulse)
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
    is_done: Callable[[float], bool],
    deadline: float | None,
    cancel: threading.Event,
    limits: Limits,
    pulse: Pulse | None,
) -> _Stop | None:
    """Wait until ``is_done``; or return why we stop waiting: cancelled, timed out, or no
    heartbeat for too long (looked at every POLL seconds)."""
    while not is_done(_slice(deadline)):
        if cancel.is_set():
            return _Stop(AttemptStatus.CANCELLED, "cancelled")
        at = time.monotonic()
        if deadline is not None and at >= deadline:
            return _Stop(AttemptStatus.TIMED_OUT, f"timed out after {limits.timeout}")
        if limits.is_silent(pulse, at):
            return _Stop(AttemptStatus.TIMED_OUT, limits.silence_message())
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

    def __init__(self, fd: int, context: AttemptContext, now: Callable[[], datetime]) -> None:
        self.logs: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
        self.result: dict[str, Any] | None = None
        self._context = context
        self._now = now
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
            _beat(self._context, self._now, message.get("progress"))
        else:
            self.result = message

    def wait(self, seconds: float = 1.0) -> None:
        self._thread.join(seconds)


def _beat(context: AttemptContext, now: Callable[[], datetime], progress: Any) -> None:
    """A heartbeat of the attempt's task, with the progress it gave, if any (bounded here
    too: the child's word is not trusted)."""
    assert context.pulse is not None
    context.pulse.beat(now(), None if progress is None else str(progress)[:PROGRESS_LIMIT])
    context.on_heartbeat()


def _run_in_child(
    task: _Call,
    cancel: threading.Event,
    limits: Limits,
    now: Callable[[], datetime],
    env: Mapping[str, str] | None = None,
) -> Outcome:
    read_fd, write_fd = os.pipe()
    reports = _Reports(read_fd, task.context, now)
    request = _request(task, write_fd)
    argv = [sys.executable, "-m", "cronwell.engine.child"]
    try:
        ended = _run_group(argv, request, (write_fd,), limits, cancel, pulse=task.pulse, env=env)
    finally:
        os.close(write_fd)  # the reader sees the end once the child's copy is gone too
    reports.wait()
    return _child_outcome(ended, reports, task.pulse.last, now())


def _request(task: _Call, report_fd: int) -> bytes:
    fields = {
        "run_id": task.context.run_id,
        "attempt": task.context.attempt,
        "scheduled_for": task.context.scheduled_for.isoformat(),
        "event": None if task.context.event is None else task.context.event.fields(),
    }
    request = {"path": task.path, "args": list(task.args), "kwargs": dict(task.kwargs)}
    return json.dumps(request | {"report_fd": report_fd, "context": fields}).encode()


def _child_outcome(
    ended: _Ended, reports: _Reports, heartbeat: Heartbeat | None, at: datetime
) -> Outcome:
    result = reports.result or {}
    if ended.stopped is not None:
        status, error = ended.stopped.status, ended.stopped.error
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
        **_heartbeat_fields(heartbeat),
    )


def _heartbeat_fields(heartbeat: Heartbeat | None) -> dict[str, Any]:
    if heartbeat is None:
        return {}
    return {"heartbeat_at": heartbeat.at, "progress": heartbeat.progress}


def _lost_result(exit_code: int) -> str:
    how = _exit_message(exit_code) or "exited"
    return f"the task process {how} without reporting a result"


def start_in_thread(
    target: TaskPath,
    *,
    context: AttemptContext,
    cancel: threading.Event,
    now: Callable[[], datetime],
    on_end: Callable[[Outcome], None],
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    timeout: timedelta | None = None,
    grace: timedelta = GRACE,
    heartbeat_timeout: timedelta | None = None,
) -> None:
    """Start one attempt of a callable in mode ``thread`` and return at once.

    ``on_end`` gets its Outcome exactly once: from the task's thread as the task returns, or,
    when it times out or is cancelled and does not return within ``grace``, from the watch
    that all thread-mode attempts share (the thread is left running). The outcome is what
    ``execute`` returns for the same attempt; ``execute`` in mode ``thread`` waits for it.
    """
    if cancel.is_set():
        on_end(Outcome(status=AttemptStatus.CANCELLED, finished_at=now()))
        return
    task = _Call(target.path, args, kwargs or {}, _with_pulse(context))
    limits = Limits(timeout, grace, heartbeat_timeout=heartbeat_timeout)
    attempt = _ThreadAttempt(cancel, limits, task.pulse, now, on_end)
    task_context = TaskContext(
        run_id=context.run_id,
        attempt=context.attempt,
        scheduled_for=context.scheduled_for,
        sink=attempt.logs.append,
        heartbeat=partial(_beat, task.context, now),
        is_cancelled=cancel.is_set,
        now=now,
        event=context.event,
    )
    _WATCH.add(attempt)
    _THREADS.start(partial(attempt.run, task, task_context))


def _run_in_thread(
    task: _Call, cancel: threading.Event, limits: Limits, now: Callable[[], datetime]
) -> Outcome:
    ended: SimpleQueue[Outcome] = SimpleQueue()
    start_in_thread(
        TaskPath(task.path),
        context=task.context,
        cancel=cancel,
        now=now,
        on_end=ended.put,
        args=task.args,
        kwargs=task.kwargs,
        timeout=limits.timeout,
        grace=limits.grace,
        heartbeat_timeout=limits.heartbeat_timeout,
    )
    return ended.get()


class _ThreadAttempt:
    """A callable running in a daemon thread: a thread that overruns cannot be killed, and
    must not keep the worker process alive at exit. It ends once, by whichever comes first:
    the task returning, its deadline, its heartbeat timeout, or the end of the grace period
    after a cancel."""

    def __init__(
        self,
        cancel: threading.Event,
        limits: Limits,
        pulse: Pulse,
        now: Callable[[], datetime],
        on_end: Callable[[Outcome], None],
    ) -> None:
        self.logs: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
        self.cancel = cancel
        self.deadline = limits.deadline()
        self.stop_at: float | None = None  # the end of the grace period, once cancelled
        self._limits = limits
        self._pulse = pulse
        self._now = now
        self._on_end = on_end
        self._lock = threading.Lock()
        self._is_ended = False

    def run(self, task: _Call, context: TaskContext) -> None:
        error = None
        try:
            call(_resolved(task.path), task.args, task.kwargs, context)
        except BaseException:
            error = traceback.format_exc()
        if self.cancel.is_set():  # it returned asked to stop: it stopped, whatever it did
            self._end(AttemptStatus.CANCELLED, "cancelled")
        else:
            self._end(AttemptStatus.FAILED if error else AttemptStatus.SUCCEEDED, error)

    def watch(self, at: float) -> bool:
        """Look at the cancel event and the deadlines at monotonic time ``at``; True once
        the attempt has ended."""
        with self._lock:
            if self._is_ended:
                return True
            if self.stop_at is None and self.cancel.is_set():
                self.stop_at = at + self._limits.grace.total_seconds()  # to see ctx.cancelled
            is_given_up = self.stop_at is not None and at >= self.stop_at
            is_timed_out = self.stop_at is None and self.deadline is not None
            is_timed_out = is_timed_out and at >= (self.deadline or 0.0)
            is_silent = self.stop_at is None and self._limits.is_silent(self._pulse, at)
        if is_given_up:
            self._end(AttemptStatus.CANCELLED, "cancelled")
        elif is_timed_out:
            error = f"timed out after {self._limits.timeout}; its thread was left running"
            self._end(AttemptStatus.TIMED_OUT, error)
        elif is_silent:
            error = f"{self._limits.silence_message()}; its thread was left running"
            self._end(AttemptStatus.TIMED_OUT, error)
        return is_given_up or is_timed_out or is_silent

    def _end(self, status: AttemptStatus, error: str | None) -> None:
        with self._lock:
            if self._is_ended:
                return
            self._is_ended = True
        logs = list(self.logs)
        beat = _heartbeat_fields(self._pulse.last)
        try:
            outcome = Outcome(status, self._now(), error=error, logs=logs, **beat)
            self._on_end(outcome)
        except Exception:  # the thread it runs on serves other attempts: keep it alive
            log.exception("an attempt's end was not recorded", extra={"event": "attempt.lost"})


class _Watch:
    """One daemon thread that looks at every thread-mode attempt in flight for a cancel, a
    passed deadline or a silent pulse, every ``POLL`` seconds while there are any: what a
    waiting thread per attempt did, without the thread and its wake-up per attempt."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._attempts: list[_ThreadAttempt] = []
        self._lock = threading.Lock()
        self._has_work = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None

    def add(self, attempt: _ThreadAttempt) -> None:
        with self._lock:
            self._attempts.append(attempt)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="cronwell-watch", daemon=True
                )
                self._thread.start()
            if len(self._attempts) == 1:
                self._has_work.notify()  # the watch sleeps until there is something to watch

    def _serve(self) -> None:
        while True:
            with self._lock:
                while not self._attempts:
                    self._has_work.wait()
                attempts = list(self._attempts)
            at = time.monotonic()
            ended = {id(attempt) for attempt in attempts if attempt.watch(at)}
            with self._lock:
                self._attempts = [each for each in self._attempts if id(each) not in ended]
            time.sleep(POLL)


@lru_cache(maxsize=1024)
def _resolved(path: str) -> Callable[..., Any]:
    """``resolve``, remembered: a thread-mode task's module is imported once per process
    anyway, and finding it again cost more than a short task. A path that fails to resolve
    is not remembered: its next attempt tries again."""
    return resolve(path)


class _TaskThreads:
    """The daemon threads thread-mode tasks run in. Tasks queue in order and a thread that is
    free takes the next one, so a burst of short tasks runs on the threads already awake:
    waking a thread per task would cost more than the tasks, since each wake-up is a
    hand-over of the GIL. None waits long behind a slow one: when no thread is awake, or a
    task has waited ``HAND_OFF`` seconds, an idle thread is woken for it or a new one started.
    A thread idle for ``IDLE_THREAD`` seconds ends."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[tuple[float, Callable[[], None]]] = deque()  # (queued at, task)
        self._idle: list[threading.Event] = []  # parked threads, each woken by its event
        self._awake = 0  # threads running a task or about to look at the queue
        self._woken = 0  # of those, threads woken for a task that have not taken one yet
        self._queued = threading.Condition(self._lock)  # the hand-off watch waits on it
        self._watch: threading.Thread | None = None

    def start(self, job: Callable[[], None]) -> None:
        with self._lock:
            self._queue.append((time.monotonic(), job))
            if self._awake == 0:
                self._wake_one()
            elif len(self._queue) == 1:
                if self._watch is None:
                    self._watch = _daemon(self._hand_off, "cronwell-hand-off")
                self._queued.notify()

    def _wake_one(self) -> None:
        """With the lock held: a thread for the queue, woken from the idle ones or new."""
        self._awake += 1
        self._woken += 1
        if self._idle:
            self._idle.pop().set()
        else:
            _daemon(self._serve, "cronwell-task")

    def _serve(self) -> None:
        parked = threading.Event()
        is_woken = True
        while True:
            with self._lock:
                if is_woken:
                    self._woken -= 1
                    is_woken = False
                job = self._queue.popleft()[1] if self._queue else None
                if job is None:
                    self._awake -= 1
                    self._idle.append(parked)
            if job is not None:
                job()
                del job
                continue
            is_woken = parked.wait(IDLE_THREAD)
            if not is_woken:
                with self._lock:
                    if parked in self._idle:  # nobody woke it: it ends
                        self._idle.remove(parked)
                        return
                is_woken = True  # woken just as its wait ran out
            parked.clear()

    def _hand_off(self) -> None:
        """Wake a thread for each task that waited HAND_OFF seconds while every thread awake
        was busy (and none woken for it is on its way)."""
        with self._lock:
            while True:
                if not self._queue:
                    self._queued.wait()
                    continue
                now = time.monotonic()
                overdue = sum(1 for at, _ in self._queue if now - at >= HAND_OFF)
                for _ in range(overdue - self._woken):
                    self._wake_one()
                self._queued.wait(HAND_OFF)


def _daemon(target: Callable[[], None], name: str) -> threading.Thread:
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


HAND_OFF = 0.002  # seconds a thread-mode task may wait for a thread while all are busy
IDLE_THREAD = 60.0
_THREADS = _TaskThreads()
_WATCH = _Watch()
# A forked child has none of its parent's threads: it starts its own as it needs them.
os.register_at_fork(after_in_child=_THREADS._reset)
os.register_at_fork(after_in_child=_WATCH._reset)
