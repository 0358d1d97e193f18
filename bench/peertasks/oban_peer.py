"""oban (the Python port, ``oban`` on PyPI) on PostgreSQL. It is asyncio only: a worker's
``process`` is a coroutine, so there is no thread mode; the queue's limit is the concurrency.
Enqueueing is ``oban.enqueue`` from a client-mode instance (no queues); the bulk figure is
``enqueue_many`` (one transaction; it executes one insert per job)."""

# mypy: ignore-errors
# (this module runs in the peers' virtualenv, whose libraries the project's mypy does not see)

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

from oban import Oban, worker
from oban.schema import install

from peertasks.marks import dispatch, mark, report

DSN = os.environ.get("PEER_DB", "")


@worker(queue="bench")
class Noop:
    async def process(self, job: Any) -> None:
        mark(job.args["key"])


async def _client() -> tuple[Any, Oban]:
    pool = await Oban.create_pool(DSN)
    return pool, Oban(pool=pool)


async def _setup() -> None:
    pool = await Oban.create_pool(DSN)
    await install(pool)
    await pool.close()
    report(None)


async def _enqueue(one: int, bulk: int) -> None:
    loop = asyncio.get_running_loop()
    pool, oban = await _client()
    await oban.enqueue(Noop.new({"key": -1}))  # warm
    started = loop.time()
    for _ in range(one):
        await oban.enqueue(Noop.new({"key": -1}))
    rate_one = one / (loop.time() - started)
    started = loop.time()
    await oban.enqueue_many([Noop.new({"key": -1}) for _ in range(bulk)])
    rate_bulk = bulk / (loop.time() - started)
    await pool.close()
    report({"one": rate_one, "bulk": rate_bulk})


async def _fill(count: int) -> None:
    pool, oban = await _client()
    for first in range(0, count, 5000):
        keys = range(first, min(count, first + 5000))
        await oban.enqueue_many([Noop.new({"key": key}) for key in keys])
    await pool.close()
    report(count)


async def _trigger(count: int, gap: float) -> None:
    pool, oban = await _client()
    asked = {}
    for key in range(count):
        asked[key] = time.time()
        await oban.enqueue(Noop.new({"key": key}))
        await asyncio.sleep(gap)
    await pool.close()
    report(asked)


async def _consume(limit: int) -> None:
    pool = await Oban.create_pool(DSN, max_size=max(10, limit))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with Oban(pool=pool, queues={"bench": limit}):
        await stop.wait()
    await pool.close()


if __name__ == "__main__":
    dispatch(
        {
            "setup": lambda: asyncio.run(_setup()),
            "enqueue": lambda one, bulk: asyncio.run(_enqueue(one, bulk)),
            "fill": lambda count: asyncio.run(_fill(count)),
            "trigger": lambda count, gap: asyncio.run(_trigger(count, gap)),
            "consume": lambda limit: asyncio.run(_consume(limit)),
        }
    )
