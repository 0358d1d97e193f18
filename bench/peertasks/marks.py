"""What the peers' tasks record, and the small pieces every peer module's command line shares."""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any


def mark(key: object) -> None:
    """Append ``key time.time()`` to the marks file: the moment a task began."""
    line = f"{key} {time.time():.6f}\n".encode()
    os.write(_marks(), line)  # one small O_APPEND write: whole lines, whatever the threads


@functools.cache
def _marks() -> int:
    """The marks file, opened once per process (two threads racing may both open it; each
    descriptor appends, so that is harmless)."""
    return os.open(os.environ["PEER_MARKS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)


def timed(call: Callable[[], Any], count: int) -> float:
    """Calls per second of ``count`` calls of ``call``."""
    started = time.perf_counter()
    for _ in range(count):
        call()
    return count / (time.perf_counter() - started)


def report(value: Any) -> None:
    """The child's one answer to the parent: a JSON line on stdout."""
    print(json.dumps(value), flush=True)


def trigger(enqueue: Callable[[int], Any], count: int, gap: float) -> None:
    """Enqueue ``count`` tasks ``gap`` seconds apart; report when each was asked for."""
    asked = {}
    for key in range(count):
        asked[key] = time.time()
        enqueue(key)
        time.sleep(gap)
    report(asked)


def dispatch(actions: dict[str, Callable[..., None]]) -> None:
    """Run the action named by the first argument with the rest as ints or floats."""
    name, *args = sys.argv[1:]
    actions[name](*(float(arg) if "." in arg else int(arg) for arg in args))
