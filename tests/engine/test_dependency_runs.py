"""Jobs without a schedule of their own run when their upstream runs end as they require,
made in the transaction that ends the upstream run, at the upstream's instant."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from cronwell.app import Cronwell
from cronwell.engine.clock import ManualClock
from cronwell.engine.reaper import Reaper
from cronwell.engine.scheduler import Scheduler
from cronwell.engine.worker import Worker
from cronwell.lifecycle import AttemptStatus, RunStatus
from cronwell.store.history import find_run
from cronwell.store.runs import ClaimedRun, Outcome, claim_runs, finish_attempt
from tests.engine.rows import run_rows
from tests.waiting import until_a_statement_waits_for_a_lock

NOW = datetime(2026, 6, 1, 2, 59, tzinfo=UTC)
AT_3 = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
ONCE = {"max_attempts": 1}
TWICE = {"strategy": "fixed", "max_attempts": 2, "initial_delay": "1m", "jitter": 0}


def work(worker: Worker, at: datetime, rounds: int = 6) -> None:
    """Tick and wait, enough rounds for a chain's runs to end and make the next ones."""
    for _ in range(rounds):
        worker.tick(at)
        worker.join()


def by_job(app: Cronwell) -> dict[str, list[Any]]:
    names = {job.id: job.name for job in app.list_schedules()}
    found: dict[str, list[Any]] = {}
    for row in run_rows(app):
        found.setdefault(names[row.job_id], []).append(row)
    return found


def test_a_chain_fires_from_one_schedule_in_order_at_the_same_instant(
    app: Cronwell, worker: Worker, clock: ManualClock
) -> None:
    app.schedule(command="true", schedule="0 3 * * *", name="extract")
    app.schedule(command="true", name="transform", depends_on=["extract"], priority="high")
    app.schedule(command="true", name="load", depends_on=["transform"], retry={"max_attempts": 5})
    clock.set(AT_3)
    Scheduler(app.database, clock).tick(AT_3)
    work(worker, AT_3)
    found = by_job(app)
    (extract,), (transform,), (load,) = found["extract"], found["transform"], found["load"]
    assert [run.status for run in (extract, transform, load)] == ["succeeded"] * 3
    assert [run.trigger for run in (extract, transform, load)] == [
        "schedule",
        "dependency",
        "dependency",
    ]
    assert {run.scheduled_for for run in (extract, transform, load)} == {AT_3}
    assert (extract.upstream_run_id, transform.upstream_run_id, load.upstream_run_id) == (
        None,
        extract.id,
        transform.id,
    )
    assert extract.id < transform.id < load.id, "each was made when the one before it ended"
    assert (transform.priority, load.max_attempts) == (1, 5), "each as its own job says"
    with app.database.transaction(write=False) as connection:
        shown = find_run(connection, load.id)  # as ``cronwell runs show`` shows it
    assert shown is not None and shown.upstream_run_id == transform.id


def test_an_on_failure_edge_fires_only_when_the_upstream_goes_dead_after_its_retries(
    app: Cronwell, worker: Worker, clock: ManualClock
) -> None:
    app.schedule(command="exit 3", name="extract", retry=TWICE)
    app.schedule(command="true", name="fine")
    failure = {"job": "extract", "on": "failure"}
    app.schedule(command="true", name="cleanup", depends_on=[failure])
    app.schedule(command="true", name="not-for-fine", depends_on=[{"job": "fine", "on": "failure"}])
    app.trigger_now("extract")
    app.trigger_now("fine")
    work(worker, NOW)
    assert [run.status for run in by_job(app)["extract"]] == ["retrying"]
    assert set(by_job(app)) == {"extract", "fine"}, "nothing fires while it is retried"
    clock.set(NOW + timedelta(minutes=1))
    work(worker, NOW + timedelta(minutes=1))
    found = by_job(app)
    ((extract,), (cleanup,)) = found["extract"], found["cleanup"]
    assert (extract.status, cleanup.status) == ("dead", "succeeded")
    assert (cleanup.upstream_run_id, cleanup.scheduled_for) == (extract.id, extract.scheduled_for)
    assert "not-for-fine" not in found


def test_a_completion_edge_fires_on_success_and_on_death(app: Cronwell, worker: Worker) -> None:
    app.schedule(command="true", name="good")
    app.schedule(command="exit 1", name="bad", retry=ONCE)
    app.schedule(
        command="true", name="after-good", depends_on=[{"job": "good", "on": "completion"}]
    )
    app.schedule(command="true", name="after-bad", depends_on=[{"job": "bad", "on": "completion"}])
    app.schedule(command="true", name="only-success", depends_on=["bad"])
    good, bad = app.trigger_now("good"), app.trigger_now("bad")
    work(worker, NOW)
    found = by_job(app)
    assert [(run.status, run.upstream_run_id) for run in found["after-good"]] == [
        ("succeeded", good)
    ]
    assert [(run.status, run.upstream_run_id) for run in found["after-bad"]] == [("succeeded", bad)]
    assert "only-success" not in found


