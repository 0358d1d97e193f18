"""Cronwell embedded in a pre-forking web server: each of its processes calls ``app.start()``,
so every one runs a scheduler, a worker and a reaper on the one store. The leader lease lets
one scheduler fire at a time; every due second still runs exactly once."""

from __future__ import annotations

import multiprocessing
import threading
import time
import traceback
from datetime import timedelta
from multiprocessing.process import BaseProcess
from pathlib import Path

from cronwell.app import Cronwell
from tests.e2e.processes import (
    Store,
    assert_each_due_once,
    assert_planned_by_policy,
    eventually,
    first_due,
    now,
    on_time_share,
)

PROCESSES = 4
LIFETIME = timedelta(seconds=8)  # how long each process serves before it shuts down
LEASE = timedelta(seconds=4)
SLACK = timedelta(seconds=2)
ON_TIME = 0.75  # the share of due times fired on time, at the least
EVERY_SECOND = "* * * * * *"


def serve(app: Cronwell | None, database_url: str, errors: Path) -> None:
    """A web server's process: start cronwell, serve a while, shut down. The app is the one
    built before the fork, or, without one, this process's own. What goes wrong in any of
    its threads (a loop that dies keeps the process going) is written to ``errors``."""

    def record(failed: threading.ExceptHookArgs) -> None:
        lines = traceback.format_exception(failed.exc_type, failed.exc_value, failed.exc_traceback)
        with errors.open("a") as file:
            file.write(f"in thread {failed.thread and failed.thread.name}:\n{''.join(lines)}")

    threading.excepthook = record
    try:
        app = app or Cronwell(database_url, lease=LEASE)
        app.start()
        time.sleep(LIFETIME.total_seconds())
        app.shutdown()
    except BaseException:
        with errors.open("a") as file:
            file.write(traceback.format_exc())
        raise


def fork(app: Cronwell | None, database_url: str, tmp_path: Path) -> list[BaseProcess]:
    context = multiprocessing.get_context("fork")
    processes: list[BaseProcess] = [
        context.Process(target=serve, args=(app, database_url, tmp_path / f"errors-{n}.txt"))
        for n in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    return processes


def check_every_second_ran_once(
    database_url: str, tmp_path: Path, app: Cronwell | None = None
) -> None:
    forked_at = now()
    processes = fork(app, database_url, tmp_path)
    try:
        with Store(database_url) as store:
            eventually(store.leader, 10, "a process leads")
            definer = Cronwell(database_url, migrate=False)
            definer.schedule(
                name="every-second", schedule=EVERY_SECOND, command="true", overlap="allow"
            )
            definer.database.dispose()
            created = store.job_created_at("every-second")
            for process in processes:
                process.join((LIFETIME + 3 * SLACK + timedelta(seconds=30)).total_seconds())
            runs = store.runs()
            registered = store.workers()
            attempts = store.attempts()
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
    errors = [path.read_text() for path in sorted(tmp_path.glob("errors-*.txt"))]
    assert not errors, "\n".join(errors)
    assert [process.exitcode for process in processes] == [0] * PROCESSES

    assert_each_due_once(
        [run.scheduled_for for run in runs],
        first=first_due(EVERY_SECOND, created),
        last_at_least=forked_at + LIFETIME - SLACK,
    )
    assert_planned_by_policy(runs)
    assert on_time_share(runs) >= ON_TIME
    # All stop at about the same time: a run fired last may be left for the next start.
    unfinished = [run for run in runs if run.status not in ("succeeded", "skipped")]
    assert {run.status for run in unfinished} <= {"pending"}
    assert all(run in runs[-2:] for run in unfinished), unfinished
    assert sorted(registered) == sorted(process.pid for process in processes if process.pid)
    assert all(worker.stopped_at is not None for worker in registered.values())
    ids = {worker.id for worker in registered.values()}
    assert {attempt.worker_id in ids for attempt in attempts} == {True}


def test_each_forked_process_builds_its_own_app_and_every_second_runs_once(
    database_url: str, tmp_path: Path
) -> None:
    check_every_second_ran_once(database_url, tmp_path)


def test_an_app_built_before_the_fork_starts_in_every_process(
    database_url: str, tmp_path: Path
) -> None:
    """The web server imports the module that builds the app, then forks (gunicorn's
    ``preload_app``): the app, and the connections it opened, are inherited."""
    app = Cronwell(database_url, lease=LEASE)
    try:
        check_every_second_ran_once(database_url, tmp_path, app)
    finally:
        app.database.dispose()
