"""Task heartbeats: ``ctx.heartbeat(progress)`` keeps an attempt alive under its job's
``heartbeat_timeout`` and records how far the task got. Real child processes and threads,
real time: the silence is the point."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command

from cronwell.engine.execute import AttemptContext, Pulse, TaskPath, execute
from cronwell.engine.worker import Worker
from cronwell.lifecycle import AttemptStatus, RunStatus, Trigger
from cronwell.spec import JobSpec, Mode
from cronwell.store.database import Database
from cronwell.store.history import attempts_of
from cronwell.store.jobs import insert_job
from cronwell.store.migrate import alembic_config, is_current, upgrade
from cronwell.store.runs import (
    AttemptBeat,
    ClaimedRun,
    NewRun,
    Outcome,
    claim_runs,
    finish_attempt,
    insert_runs,
    record_heartbeats,
    take_back_expired,
)
from tests.engine.rows import job_with_run
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
TASKS = "tests.engine.tasks.heartbeats"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MODES = [Mode.PROCESS, Mode.THREAD]
SILENCE = timedelta(seconds=0.5)
LEASE = timedelta(seconds=30)


@pytest.fixture(autouse=True)
def _project_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child imports tasks from its working directory, as a worker in a project does."""
    monkeypatch.chdir(ROOT)


def attempt(name: str, *args: Any, **options: Any) -> Outcome:
    """One attempt of a task of this module's tasks, on the real clock."""
    options.setdefault("context", AttemptContext(7, 1, NOW))
    return execute(
        TaskPath(f"{TASKS}:{name}"),
        cancel=threading.Event(),
        now=lambda: datetime.now(UTC),
        args=args,
        **options,
    )


@pytest.mark.parametrize("mode", MODES)
def test_the_last_heartbeat_and_its_progress_end_with_the_attempt(mode: Mode) -> None:
    started = datetime.now(UTC)
    outcome = attempt("count_rows", 5, mode=mode, heartbeat_timeout=timedelta(seconds=5))
    assert outcome.status is AttemptStatus.SUCCEEDED
    assert outcome.progress == "row 5 of 5"
    assert outcome.heartbeat_at is not None
    assert started <= outcome.heartbeat_at <= outcome.finished_at


@pytest.mark.parametrize("mode", MODES)
def test_a_task_that_stops_heartbeating_is_stopped_after_heartbeat_timeout(mode: Mode) -> None:
    started = time.monotonic()
    outcome = attempt(
        "beat_then_hang",
        3,
        2.5,
        mode=mode,
        timeout=timedelta(seconds=60),
        heartbeat_timeout=SILENCE,
    )
    took = time.monotonic() - started
    assert outcome.status is AttemptStatus.TIMED_OUT
    assert outcome.error is not None and outcome.error.startswith("no heartbeat for 0.5 s")
    assert "timed out after" not in outcome.error  # told apart from the overall timeout
    assert outcome.progress == "beat 3", "how far it got is kept"
    assert 0.5 <= took < 2.0, "stopped at its silence, not at the task's end"
    quiet = attempt("beat_then_hang", 0, 0.8, mode=mode)
    assert quiet.status is AttemptStatus.SUCCEEDED, "without heartbeat_timeout, silence is fine"


def test_a_silent_child_is_killed_with_its_process_group() -> None:
    pulse = Pulse()
    started = time.monotonic()
    outcome = attempt(
        "beat_then_hang", 0, 30, context=AttemptContext(7, 1, NOW, pulse=pulse),
        heartbeat_timeout=SILENCE,
    )  # fmt: skip
    assert outcome.status is AttemptStatus.TIMED_OUT
    assert outcome.exit_code is not None and outcome.exit_code != 0
    assert time.monotonic() - started < 5, "a 30 s sleep was cut short"
    assert (outcome.heartbeat_at, outcome.progress, pulse.last) == (None, None, None)