def test_two_upstreams_fire_the_downstream_once_after_the_second(
    app: Cronwell, worker: Worker, clock: ManualClock, tmp_path: Path
) -> None:
    flaky = f"test -f {tmp_path}/tried || {{ touch {tmp_path}/tried; exit 1; }}"
    app.schedule(command="true", schedule="0 3 * * *", name="orders")
    app.schedule(command=flaky, schedule="0 3 * * *", name="stock", retry=TWICE)
    app.schedule(command="true", name="reconcile", depends_on=["orders", "stock"])
    clock.set(AT_3)
    Scheduler(app.database, clock).tick(AT_3)
    work(worker, AT_3)
    found = by_job(app)
    assert [run.status for run in found["orders"]] == ["succeeded"]
    assert [run.status for run in found["stock"]] == ["retrying"]
    assert "reconcile" not in found, "one upstream of two is not enough"
    clock.set(AT_3 + timedelta(minutes=1))
    work(worker, AT_3 + timedelta(minutes=1))
    found = by_job(app)
    ((stock,), (reconcile,)) = found["stock"], found["reconcile"]
    assert (reconcile.status, reconcile.upstream_run_id) == ("succeeded", stock.id)
    assert reconcile.scheduled_for == AT_3


def test_a_fallback_job_runs_when_its_job_goes_dead(app: Cronwell, worker: Worker) -> None:
    app.schedule(command="true", name="page")
    app.schedule(command="exit 2", name="extract", retry=ONCE, fallback=["page"])
    app.schedule(command="true", name="steady", fallback=["page"])
    dead = app.trigger_now("extract")
    app.trigger_now("steady")
    work(worker, NOW)
    (page,) = by_job(app)["page"]
    assert (page.status, page.trigger, page.upstream_run_id) == ("succeeded", "dependency", dead)


def test_a_run_the_reaper_makes_dead_fires_its_fallback(app: Cronwell, clock: ManualClock) -> None:
    app.schedule(command="true", name="page")
    app.schedule(command="true", name="extract", retry=ONCE, fallback=["page"])
    run_id = app.trigger_now("extract")
    with app.database.transaction() as connection:
        claim_runs(
            connection, owner="gone", queues=["default"], now=NOW, lease=timedelta(1), limit=1
        )
    Reaper(app.database, clock).tick(NOW + timedelta(days=2))
    found = by_job(app)
    assert found["extract"][0].status == "dead"
    assert [(run.status, run.upstream_run_id) for run in found["page"]] == [("pending", run_id)]


def test_a_paused_downstream_gets_no_run(app: Cronwell, worker: Worker) -> None:
    app.schedule(command="true", name="extract")
    app.schedule(command="true", name="transform", depends_on=["extract"])
    app.pause_schedule("transform")
    app.trigger_now("extract")
    work(worker, NOW)
    assert set(by_job(app)) == {"extract"}


def test_two_settles_racing_make_one_downstream_run(app: Cronwell) -> None:
    """Each of two transactions ends one of the downstream's two upstream runs. The second
    waits for the first (on the downstream's row on PostgreSQL, on the write lock on SQLite)
    and then sees its run ended: one run is made, never none, never two."""
    app.schedule(command="true", name="orders")
    app.schedule(command="true", name="stock")
    app.schedule(command="true", name="reconcile", depends_on=["orders", "stock"])
    app.trigger_now("orders")
    app.trigger_now("stock")
    first, second = claim(app, "one"), claim(app, "two")
    raised: list[BaseException] = []

    def settle_second() -> None:
        try:
            settle_alone(app, second, "two")
        except BaseException as error:  # carried back: a thread's exception fails no test
            raised.append(error)

    with app.database.transaction() as connection:
        succeed(connection, first, "one")
        racing = threading.Thread(target=settle_second)
        racing.start()
        if app.database.engine.dialect.name == "postgresql":
            until_a_statement_waits_for_a_lock(app.database)
    racing.join(timeout=10)
    assert not racing.is_alive()
    assert raised == []
    (reconcile,) = by_job(app)["reconcile"]
    assert (reconcile.status, reconcile.upstream_run_id) == ("pending", second.id)


def claim(app: Cronwell, owner: str) -> ClaimedRun:
    with app.database.transaction() as connection:
        (run,) = claim_runs(
            connection, owner=owner, queues=["default"], now=NOW, lease=timedelta(1), limit=1
        )
    return run


def succeed(connection: Connection, run: ClaimedRun, owner: str) -> None:
    outcome = Outcome(AttemptStatus.SUCCEEDED, NOW)
    assert finish_attempt(connection, run, owner, outcome, run_status=RunStatus.SUCCEEDED)


def settle_alone(app: Cronwell, run: ClaimedRun, owner: str) -> None:
    with app.database.transaction() as connection:
        succeed(connection, run, owner)


def test_backfilled_upstream_runs_fire_their_chain_at_their_own_instants(
    app: Cronwell, worker: Worker
) -> None:
    app.schedule(command="true", schedule="0 3 * * *", name="extract")
    app.schedule(command="true", name="transform", depends_on=["extract"])
    app.backfill(
        "extract", datetime(2026, 5, 30, tzinfo=UTC), datetime(2026, 5, 31, 23, tzinfo=UTC)
    )
    work(worker, NOW, rounds=8)
    found = by_job(app)
    due = [datetime(2026, 5, 30, 3, tzinfo=UTC), datetime(2026, 5, 31, 3, tzinfo=UTC)]
    assert [(run.scheduled_for, run.status) for run in found["extract"]] == [
        (at, "succeeded") for at in due
    ]
    assert sorted((run.scheduled_for, run.trigger) for run in found["transform"]) == [
        (at, "dependency") for at in due
    ]
