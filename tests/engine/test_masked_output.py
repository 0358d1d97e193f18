"""A task's output and error are stored with their secrets masked, by the worker that ran
it, in whichever mode; the job's definition keeps the real values it runs with. On both
stores, with a real worker and real child processes."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import select

from cronwell.engine.child import TaskContext
from cronwell.engine.clock import ManualClock
from cronwell.engine.worker import Worker
from cronwell.policies.secrets import SecretKeys
from cronwell.store.database import Database
from cronwell.store.tables import attempts
from tests.engine.rows import job_with_run
from tests.waiting import eventually

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)


def run_to_its_end(worker: Worker, clock: ManualClock) -> None:
    worker.tick(clock.now())
    worker.join()
    worker.tick(clock.now())


def attempt_of(database: Database, run_id: int) -> tuple[str | None, str | None]:
    with database.transaction(write=False) as connection:
        row = connection.execute(
            select(attempts.c.output, attempts.c.error).where(attempts.c.run_id == run_id)
        ).one()
    return row.output, row.error


def test_a_secret_printed_by_a_task_is_stored_masked(
    database: Database, worker: Worker, clock: ManualClock
) -> None:
    script = 'echo "password=$DB_PASS user=ana"; echo \'{"api_key": "k-9"}\' >&2; exit 3'
    run_id = job_with_run(
        database,
        NOW,
        command=["sh", "-c", script],
        env={"DB_PASS": "hunter2"},
        retry={"strategy": "none"},
    )
    run_to_its_end(worker, clock)
    output, error = attempt_of(database, run_id)
    assert output is not None and "password=*** user=ana" in output
    assert '"api_key": "***"' in output
    assert "hunter2" not in output and "k-9" not in output
    assert error == "exited with code 3"


def test_the_worker_masks_by_the_keys_it_is_given(database: Database, clock: ManualClock) -> None:
    run_id = job_with_run(database, NOW, command=["echo", "pin=1234 password=shown"])
    worker = Worker(database, clock, secret_keys=SecretKeys(("pin",)))
    try:
        run_to_its_end(worker, clock)
    finally:
        worker.close()
    output, _ = attempt_of(database, run_id)
    assert output is not None and output.strip() == "pin=*** password=shown"


def beat_a_secret(ctx: TaskContext) -> None:
    """A task whose progress holds a secret, running until it is stopped."""
    ctx.heartbeat("password=x")
    while not ctx.cancelled:
        time.sleep(0.01)


def test_a_secret_in_a_running_tasks_progress_is_stored_masked(
    database: Database, worker: Worker, clock: ManualClock
) -> None:
    task = f"{__name__}:beat_a_secret"
    run_id = job_with_run(database, NOW, task=task, mode="thread")
    worker.tick(clock.now())

    def recorded() -> str | None:
        worker.heartbeat()  # how progress reaches the store while the attempt runs
        with database.transaction(write=False) as connection:
            progress: str | None = connection.execute(
                select(attempts.c.progress).where(attempts.c.run_id == run_id)
            ).scalar_one()
        return progress

    try:
        eventually(lambda: recorded() is not None)
        assert recorded() == "password=***"
    finally:
        worker.interrupt()
        worker.join(10)
