"""huey on SQLite (``SqliteHuey`` with its defaults: WAL journal, SQLite's own
``synchronous``). huey has no bulk enqueue (``task.map`` enqueues one by one), so it has no
bulk figure. The consumer is huey's own, with thread workers."""

# mypy: ignore-errors
# (this module runs in the peers' virtualenv, whose libraries the project's mypy does not see)

from __future__ import annotations

import os
import sys

from peertasks.huey_tasks import noop
from peertasks.marks import dispatch, report, timed, trigger


def enqueue(one: int, bulk: int) -> None:
    noop(-1)  # warm: the connection, the table
    report({"one": timed(lambda: noop(-1), one), "bulk": None})


def fill(count: int) -> None:
    for key in range(count):
        noop(key)
    report(count)


def consume(workers: int) -> None:
    """huey's consumer, thread workers, default polling (0.1 s, backoff 1.15, at most 10 s);
    ``--quiet`` keeps it from logging a line per task."""
    argv = [sys.executable, "-m", "huey.bin.huey_consumer", "peertasks.huey_tasks.huey"]
    argv += ["--worker-type", "thread", "--workers", str(workers), "--quiet"]
    os.execv(sys.executable, argv)


if __name__ == "__main__":
    dispatch(
        {
            "setup": lambda: report(None),
            "enqueue": enqueue,
            "fill": fill,
            "trigger": lambda count, gap: trigger(noop, count, gap),
            "consume": consume,
        }
    )
