"""Callables in mode ``thread``: each attempt ends exactly once, by the task returning, its
timeout or its cancel, and the worker settles it from there without a thread waiting on it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cronwell.engine.clock import ManualClock
from cronwell.engine.execute import AttemptContext, TaskPath, start_in_thread
from cronwell.engine.worker import Worker
from cronwell.lifecycle import AttemptStatus, Trigger
from cronwell.spec import JobSpec
from cronwell.store.database import Database
from cronwell.store.jobs import insert_job
from cronwell.store.runs import NewRun, Outcome, insert_runs
from cronwell.store.tables import attempts, runs

ROOT = Path(__file__).resolve().parents[2]
TASKS = "tests.engine.tasks.sample"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CONTEXT = AttemptContext(run_id=7, attempt=1, scheduled_for=NOW)


@pytest.fixture(autouse=True)
def _project_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


class Ends:
    """Collects the outcomes ``on_end`` is given, by attempt."""

    def __init__(self) -> None:
        self.outcomes: dict[int, list[Outcome]] = {}
        self._lock = threading.Lock()

    def on_end(self, number: int) -> Any:
        def record(outcome: Outcome) -> None:
            with self._lock:
                self.outcomes.setdefault(number, []).append(outcome)

        return record

    def wait(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.outcomes) < count:
            assert time.monotonic() < deadline, f"{len(self.outcomes)} of {count} ended"
            time.sleep(0.01)


def start(ends: Ends, number: int, name: str, *args: Any, **options: Any) -> threading.Event:
    cancel: threading.Event = options.pop("cancel", threading.Event())
    start_in_thread(
        TaskPath(f"{TASKS}:{name}"),
        context=CONTEXT,
        cancel=cancel,
        now=lambda: NOW,
        on_end=ends.on_end(number),
        args=args,
        **options,
    )
    return cancel


def test_many_attempts_at_once_each_end_exactly_once() -> None:
    ends = Ends()
    for number in range(200):
        if number % 2:
            start(ends, number, "add", number, 1)
        else:
            start(ends, number, "fail")
    ends.wait(200)
    time.sleep(0.1)  # the watch comes round once more: nothing ends twice
    assert sorted(ends.outcomes) == list(range(200))
    assert all(len(outcomes) == 1 for outcomes in ends.outcomes.values())
    statuses = {number: outcomes[0].status for number, outcomes in ends.outcomes.items()}
    assert statuses == {
        n: AttemptStatus.SUCCEEDED if n % 2 else AttemptStatus.FAILED for n in range(200)
    }
    assert "ValueError: boom" in (ends.outcomes[0][0].error or "")


def test_a_thread_that_ignores_its_cancel_ends_cancelled_after_the_grace_period() -> None:
    ends = Ends()
    cancel = start(ends, 1, "sleep", 5, grace=timedelta(seconds=0.2))
    asked = time.monotonic()
    cancel.set()
    ends.wait(1)
    assert 0.2 <= time.monotonic() - asked < 2
    (outcome,) = ends.outcomes[1]
    assert (outcome.status, outcome.error) == (AttemptStatus.CANCELLED, "cancelled")


def test_a_cancel_before_the_start_runs_nothing() -> None:
    ends = Ends()
    cancel = threading.Event()
    cancel.set()
    start(ends, 1, "fail", cancel=cancel)
    assert [outcome.status for outcome in ends.outcomes[1]] == [AttemptStatus.CANCELLED]


def test_a_timeout_is_noticed_while_the_thread_runs_on() -> None:
    ends = Ends()
    start(ends, 1, "sleep", 5, timeout=timedelta(seconds=0.1))
    ends.wait(1)
    (outcome,) = ends.outcomes[1]
    assert outcome.status is AttemptStatus.TIMED_OUT
    assert "left running" in (outcome.error or "")


# The worker


@pytest.fixture
def worker(database: Database) -> Iterator[Worker]:
    worker = Worker(database, ManualClock(NOW), concurrency=4, rand=lambda: 0.0)
    yield worker
    worker.close()


def add_runs(database: Database, count: int, **definition: Any) -> list[int]:
    spec = JobSpec.parse({"name": "job", "mode": "thread", **definition})
    with database.transaction() as connection:
        job_id = insert_job(connection, spec, NOW)
        new = [
            NewRun(job_id, NOW - timedelta(seconds=n), Trigger.MANUAL, "default", 2, 1)
            for n in range(count)
        ]
        return insert_runs(connection, new, NOW)


def ended(database: Database) -> list[tuple[str, str]]:
    with database.transaction(write=False) as connection:
        query = select(runs.c.status, attempts.c.status).join(attempts).order_by(runs.c.id)
        return [(row[0], row[1]) for row in connection.execute(query)]


def test_a_worker_runs_thread_tasks_in_its_slots_and_settles_them(
    database: Database, worker: Worker
) -> None:
    add_runs(database, 6, task=f"{TASKS}:add", args=[1, 2])
    worker.tick(NOW)
    assert worker.in_flight <= 4
    assert worker.join(timeout=10)
    worker.tick(NOW)
    assert worker.join(timeout=10)
    assert ended(database) == [("succeeded", "succeeded")] * 6
    assert worker.in_flight == 0


def test_a_worker_records_a_thread_tasks_timeout_and_cancel(
    database: Database, worker: Worker
) -> None:
    _, cancelled = add_runs(database, 2, task=f"{TASKS}:until_cancelled", timeout="1s")
    worker.tick(NOW)
    with database.transaction() as connection:
        connection.execute(
            runs.update().where(runs.c.id == cancelled).values(is_cancel_requested=True)
        )
    worker.stop_cancelled()
    assert worker.join(timeout=10)
    assert ended(database) == [("dead", "timed_out"), ("cancelled", "cancelled")]


# The task threads


def test_a_slow_task_does_not_hold_up_the_next() -> None:
    ends = Ends()
    started = time.monotonic()
    for number in range(8):  # more than the threads awake: each still gets one soon
        start(ends, number, "sleep", 0.5)
    start(ends, 8, "add", 1, 2)
    ends.wait(1)
    assert list(ends.outcomes) == [8] and time.monotonic() - started < 0.4
    ends.wait(9)
    assert time.monotonic() - started < 2.0, "the sleeps ran side by side, not one by one"
    assert {outcome.status for runs in ends.outcomes.values() for outcome in runs} == {
        AttemptStatus.SUCCEEDED
    }