@pytest.mark.parametrize("mode", MODES)
def test_a_tight_loop_of_heartbeats_stays_alive_and_does_not_flood(mode: Mode) -> None:
    received: list[int] = []
    context = AttemptContext(7, 1, NOW, on_heartbeat=lambda: received.append(1))
    outcome = attempt(
        "tight_loop", 1.5, mode=mode, context=context, heartbeat_timeout=timedelta(seconds=1)
    )
    assert outcome.status is AttemptStatus.SUCCEEDED, outcome.error
    assert outcome.logs is not None
    calls = outcome.logs[-1]["fields"]["calls"]
    assert calls > 1000
    assert outcome.progress == f"{calls} calls", "the latest progress always arrives"
    if mode is Mode.PROCESS:  # at most one message per 100 ms, and the last
        assert len(received) <= 1.5 / 0.1 + 3
    else:  # in the same process: no pipe to flood
        assert len(received) == calls + 1


@pytest.mark.parametrize("mode", MODES)
def test_a_long_progress_is_cut_to_its_limit(mode: Mode) -> None:
    outcome = attempt("long_progress", mode=mode)
    assert outcome.progress == "x" * 200


def claimed_run(database: Database, job: str = "rows", owner: str = "worker-1") -> ClaimedRun:
    """A run of a new job, claimed by ``owner``: its first attempt is open."""
    spec = JobSpec.parse({"name": job, "task": f"{TASKS}:count_rows"})
    with database.transaction() as connection:
        job_id = insert_job(connection, spec, NOW)
        insert_runs(connection, [NewRun(job_id, NOW, Trigger.MANUAL, "default", 2, 3)], NOW)
        (run,) = claim_runs(
            connection, owner=owner, queues=["default"], now=NOW, lease=LEASE, limit=1
        )
    return run


def shown(database: Database, run_id: int) -> list[tuple[Any, ...]]:
    """Each attempt's (status, heartbeat_at, progress) as ``cronwell runs show`` reads them."""
    with database.transaction(write=False) as connection:
        return [(a.status, a.heartbeat_at, a.progress) for a in attempts_of(connection, run_id)]


def test_heartbeats_are_recorded_in_a_batch_for_the_owners_running_attempts(
    database: Database,
) -> None:
    run = claimed_run(database)
    beat = AttemptBeat(run.id, run.attempt, NOW + timedelta(seconds=5), "row 3 of 9")
    with database.transaction() as connection:
        record_heartbeats(connection, "another-worker", [beat])
    assert shown(database, run.id) == [("running", None, None)], "not the owner: nothing"
    with database.transaction() as connection:
        record_heartbeats(connection, "worker-1", [beat])
    assert shown(database, run.id) == [("running", beat.at, "row 3 of 9")]


def test_an_attempts_end_records_its_last_heartbeat_or_keeps_the_one_recorded(
    database: Database,
) -> None:
    run = claimed_run(database)
    late = NOW + timedelta(seconds=9)
    with database.transaction() as connection:
        record_heartbeats(connection, "worker-1", [AttemptBeat(run.id, 1, NOW, "row 1 of 9")])
        outcome = Outcome(AttemptStatus.SUCCEEDED, late, heartbeat_at=late, progress="row 9 of 9")
        finish_attempt(connection, run, "worker-1", outcome, run_status=RunStatus.SUCCEEDED)
        record_heartbeats(connection, "worker-1", [AttemptBeat(run.id, 1, NOW, "row 1 of 9")])
    assert shown(database, run.id) == [("succeeded", late, "row 9 of 9")], "ended: kept"
    lost = claimed_run(database, "other")
    with database.transaction() as connection:
        record_heartbeats(connection, "worker-1", [AttemptBeat(lost.id, 1, NOW, "row 2 of 9")])
        take_back_expired(connection, NOW + LEASE * 2)  # its worker died
    assert shown(database, lost.id) == [("lost", NOW, "row 2 of 9")]


