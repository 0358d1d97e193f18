"""cronwell's parts as real processes on one store: every due second runs once; a process
killed with SIGKILL loses nothing; a worker stopped with SIGTERM finishes what fits in its grace
period and hands back the rest, to be claimed by another worker at once."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest

from cronwell.app import Cronwell
from tests.e2e.processes import (
    Attempt,
    Process,
    Run,
    Store,
    apply_job,
    assert_each_due_once,
    assert_planned_by_policy,
    cronwell,
    eventually,
    first_due,
    keep_running,
    now,
    on_time_share,
)

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
EVERY_SECOND = "* * * * * *"
LEASE = timedelta(seconds=4)
SLACK = timedelta(seconds=2)  # a loaded machine's scheduling delays, on top of any bound
ON_TIME = 0.75  # the share of due times a healthy scheduler fires on time, at the least
EVERY_SECOND_JOB = {"schedule": EVERY_SECOND, "overlap": "allow"}
RETRY = {"strategy": "fixed", "initial_delay": 1, "jitter": 0}
RETRY_DELAY = timedelta(seconds=1)


@SQLITE
def test_separate_scheduler_and_worker_processes_share_one_sqlite_store(
    database_url: str, tmp_path: Path
) -> None:
    with (
        Store(database_url) as store,
        Process(tmp_path, "scheduler", "scheduler", "--database", database_url) as scheduler,
        Process(tmp_path, "worker", "worker", "--database", database_url) as worker,
    ):
        scheduler.wait_up()
        worker.wait_up()
        eventually(store.leader, 10, "the scheduler holds the leader lease")
        apply_job(tmp_path, database_url, name="every-second", command="true", **EVERY_SECOND_JOB)
        created = store.job_created_at("every-second")
        keep_running(6, scheduler, worker)
        stopped_at = now()
        assert scheduler.terminate() < 10
        eventually(store.all_ended, 30, "the worker ran every fired run", state=store.dump)
        assert worker.terminate() < 10
        runs = store.runs()
    listed = cronwell(
        tmp_path, "runs", "list", "--json", "--limit", "100", "--database", database_url
    )
    assert_each_due_once(
        [run.scheduled_for for run in runs],
        first=first_due(EVERY_SECOND, created),
        last_at_least=stopped_at - SLACK,
    )
    assert_planned_by_policy(runs)
    assert on_time_share(runs) >= ON_TIME
    fired = [run for run in runs if run.status != "skipped"]
    assert {(run.status, run.attempts) for run in fired} == {("succeeded", 1)}
    shown = {(run["id"], run["scheduled_for"], run["status"]) for run in json.loads(listed)}
    assert shown == {(run.id, run.scheduled_for.isoformat(), run.status) for run in runs}


@SQLITE
def test_one_process_runs_every_due_second_once_and_a_restart_recovers_its_runs(
    database_url: str, tmp_path: Path
) -> None:
    """``cronwell run`` (scheduler, worker and reaper in one process) on SQLite, killed with
    SIGKILL mid-run and started again: what it held is taken back and retried."""
    lease = str(LEASE.total_seconds())
    command = ("run", "--no-examples", "--database", database_url, "--lease", lease)
    with Store(database_url) as store:
        with Process(tmp_path, "run-1", *command) as first:
            first.wait_up()
            eventually(store.leader, 10, "the process holds the leader lease")
            apply_job(
                tmp_path,
                database_url,
                name="every-second",
                command="sleep 1",
                retry=RETRY,
                **EVERY_SECOND_JOB,
            )
            created = store.job_created_at("every-second")
            keep_running(15, first)
            eventually(running_attempts(store), 5, "a run is in flight")
            killed_at = first.kill()
        held = {attempt.run_id for attempt in running_attempts(store)()}
        before = {run.id for run in store.runs()}
        with Process(tmp_path, "run-2", *command) as second:
            second.wait_up()

            def retried() -> bool:
                return all(run.status == "succeeded" for run in store.runs() if run.id in held)

            wait = LEASE + RETRY_DELAY + 2 * SLACK + timedelta(seconds=5)
            eventually(
                retried, wait.total_seconds(), "the held runs were retried", state=store.dump
            )
            keep_running(3, second)
            stopped_at = now()
            assert second.terminate() < 10
        runs = store.runs()
        attempts = store.attempts()
        registered = store.workers()

    assert held, "the killed process had a run in flight"
    assert_each_due_once(
        [run.scheduled_for for run in runs],
        first=first_due(EVERY_SECOND, created),
        last_at_least=stopped_at - SLACK,
    )
    assert_planned_by_policy(runs)
    assert on_time_share(runs) >= ON_TIME
    dead_worker, new_worker = registered[first.pid], registered[second.pid]
    # Before the kill: each due second once, every run ended well (held ones retried).
    fired_before = [run for run in runs if run.id in before and run.status != "skipped"]
    assert {run.status for run in fired_before} == {"succeeded"}
    for run in fired_before:
        tried = [attempt for attempt in attempts if attempt.run_id == run.id]
        if run.id not in held:
            assert [attempt.status for attempt in tried] == ["succeeded"]
            continue
        lost, retry = tried
        assert (lost.status, lost.worker_id) == ("lost", dead_worker.id)
        assert (retry.status, retry.worker_id) == ("succeeded", new_worker.id)
        assert lost.finished_at is not None
        # Taken back once both the lease had run out and the new process was up.
        assert killed_at < lost.finished_at
        assert lost.finished_at <= max(killed_at + LEASE, new_worker.started_at) + SLACK
        assert lost.finished_at + RETRY_DELAY <= retry.started_at
    # After the restart: the due seconds of the downtime are planned at once (the latest
    # late one caught up, by the policy checked above); runs fired just before the stop may
    # be left pending, every other one ended well.
    fired_after = [run for run in runs if run.id not in before]
    caught_up = [run for run in fired_after if run.created_at == fired_after[0].created_at]
    assert len(caught_up) >= 2, "the leader lease outlasts a due second: one is caught up"
    assert caught_up[-2].status == "succeeded"
    unfinished = [run for run in runs if run.status not in ("succeeded", "skipped")]
    assert all(run.scheduled_for >= stopped_at - SLACK for run in unfinished), unfinished
    assert {run.status for run in unfinished} <= {"pending"}


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_stopping_worker_finishes_what_fits_its_grace_and_hands_back_the_rest(
    database_url: str, tmp_path: Path
) -> None:
    grace = timedelta(seconds=4)
    long_lease = timedelta(seconds=60)  # never waited out: a hand-back needs no expiry
    common = ("--database", database_url, "--lease", str(long_lease.total_seconds()))
    options = (*common, "--grace", str(grace.total_seconds()), "--queues", "default,solo")
    with (
        Store(database_url) as store,
        Process(tmp_path, "worker-1", "worker", *options) as stopping,
        ExitStack() as stack,
    ):
        app = Cronwell(database_url)
        stack.callback(app.database.dispose)
        app.schedule(name="long", command="sleep 30")
        # Only the first worker takes from queue "solo": the short run is sure to be its own.
        app.schedule(name="short", command="sleep 2", queue="solo")
        stopping.wait_up()
        long_run = app.trigger_now("long")
        eventually(lambda: run_of(store, long_run).status == "running", 10, "the long run runs")
        with Process(tmp_path, "worker-2", "worker", *common, "--grace", "0") as taking:
            taking.wait_up()
            short_run = app.trigger_now("short")
            eventually(lambda: run_of(store, short_run).status == "running", 10, "it runs too")
            signalled_at = now()
            took = stopping.terminate()
            eventually(
                lambda: len(store.attempts(long_run)) == 2,
                10,
                "the long run is taken again",
                state=store.dump,
            )
            handed, retaken = store.attempts(long_run)
            moved = run_of(store, long_run)
            assert taking.terminate() < 10
        short = run_of(store, short_run)
        (short_attempt,) = store.attempts(short_run)
        final = run_of(store, long_run)
        last = store.attempts(long_run)[-1]
        registered = store.workers()

    first, second = registered[stopping.pid], registered[taking.pid]
    assert grace.total_seconds() <= took <= grace.total_seconds() + 3, "it waited out its grace"
    # The short run was in flight at the signal and ended well within the grace period.
    assert short.status == "succeeded"
    assert short_attempt.worker_id == first.id
    assert short.finished_at is not None and first.stopped_at is not None
    assert signalled_at < short.finished_at <= first.stopped_at
    # The long one was handed back when the grace period ran out, claimable at once (not
    # after its 60 s lease), not counted against its retries, and taken by the other worker.
    assert (handed.status, handed.worker_id) == ("interrupted", first.id)
    assert handed.finished_at is not None
    assert signalled_at + grace <= handed.finished_at <= signalled_at + grace + SLACK
    assert moved.not_before == handed.finished_at
    assert moved.max_attempts == 3 + 1
    assert retaken.worker_id == second.id
    assert handed.finished_at <= retaken.started_at <= handed.finished_at + SLACK
    assert (moved.status, moved.lease_owner) == ("running", second.id)
    # The other worker stopping with no grace hands it back in turn.
    assert (last.number, last.status) == (2, "interrupted")
    assert (final.status, final.not_before, final.lease_owner) == (
        "retrying",
        last.finished_at,
        None,
    )


def running_attempts(store: Store) -> Callable[[], list[Attempt]]:
    return lambda: [attempt for attempt in store.attempts() if attempt.status == "running"]


def run_of(store: Store, run_id: int) -> Run:
    (run,) = [run for run in store.runs() if run.id == run_id]
    return run
