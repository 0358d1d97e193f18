"""Many schedulers and workers on one PostgreSQL store, as separate processes: every due time
fires once, and a scheduler or a worker killed with SIGKILL loses nothing.

Each process is a real ``cronwell scheduler`` or ``cronwell worker`` with a short ``--lease``
(the leader lease is half of it), so failover happens within seconds.
"""

from __future__ import annotations

import json
import socket
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.e2e.processes import (
    SECOND,
    Process,
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

POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
LEASE = timedelta(seconds=4)  # a silent worker's runs are taken back after this
LEADER_LEASE = LEASE / 2  # a silent leader is replaced after this
# A stand-by tries for the leader lease every third of it: it takes over within this much.
TAKEOVER = LEADER_LEASE + LEADER_LEASE / 3
SLACK = timedelta(seconds=2)  # a loaded machine's scheduling delays, on top of any bound
ON_TIME = 0.75  # the share of due times a healthy leader fires on time, at the least
EVERY_SECOND = {"schedule": "* * * * * *", "overlap": "allow"}
EVERY_TWO_SECONDS = "*/2 * * * * *"


def options(database_url: str) -> tuple[str, ...]:
    return ("--database", database_url, "--lease", str(LEASE.total_seconds()))


@POSTGRESQL
def test_two_schedulers_and_three_workers_run_every_due_second_once(
    database_url: str, tmp_path: Path
) -> None:
    running = options(database_url)
    with ExitStack() as stack, Store(database_url) as store:
        schedulers = [
            stack.enter_context(Process(tmp_path, f"scheduler-{n}", "scheduler", *running))
            for n in range(2)
        ]
        workers = [
            stack.enter_context(Process(tmp_path, f"worker-{n}", "worker", *running))
            for n in range(3)
        ]
        for process in [*schedulers, *workers]:
            process.wait_up()
        eventually(store.leader, 10, "one scheduler holds the leader lease")
        apply_job(tmp_path, database_url, name="every-second", command="sleep 1", **EVERY_SECOND)
        created = store.job_created_at("every-second")
        keep_running(30, *schedulers, *workers)
        stopped_at = now()
        for scheduler in schedulers:
            assert scheduler.terminate() < 10
        # Whatever was fired before the schedulers stopped is claimed and finished.
        eventually(store.all_ended, 30, "the workers finished every run", state=store.dump)
        for worker in workers:
            assert worker.terminate() < 10
        runs = store.runs()
        registered = store.workers()
        attempts = store.attempts()

    assert_each_due_once(
        [run.scheduled_for for run in runs],
        first=first_due(EVERY_SECOND["schedule"], created),
        last_at_least=stopped_at - SLACK,
    )
    assert_planned_by_policy(runs)
    assert on_time_share(runs) >= ON_TIME, "the leader fires on time, bar a late tick or two"
    fired = [run for run in runs if run.status != "skipped"]
    assert {(run.status, run.attempts) for run in fired} == {("succeeded", 1)}
    assert sorted(registered) == sorted(worker.pid for worker in workers)
    ours = {worker.id for worker in registered.values()}
    assert len(attempts) == len(fired), "one attempt each"
    assert {(attempt.status, attempt.worker_id in ours) for attempt in attempts} == {
        ("succeeded", True)
    }


@POSTGRESQL
def test_a_stand_by_scheduler_takes_over_from_a_killed_leader(
    database_url: str, tmp_path: Path
) -> None:
    # The first scheduler up leads: the second starts only once the lease is held. No worker
    # runs, so every run the schedulers fire stays as it was fired.
    with (
        Store(database_url) as store,
        Process(tmp_path, "scheduler-1", "scheduler", *options(database_url)) as first,
    ):
        first.wait_up()
        lease = eventually(store.leader, 10, "the first scheduler holds the leader lease")
        with Process(tmp_path, "scheduler-2", "scheduler", *options(database_url)) as second:
            second.wait_up()
            apply_job(tmp_path, database_url, name="every-second", command="true", **EVERY_SECOND)
            created = store.job_created_at("every-second")
            eventually(lambda: len(store.runs()) >= 4, 15, "the leader fired")
            held = store.leader()
            assert held is not None
            assert (held.owner, held.takeovers) == (lease.owner, 0), "the first still leads"
            killed_at = first.kill()

            def taken_over() -> bool:
                found = store.leader()
                return found is not None and found.owner != lease.owner

            eventually(taken_over, (TAKEOVER + SLACK).total_seconds(), "the stand-by leads")
            successor = store.leader()
            assert successor is not None
            assert successor.holder == f"{socket.gethostname()} pid {second.pid}"
            # Fire for a few seconds more, then stop cleanly.
            eventually(
                lambda: store.runs()[-1].scheduled_for >= killed_at + 5 * SECOND,
                15,
                "the new leader keeps firing",
            )
            stats = cronwell(tmp_path, "locks", "stats", "--json", "--database", database_url)
            stopped_at = now()
            assert second.terminate() < 10
        runs = store.runs()
        assert store.leader() is None, "a scheduler stopping cleanly resigns"

    assert successor.takeovers == 1
    assert successor.acquired_at - killed_at <= TAKEOVER + SLACK
    (locks,) = json.loads(stats)
    assert (locks["leader"], locks["leader_takeovers"]) == (successor.holder, 1)
    assert_each_due_once(
        [run.scheduled_for for run in runs],
        first=first_due(EVERY_SECOND["schedule"], created),
        last_at_least=stopped_at - SLACK,
    )
    assert_planned_by_policy(runs)
    by_old = [run for run in runs if run.created_at < successor.acquired_at]
    by_new = [run for run in runs if run.created_at >= successor.acquired_at]
    # The new leader's first tick plans the due times the old one left: the latest on time,
    # the one before it caught up once (misfire run_once), any older ones skipped as missed.
    takeover_tick = by_new[0].created_at
    assert takeover_tick - by_old[-1].created_at <= TAKEOVER + SLACK
    # How many due seconds lapsed depends on when the kill fell between the old leader's
    # last tick and its renewal after it: none, or some, of which the latest is caught up.
    caught_up = [run for run in by_new if run.created_at == takeover_tick]
    *late, on_time = caught_up
    assert (on_time.trigger, on_time.status) == ("schedule", "pending")
    if late:
        assert (late[-1].trigger, late[-1].status) == ("misfire", "pending")


@POSTGRESQL
def test_the_runs_of_a_killed_worker_are_taken_back_and_retried_by_another(
    database_url: str, tmp_path: Path
) -> None:
    running = options(database_url)
    every = 2 * SECOND
    retry_delay = SECOND
    with (
        Store(database_url) as store,
        Process(tmp_path, "scheduler", "scheduler", *running) as scheduler,
        Process(tmp_path, "worker-1", "worker", *running) as one,
        Process(tmp_path, "worker-2", "worker", *running) as two,
    ):
        for process in (scheduler, one, two):
            process.wait_up()
        eventually(store.leader, 10, "the scheduler holds the leader lease")
        apply_job(
            tmp_path,
            database_url,
            name="slow",
            command="sleep 3",
            schedule=EVERY_TWO_SECONDS,
            overlap="allow",
            retry={"strategy": "fixed", "initial_delay": 1, "jitter": 0},
        )
        created = store.job_created_at("slow")
        first = eventually(
            lambda: [attempt for attempt in store.attempts() if attempt.status == "running"],
            15,
            "a run is in flight",
        )[0]
        assert first.worker_id is not None
        pids = {worker.id: pid for pid, worker in store.workers().items()}
        victim, survivor = (one, two) if pids[first.worker_id] == one.pid else (two, one)
        assert pids[first.worker_id] == victim.pid
        killed_at = victim.kill()
        held = [
            attempt.run_id
            for attempt in store.attempts()
            if attempt.worker_id == first.worker_id and attempt.status == "running"
        ]

        def retried() -> bool:
            return all(run.status == "succeeded" for run in store.runs() if run.id in held)

        wait = LEASE + retry_delay + 3 * SECOND + 2 * SLACK
        eventually(
            retried, wait.total_seconds(), "the taken-back runs were retried", state=store.dump
        )
        stopped_at = now()
        assert scheduler.terminate() < 10
        eventually(store.all_ended, 30, "every fired run ended", state=store.dump)
        assert survivor.terminate() < 10
        runs = store.runs()
        attempts = store.attempts()
        registered = store.workers()

    lost_worker, other_worker = registered[victim.pid].id, registered[survivor.pid].id
    assert held, "the killed worker had a run in flight"
    assert_each_due_once(
        [run.scheduled_for for run in runs],
        first=first_due(EVERY_TWO_SECONDS, created),
        last_at_least=stopped_at - every - SLACK,
        every=every,
    )
    assert_planned_by_policy(runs, every)
    fired = [run for run in runs if run.status != "skipped"]
    assert {run.status for run in fired} == {"succeeded"}, "no run is lost"
    for run_id in held:
        lost, retry = [attempt for attempt in attempts if attempt.run_id == run_id]
        assert (lost.status, lost.worker_id) == ("lost", lost_worker)
        assert (retry.status, retry.worker_id) == ("succeeded", other_worker)
        assert lost.finished_at is not None
        # Taken back once its lease ran out (renewed up to the kill), then retried after
        # the job's retry delay by the worker still alive.
        assert killed_at < lost.finished_at <= killed_at + LEASE + SLACK
        assert lost.finished_at + retry_delay <= retry.started_at
        assert retry.started_at <= lost.finished_at + retry_delay + SLACK
    others = [attempt for attempt in attempts if attempt.run_id not in held]
    assert {attempt.status for attempt in others} == {"succeeded"}, "no other lease lapsed"
    assert {run.attempts for run in fired if run.id not in held} == {1}


@POSTGRESQL
def test_a_scheduler_fires_again_after_a_brief_database_outage(
    database_url: str, postgres_url: str, tmp_path: Path
) -> None:
    name = make_url(database_url).database
    with (
        Store(database_url) as store,
        Process(tmp_path, "scheduler", "scheduler", *options(database_url)) as scheduler,
        psycopg.connect(plain(postgres_url), autocommit=True) as admin,
    ):
        scheduler.wait_up()
        eventually(store.leader, 10, "the scheduler holds the leader lease")
        apply_job(tmp_path, database_url, name="every-second", command="true", **EVERY_SECOND)
        eventually(lambda: len(store.runs()) >= 2, 10, "the scheduler fires")
        # The outage: no connection to the database for a few seconds, as in a failover.
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            time.sleep(3)  # long enough for every loop to need the database
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        restored_at = now()

        def fires_again() -> bool:
            assert scheduler.popen.poll() is None, f"it exited:\n{scheduler.output()}"
            return store.runs()[-1].scheduled_for >= restored_at + 3 * SECOND

        eventually(fires_again, 15, "the scheduler fires again", state=scheduler.output)
        assert scheduler.terminate() < 10


def plain(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
