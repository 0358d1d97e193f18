"""Tasks the execution tests run, by path, in a child process or a thread."""

from __future__ import annotations

import asyncio
import sys
import time

from cronwell.engine.child import TaskContext


def add(a: int, b: int) -> None:
    print(a + b)


def fail() -> None:
    raise ValueError("boom")


async def nap(seconds: float) -> None:
    await asyncio.sleep(seconds)
    print("awake")


async def fail_later() -> None:
    await asyncio.sleep(0)
    raise RuntimeError("async boom")


def chat(ctx: TaskContext, name: str) -> None:
    ctx.log("hello", name=name, when=ctx.scheduled_for)
    ctx.heartbeat()
    ctx.log(f"run {ctx.run_id} attempt {ctx.attempt}")


def sleep(seconds: float) -> None:
    time.sleep(seconds)


def until_cancelled(ctx: TaskContext) -> None:
    while not ctx.cancelled:
        time.sleep(0.01)
    ctx.log("stopping")


def shout(megabytes: int) -> None:
    line = "x" * 1023 + "\n"
    for _ in range(megabytes * 1024):
        sys.stdout.write(line)
    print("the end")


def allocate(megabytes: int) -> None:
    block = bytearray(b"\x01") * (megabytes * 2**20)  # written, so every page is resident
    assert block[-1] == 1


def log_nul(ctx: TaskContext) -> None:
    ctx.log("x\0y", note="p\0q")
