"""APScheduler 3.x: a ``BackgroundScheduler`` (its thread pool executor, the default) with an
interval job due every second, in memory (``MemoryJobStore``) or on SQLite
(``SQLAlchemyJobStore``). The job records when it began; its lateness is that instant minus
its due time, the interval's start plus whole seconds."""

# mypy: ignore-errors
# (this module runs in the peers' virtualenv, whose libraries the project's mypy does not see)

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from peertasks.marks import dispatch, mark, report


def tick() -> None:
    mark(0)


def precision(seconds: int) -> None:
    where = os.environ.get("PEER_DB", "memory")
    store = MemoryJobStore() if where == "memory" else SQLAlchemyJobStore(f"sqlite:///{where}")
    scheduler = BackgroundScheduler(jobstores={"default": store}, timezone=UTC)
    scheduler.start()
    first = int(time.time()) + 2  # a whole second, far enough ahead to be planned
    scheduler.add_job(
        "peertasks.apscheduler_peer:tick",
        "interval",
        seconds=1,
        start_date=datetime.fromtimestamp(first, UTC),
        misfire_grace_time=None,
        coalesce=False,
        max_instances=10,
    )
    time.sleep(first - time.time() + seconds + 0.5)
    scheduler.shutdown(wait=True)
    report({"first": first, "seconds": seconds})


if __name__ == "__main__":
    dispatch({"precision": precision})