def test_a_database_from_before_upgrades_its_attempts_with_no_heartbeat(
    database: Database,
) -> None:
    run = claimed_run(database)  # an attempt running as the worker upgrades
    config = alembic_config()
    with database.transaction() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")  # the attempt stays, without the newer columns
    assert not is_current(database)
    upgrade(database)
    assert shown(database, run.id) == [("running", None, None)]
    with database.transaction() as connection:
        record_heartbeats(connection, "worker-1", [AttemptBeat(run.id, 1, NOW, "resumed")])
    assert shown(database, run.id) == [("running", NOW, "resumed")]


def test_runs_show_gives_each_attempts_last_heartbeat_and_progress(
    database: Database, database_url: str
) -> None:
    run = claimed_run(database)
    with database.transaction() as connection:
        record_heartbeats(connection, "worker-1", [AttemptBeat(run.id, 1, NOW, "row 4000 of 9000")])
    command = "from cronwell.cli import entry_point; entry_point()"
    shown = subprocess.run(
        [sys.executable, "-c", command, "runs", "show", str(run.id), "--database", database_url],
        capture_output=True,
        text=True,
        check=True,
    )
    (attempt,) = json.loads(shown.stdout)["attempt_details"]
    assert (attempt["heartbeat_at"], attempt["progress"]) == (NOW.isoformat(), "row 4000 of 9000")


def add_run(database: Database, task: str, **definition: Any) -> int:
    """A job running ``task`` of this module's tasks and one pending run of it, due now."""
    return job_with_run(database, NOW, name=task, task=f"{TASKS}:{task}", **definition)


@pytest.mark.parametrize("mode", MODES)
def test_a_worker_stops_a_silent_task_and_retries_it_by_its_policy(
    database: Database, worker: Worker, mode: Mode
) -> None:
    retry = {"strategy": "fixed", "max_attempts": 2, "initial_delay": 0, "jitter": 0}
    run_id = add_run(
        database,
        "hang_at_first",
        args=[2],
        mode=mode,
        retry=retry,
        timeout="60s",
        heartbeat_timeout=SILENCE,
    )
    started = time.monotonic()
    worker.tick(NOW)
    worker.join()
    assert time.monotonic() - started < 1.9, "stopped at its silence, not at the task's end"
    assert shown(database, run_id) == [("timed_out", None, None)]
    worker.tick(NOW)  # the retry, at once by its policy
    worker.join()
    assert shown(database, run_id) == [
        ("timed_out", None, None),
        ("succeeded", NOW, "done at last"),
    ]
    with database.transaction(write=False) as connection:
        first = attempts_of(connection, run_id)[0]
    assert first.error is not None and first.error.startswith("no heartbeat for 0.5 s")


@pytest.mark.parametrize("mode", MODES)
def test_the_worker_records_heartbeats_with_its_lease_renewal_not_per_call(
    database: Database, worker: Worker, mode: Mode
) -> None:
    run_id = add_run(database, "tight_loop", args=[30], mode=mode, heartbeat_timeout="5s")
    worker.tick(NOW)
    # The task's process must start before it beats, which takes a loaded machine seconds.
    eventually(lambda: _is_beating(worker))
    time.sleep(0.5)  # thousands of heartbeats
    assert shown(database, run_id) == [("running", None, None)], "no write per heartbeat"
    worker.heartbeat()
    ((status, beat_at, progress),) = shown(database, run_id)
    assert (status, beat_at) == ("running", NOW)
    assert progress is not None and progress.startswith("call ")
    worker.interrupt()  # stops the task, handing its run back
    assert worker.join(10)
    assert shown(database, run_id) == [("interrupted", NOW, progress)], "the hand-back keeps it"


def _is_beating(worker: Worker) -> bool:
    """Whether a task of ``worker`` has heartbeated (what only the worker's memory holds)."""
    return any(pulse.last is not None for pulse in dict(worker._pulses).values())
