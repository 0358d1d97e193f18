"""The child process of a process-mode attempt: ``python -m cronwell.engine.child``.

It reads one JSON request from stdin (``path``, ``args``, ``kwargs``, ``report_fd`` and the
``context`` fields ``run_id``, ``attempt``, ``scheduled_for`` and ``event``), imports
``pkg.module:function`` and calls it. Reports go to ``report_fd``, one JSON object a line,
never mixed into the task's own stdout: ``{"log": entry}`` for each ``ctx.log``,
``{"heartbeat": true, "progress": ...}`` for ``ctx.heartbeat()`` (at most every
``HEARTBEAT_GAP`` seconds, see ``_Heartbeats``), then ``{"ok": true}`` or
``{"error": traceback}``, each with ``peak_memory`` (see ``peak_memory``).
SIGTERM marks the context cancelled and raises SystemExit in the task, so its ``finally``
blocks run.

This module also holds what both modes share (resolving a path, calling a task, the context a
task sees) and imports only the standard library, so the child starts fast.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import inspect
import json
import os
import re
import resource
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

DOTTED_PATH = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")
TERMINATED = 128 + signal.SIGTERM
PROGRESS_LIMIT = 200  # characters of a heartbeat's progress message that are kept
HEARTBEAT_GAP = 0.1  # seconds: a child sends its task's heartbeats at most this often


# ru_maxrss is in KiB on Linux and in bytes on macOS.
_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024


def system_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class TaskEvent:
    """The event whose firing made the run: ``ctx.event`` of its task."""

    id: int
    name: str
    payload: Any
    fired_at: datetime
    fired_by: str | None

    def fields(self) -> dict[str, Any]:
        """As JSON takes it: how it travels to a child process."""
        return {
            "id": self.id,
            "name": self.name,
            "payload": self.payload,
            "fired_at": self.fired_at.isoformat(),
            "fired_by": self.fired_by,
        }

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> TaskEvent:
        at = datetime.fromisoformat(fields["fired_at"])
        return cls(fields["id"], fields["name"], fields["payload"], at, fields["fired_by"])


class TaskContext:
    """What a task that takes a ``ctx`` parameter is given. ``event`` is the event whose
    firing made the run (None for a run of any other trigger)."""

    def __init__(
        self,
        *,
        run_id: int,
        attempt: int,
        scheduled_for: datetime,
        sink: Callable[[dict[str, Any]], None],
        heartbeat: Callable[[str | None], None],
        is_cancelled: Callable[[], bool],
        now: Callable[[], datetime] = system_now,
        event: TaskEvent | None = None,
    ) -> None:
        self.run_id = run_id
        self.attempt = attempt
        self.scheduled_for = scheduled_for
        self.event = event
        self._sink = sink
        self._heartbeat = heartbeat
        self._is_cancelled = is_cancelled
        self._now = now

    def log(self, message: str, **fields: Any) -> None:
        """Record a message with the attempt; ``fields`` that are not JSON are kept as text."""
        entry = {"at": self._now().isoformat(), "message": str(message), "fields": fields}
        self._sink(json.loads(json.dumps(entry, default=str)))

    def heartbeat(self, progress: str | None = None) -> None:
        """Tell the worker the task is alive, and optionally how far it got (the first
        ``PROGRESS_LIMIT`` characters are kept; without one, the last progress given stands).
        Cheap enough to call in a tight loop."""
        self._heartbeat(None if progress is None else str(progress)[:PROGRESS_LIMIT])

    @property
    def cancelled(self) -> bool:
        """True once the attempt was asked to stop: a long task checks it and returns."""
        return self._is_cancelled()


def resolve(path: str) -> Callable[..., Any]:
    """The callable named by ``pkg.module:function`` (the function may be ``Class.method``)."""
    if not DOTTED_PATH.fullmatch(path):
        raise ValueError(f"{path!r} is not pkg.module:function")
    module_name, _, name = path.partition(":")
    found: Any = importlib.import_module(module_name)
    for part in name.split("."):
        found = getattr(found, part)
    if not callable(found):
        raise TypeError(f"{path} is not callable")
    return found  # type: ignore[no-any-return]


def call(
    function: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    context: TaskContext,
) -> None:
    """Call a task, giving it ``ctx`` when it has such a parameter, and the payload of the
    event that made the run as ``payload`` when it takes that keyword (a parameter of that
    name, or ``**kwargs``); a coroutine is run to its end under ``asyncio.run``. The event's
    payload wins over a ``payload`` among the job's own keyword arguments: those are the
    defaults of runs made by other triggers."""
    arguments = dict(kwargs)
    parameters = _parameters(function)
    if "ctx" in parameters.names:
        arguments["ctx"] = context
    if context.event is not None and ("payload" in parameters.names or parameters.has_kwargs):
        arguments["payload"] = context.event.payload
    result = function(*args, **arguments)
    if inspect.iscoroutine(result):
        asyncio.run(result)


@dataclass(frozen=True, slots=True)
class _Parameters:
    """What ``call`` needs of a task's signature: its parameter names, and whether it takes
    any keyword (``**kwargs``)."""

    names: frozenset[str]
    has_kwargs: bool


_NO_PARAMETERS = _Parameters(frozenset(), False)


def _parameters(function: Callable[..., Any]) -> _Parameters:
    try:
        return _read_parameters(function)
    except TypeError:  # an unhashable callable: not cached
        return _read_parameters.__wrapped__(function)


@functools.lru_cache(maxsize=1024)
def _read_parameters(function: Callable[..., Any]) -> _Parameters:
    # Cached: a worker in thread mode calls the same few tasks thousands of times a second,
    # and reading a signature costs more than a no-op task.
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):  # some builtins have no signature
        return _NO_PARAMETERS
    has_kwargs = any(each.kind is inspect.Parameter.VAR_KEYWORD for each in parameters.values())
    return _Parameters(frozenset(parameters), has_kwargs)


class _Reports:
    """The report pipe; a lock keeps the lines of threads of the task whole."""

    def __init__(self, fd: int) -> None:
        os.set_inheritable(fd, False)  # the task's own subprocesses must not hold it open
        self._stream: TextIO = os.fdopen(fd, "w", encoding="utf-8")
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        line = json.dumps(message, default=str) + "\n"
        with self._lock:
            self._stream.write(line)
            self._stream.flush()


class _Heartbeats:
    """Sends a task's heartbeats at most every ``gap`` seconds, so that a task calling
    ``ctx.heartbeat()`` in a tight loop does not flood the pipe. A beat that comes too soon is
    held, merged with later ones, and sent once the gap is over: the latest progress always
    reaches the worker, at most ``gap`` late."""

    def __init__(self, reports: _Reports, gap: float = HEARTBEAT_GAP) -> None:
        self._reports = reports
        self._gap = gap
        self._lock = threading.Lock()
        self._sent_at = -gap
        self._held: str | None = None
        self._is_held = False
        self._timer: threading.Timer | None = None

    def beat(self, progress: str | None) -> None:
        with self._lock:
            if progress is None and self._is_held:
                progress = self._held  # a beat without progress keeps the one held
            self._held, self._is_held = progress, True
            self._send_when_due()

    def flush(self) -> None:
        """Send the beat held back, if any, now: the task has ended."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._is_held:
                self._send()

    def _on_timer(self) -> None:
        with self._lock:
            self._timer = None
            if self._is_held:
                self._send_when_due()

    def _send_when_due(self) -> None:
        """With the lock held: send the beat held if the gap is over, else once it is."""
        wait = self._sent_at + self._gap - time.monotonic()
        if wait <= 0:
            self._send()
        elif self._timer is None:
            self._timer = threading.Timer(wait, self._on_timer)
            self._timer.daemon = True
            self._timer.start()

    def _send(self) -> None:
        # Under the lock: a beat must never arrive after a newer one.
        progress, self._held, self._is_held = self._held, None, False
        self._sent_at = time.monotonic()
        self._reports.send({"heartbeat": True, "progress": progress})


