"""A job with a schedule of its own and dependencies runs at its due time only if each
upstream's latest run since its previous due time ended as required; it waits for one still
unfinished until its deadline. "The report at 06:30 after the 03:00 cleanup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cronwell.app import Cronwell
from cronwell.engine.clock import ManualClock
from cronwell.engine.scheduler import Scheduler
from cronwell.engine.worker import Worker
from cronwell.lifecycle import AttemptStatus, RunStatus
from cronwell.store.gates import WAIT_POLL
from cronwell.store.runs import ClaimedRun, Outcome, claim_runs, finish_attempt, promote_waiting
from tests.engine.rows import run_rows

NOW = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
AT_3 = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
AT_630 = datetime(2026, 6, 1, 6, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def define(app: Cronwell, cleanup: str = "true", **report: Any) -> None:
    app.schedule(command=cleanup, schedule="0 3 * * *", name="cleanup", retry={"max_attempts": 1})
    app.schedule(
        command="true",
        schedule="30 6 * * *",
        name="report",
        depends_on=["cleanup"],
        wait_timeout="30m",
        **report,
    )


def tick(app: Cronwell, clock: ManualClock, at: datetime) -> timedelta:
    clock.set(at)
    return Scheduler(app.database, clock).tick(at)


def runs_of(app: Cronwell, name: str) -> list[Any]:
    job_id = app.get_schedule(name).id
    return [row for row in run_rows(app) if row.job_id == job_id]


def work(worker: Worker, at: datetime) -> None:
    for _ in range(3):
        worker.tick(at)
        worker.join()


def start_cleanup(app: Cronwell) -> ClaimedRun:
    """The 03:00 cleanup run, claimed by a worker that is still at it."""
    with app.database.transaction() as connection:
        (run,) = claim_runs(
            connection, owner="slow", queues=["default"], now=AT_3, lease=timedelta(1), limit=1
        )
    return run


def test_the_report_runs_after_the_cleanup_succeeded(
    app: Cronwell, clock: ManualClock, worker: Worker
) -> None:
    define(app)
    tick(app, clock, AT_3)
    work(worker, AT_3)
    tick(app, clock, AT_630)
    ((cleanup,), (report,)) = runs_of(app, "cleanup"), runs_of(app, "report")
    assert cleanup.status == "succeeded"
    assert (report.status, report.reason, report.upstream_run_id) == ("pending", None, cleanup.id)
    assert (report.trigger, report.scheduled_for) == ("schedule", AT_630)
    work(worker, AT_630)
    assert runs_of(app, "report")[0].status == "succeeded"


def test_the_report_is_skipped_when_the_cleanup_went_dead(
    app: Cronwell, clock: ManualClock, worker: Worker
) -> None:
    define(app, cleanup="exit 1")
    tick(app, clock, AT_3)
    work(worker, AT_3)
    tick(app, clock, AT_630)
    (report,) = runs_of(app, "report")
    assert report.status == "skipped"
    assert report.reason == "dependency not met: cleanup's latest run ended dead (on: success)"
    assert report.finished_at == AT_630


def test_the_report_is_skipped_when_the_cleanup_did_not_run_since_its_last_due_time(
    app: Cronwell, clock: ManualClock, worker: Worker
) -> None:
    define(app)
    app.pause_schedule("cleanup")
    tick(app, clock, AT_3)
    tick(app, clock, AT_630)
    (report,) = runs_of(app, "report")
    assert (report.status, report.reason) == (
        "skipped",
        "dependency not met: cleanup has no run since the previous due time",
    )


def test_a_report_on_failure_runs_only_after_a_dead_cleanup(
    app: Cronwell, clock: ManualClock, worker: Worker
) -> None:
    app.schedule(command="true", schedule="0 3 * * *", name="cleanup")
    app.schedule(
        command="true",
        schedule="30 6 * * *",
        name="report",
        depends_on=[{"job": "cleanup", "on": "failure"}],
    )
    tick(app, clock, AT_3)
    work(worker, AT_3)
    tick(app, clock, AT_630)
    assert runs_of(app, "report")[0].status == "skipped"


def test_waiting_then_pending_as_the_cleanup_succeeds(app: Cronwell, clock: ManualClock) -> None:
    define(app)
    tick(app, clock, AT_3)
    cleanup = start_cleanup(app)
    pause = tick(app, clock, AT_630)
    (report,) = runs_of(app, "report")
    assert (report.status, report.reason) == ("waiting", "waiting for upstream: cleanup")
    assert pause <= WAIT_POLL, "the scheduler looks again soon"
    with app.database.transaction() as connection:
        assert promote_waiting(connection, [report.job_id]) == 0, "not the overlap queue's"
        outcome = Outcome(AttemptStatus.SUCCEEDED, AT_630 + MINUTE)
        finish_attempt(connection, cleanup, "slow", outcome, run_status=RunStatus.SUCCEEDED)
    (report,) = runs_of(app, "report")  # decided in the transaction that ended the cleanup
    assert (report.status, report.reason) == ("pending", None)
    assert (report.upstream_run_id, report.not_before) == (cleanup.id, AT_630 + MINUTE)


def test_waiting_then_skipped_at_the_deadline(app: Cronwell, clock: ManualClock) -> None:
    define(app)
    tick(app, clock, AT_3)
    start_cleanup(app)
    tick(app, clock, AT_630)
    tick(app, clock, AT_630 + 29 * MINUTE)
    assert runs_of(app, "report")[0].status == "waiting"
    tick(app, clock, AT_630 + 30 * MINUTE)
    (report,) = runs_of(app, "report")
    assert (report.status, report.reason) == ("skipped", "dependency not met: cleanup unfinished")
    assert report.finished_at == AT_630 + 30 * MINUTE


def test_a_run_asked_for_by_hand_is_not_gated(app: Cronwell, clock: ManualClock) -> None:
    define(app)
    app.trigger_now("report")
    (report,) = runs_of(app, "report")
    assert report.status == "pending"


def test_a_held_run_starts_when_its_job_drops_its_dependencies(
    app: Cronwell, clock: ManualClock
) -> None:
    define(app)
    tick(app, clock, AT_3)
    start_cleanup(app)
    tick(app, clock, AT_630)
    assert runs_of(app, "report")[0].status == "waiting"
    app.update_schedule("report", depends_on=[])
    (report,) = runs_of(app, "report")
    assert (report.status, report.reason, report.not_before) == ("pending", None, AT_630)


def test_a_waiting_run_starts_when_the_worker_settles_its_upstream_with_no_scheduler_pass(
    app: Cronwell, clock: ManualClock, worker: Worker
) -> None:
    define(app)
    tick(app, clock, AT_3)  # the cleanup run is made, and no worker is there to run it
    tick(app, clock, AT_630)
    assert runs_of(app, "report")[0].status == "waiting"
    clock.set(AT_630 + MINUTE)
    work(worker, AT_630 + MINUTE)
    ((cleanup,), (report,)) = runs_of(app, "cleanup"), runs_of(app, "report")
    assert (cleanup.status, report.status) == ("succeeded", "succeeded")
    assert report.upstream_run_id == cleanup.id


def test_a_held_run_of_a_deleted_job_is_cancelled(app: Cronwell, clock: ManualClock) -> None:
    define(app)
    tick(app, clock, AT_3)
    start_cleanup(app)
    tick(app, clock, AT_630)
    clock.set(AT_630 + MINUTE)
    (held,) = runs_of(app, "report")
    app.delete_schedule("report")
    (report,) = [row for row in run_rows(app) if row.id == held.id]
    assert (report.status, report.reason) == ("cancelled", "its job was deleted")
    assert report.finished_at == AT_630 + MINUTE
