"""procrastinate on PostgreSQL with psycopg 3 (``PsycopgConnector``). Deferring from
synchronous code uses the connector's synchronous side, as its docs say; the bulk figure is
``batch_defer``. The worker is ``app.run_worker`` with a synchronous task, which it runs on
threads (asgiref's ``sync_to_async``), LISTEN/NOTIFY on (its default). With
``PEER_VARIANT=async`` the jobs are of a coroutine task instead, which the worker awaits on
its event loop, with no thread hand-off."""

# mypy: ignore-errors
# (this module runs in the peers' virtualenv, whose libraries the project's mypy does not see)

from __future__ import annotations

import os

import procrastinate

from peertasks.marks import dispatch, mark, report, timed, trigger

app = procrastinate.App(
    connector=procrastinate.PsycopgConnector(conninfo=os.environ.get("PEER_DB", ""))
)


@app.task(queue="bench")
def noop_sync(key: int) -> None:
    mark(key)


@app.task(queue="bench")
async def noop_async(key: int) -> None:
    mark(key)


noop = noop_async if os.environ.get("PEER_VARIANT") == "async" else noop_sync


def setup() -> None:
    with app.open():
        app.schema_manager.apply_schema()
    report(None)


def enqueue(one: int, bulk: int) -> None:
    with app.open():
        noop.defer(key=-1)  # warm
        rate_one = timed(lambda: noop.defer(key=-1), one)
        rate_bulk = timed(lambda: noop.batch_defer(*({"key": -1} for _ in range(bulk))), 1)
    report({"one": rate_one, "bulk": rate_bulk * bulk})


def fill(count: int) -> None:
    with app.open():
        for first in range(0, count, 5000):
            keys = range(first, min(count, first + 5000))
            noop.batch_defer(*({"key": key} for key in keys))
    report(count)


def trigger_sync(count: int, gap: float) -> None:
    with app.open():
        trigger(lambda key: noop.defer(key=key), count, gap)


def consume(concurrency: int) -> None:
    app.run_worker(queues=["bench"], concurrency=concurrency, wait=True)


if __name__ == "__main__":
    dispatch(
        {
            "setup": setup,
            "enqueue": enqueue,
            "fill": fill,
            "trigger": trigger_sync,
            "consume": consume,
        }
    )