def _context(request: Mapping[str, Any], reports: _Reports, heartbeats: _Heartbeats) -> TaskContext:
    fields = request["context"]
    cancelled = threading.Event()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        cancelled.set()
        raise SystemExit(TERMINATED)

    signal.signal(signal.SIGTERM, on_sigterm)
    return TaskContext(
        run_id=fields["run_id"],
        attempt=fields["attempt"],
        scheduled_for=datetime.fromisoformat(fields["scheduled_for"]),
        sink=lambda entry: reports.send({"log": entry}),
        heartbeat=heartbeats.beat,
        is_cancelled=cancelled.is_set,
        event=TaskEvent.from_fields(fields["event"]) if fields.get("event") else None,
    )


def peak_memory() -> int:
    """Bytes: the peak resident memory of this process or of the largest child it reaped.

    Not this process's ``ru_maxrss``: the kernel carries the high-water mark of the forking
    worker over the exec, so every child would seem at least as large as the worker. Linux's
    VmHWM counts this program alone; elsewhere ``ru_maxrss`` is the best there is.
    """
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * _MAXRSS_UNIT
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return max(children, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _MAXRSS_UNIT)
    own = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return max(children, int(own.split()[1]) * 1024)


def main() -> int:
    request = json.load(sys.stdin)
    reports = _Reports(request["report_fd"])
    heartbeats = _Heartbeats(reports)
    context = _context(request, reports, heartbeats)
    error = None
    try:
        call(resolve(request["path"]), request["args"], request["kwargs"], context)
    except Exception:
        error = traceback.format_exc()
    finally:
        heartbeats.flush()  # the last progress arrives before the end, even a SIGTERM's
    if error is not None:
        reports.send({"error": error, "peak_memory": peak_memory()})
        return 1
    reports.send({"ok": True, "peak_memory": peak_memory()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
