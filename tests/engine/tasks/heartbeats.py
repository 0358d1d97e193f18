"""Tasks that heartbeat, or stop doing so, for the task heartbeat tests. ``ctx`` comes last,
so that positional arguments fill the others."""

from __future__ import annotations

import time

from cronwell.engine.child import TaskContext


def count_rows(rows: int, ctx: TaskContext) -> None:
    for row in range(1, rows + 1):
        ctx.heartbeat(f"row {row} of {rows}")
        time.sleep(0.02)


def beat_then_hang(beats: int, seconds: float, ctx: TaskContext) -> None:
    """Heartbeat ``beats`` times, then hang without a word for ``seconds``."""
    for beat in range(1, beats + 1):
        ctx.heartbeat(f"beat {beat}")
        time.sleep(0.05)
    time.sleep(seconds)


def hang_at_first(seconds: float, ctx: TaskContext) -> None:
    """Hang on the first attempt; on a retry, heartbeat once and succeed."""
    if ctx.attempt == 1:
        time.sleep(seconds)
    ctx.heartbeat("done at last")


def tight_loop(seconds: float, ctx: TaskContext) -> None:
    """Heartbeat as fast as it can for ``seconds``, or until cancelled; says how many times."""
    calls = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end and not ctx.cancelled:
        calls += 1
        if calls % 2:
            ctx.heartbeat()  # keeps the progress given last
        else:
            ctx.heartbeat(f"call {calls}")
    ctx.heartbeat(f"{calls} calls")
    ctx.log("calls", calls=calls)


def long_progress(ctx: TaskContext) -> None:
    ctx.heartbeat("x" * 1000)
