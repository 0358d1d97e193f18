"""No attempt is left running by an error of the worker's own: the attempt ends failed, with
the traceback as its error."""

from __future__ import annotations

import contextlib
import os
import resource
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cronwell.engine.clock import ManualClock
from cronwell.engine.worker import Worker
from cronwell.lifecycle import Trigger
from cronwell.spec import JobSpec
from cronwell.store.database import Database
from cronwell.store.jobs import insert_job
from cronwell.store.runs import NewRun, insert_runs
from cronwell.store.tables import attempts, runs

NOW = datetime(2026, 6, 1, 10, 0, 0, 500000, tzinfo=UTC)


def add_run(database: Database, when: datetime = NOW, **definition: Any) -> int:
    """A job from ``definition`` and one pending run of it, due ``when``."""
    spec = JobSpec.parse({"name": "job", **definition})
    with database.transaction() as connection:
        job_id = insert_job(connection, spec, when)
        run = NewRun(job_id, when, Trigger.MANUAL, spec.queue, 2, spec.retry.max_attempts)
        (run_id,) = insert_runs(connection, [run], when)
    return run_id


def run_rows(database: Database) -> list[Any]:
    with database.transaction(write=False) as connection:
        return list(connection.execute(select(runs).order_by(runs.c.scheduled_for)).all())


def attempt_rows(database: Database, run_id: int) -> list[Any]:
    with database.transaction(write=False) as connection:
        query = select(attempts).where(attempts.c.run_id == run_id).order_by(attempts.c.number)
        return list(connection.execute(query).all())


@contextlib.contextmanager
def no_file_descriptors_left() -> Iterator[None]:
    """This process may open no more files: every descriptor up to its limit is taken."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    highest = max(int(fd.name) for fd in Path("/proc/self/fd").iterdir())
    resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 16, hard))
    taken = []
    try:
        with contextlib.suppress(OSError):
            while True:
                taken.append(os.open(os.devnull, os.O_RDONLY))
        yield
    finally:
        for fd in taken:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_an_attempt_the_worker_cannot_start_for_want_of_files_ends_failed(
    database: Database, worker: Worker
) -> None:
    run_id = add_run(
        database, task="tests.engine.tasks.sample:add", args=[1, 2], retry={"strategy": "none"}
    )
    run_rows(database)  # a connection is open and pooled: the tick needs no new file
    worker.wake.clear()
    with no_file_descriptors_left():
        worker.tick(NOW)
        has_ended = worker.wake.wait(10)  # set as the attempt's end is queued
    assert has_ended, "the attempt's end was queued"
    assert worker.join(10)
    assert run_rows(database)[0].status == "dead"
    (attempt,) = attempt_rows(database, run_id)
    assert attempt.status == "failed"
    assert "the worker failed the attempt" in attempt.error
    assert "Traceback" in attempt.error and "Too many open files" in attempt.error


LAST_HOUR = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)  # a retry a day later is past any date


@pytest.mark.parametrize(
    "target",
    [{"command": "false"}, {"task": "tests.engine.tasks.sample:fail", "mode": "thread"}],
    ids=["pool", "thread"],
)
def test_an_attempt_whose_run_cannot_be_settled_ends_failed_and_its_run_dead(
    database: Database, target: dict[str, str]
) -> None:
    retry = {"strategy": "fixed", "initial_delay": "1d", "max_delay": "1d", "max_attempts": 2}
    run_id = add_run(database, LAST_HOUR, retry=retry, **target)
    worker = Worker(database, ManualClock(LAST_HOUR), rand=lambda: 0.0)
    try:
        worker.tick()
        assert worker.join(10), "the attempt's end was queued"
    finally:
        worker.close()
    row = run_rows(database)[0]
    assert (row.status, row.reason) == ("dead", "the worker could not settle the run")
    (attempt,) = attempt_rows(database, run_id)
    assert attempt.status == "failed"
    assert "the worker could not settle the attempt" in attempt.error
    assert "OverflowError" in attempt.error
