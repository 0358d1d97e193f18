"""When a worker wakes: at a run's not_before, counted from the end of the tick that found it,
since a tick takes time of its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cronwell.engine.clock import ManualClock
from cronwell.engine.worker import Worker
from cronwell.lifecycle import Trigger
from cronwell.spec import JobSpec
from cronwell.store.database import Database
from cronwell.store.jobs import insert_job
from cronwell.store.runs import NewRun, insert_runs

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MS = timedelta(milliseconds=1)


class TickingClock(ManualClock):
    """A clock that moves on by ``step`` each time it is read, as time passes during a tick."""

    def __init__(self, start: datetime, step: timedelta) -> None:
        super().__init__(start)
        self.step = step

    def now(self) -> datetime:
        return self.advance(self.step) - self.step


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock(NOW, step=timedelta(0))


def add_run(database: Database, not_before: datetime) -> None:
    spec = JobSpec.parse({"name": "job", "command": "true"})
    with database.transaction() as connection:
        job_id = insert_job(connection, spec, NOW)
        insert_runs(connection, [NewRun(job_id, not_before, Trigger.MANUAL, "default", 2, 1)], NOW)


def test_a_worker_wakes_when_the_run_is_due_however_long_its_tick_took(
    database: Database, worker: Worker, clock: TickingClock
) -> None:
    add_run(database, NOW + 300 * MS)
    clock.step = 40 * MS  # the tick reads the clock as it starts and as it ends
    assert worker.tick() == 260 * MS


def test_a_tick_told_its_instant_counts_from_it(database: Database, worker: Worker) -> None:
    add_run(database, NOW + 300 * MS)
    assert worker.tick(NOW + 100 * MS) == 200 * MS
