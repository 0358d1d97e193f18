"""Runs asked for by hand start at once; asked to respect the job's overlap policy, they are
decided as scheduled runs are, against the job's unfinished runs, on both stores."""

from __future__ import annotations

from datetime import UTC, datetime

from cronwell.app import Cronwell
from tests.engine.rows import run_rows

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)


def statuses(app: Cronwell) -> list[tuple[str, str | None]]:
    return [(row.status, row.reason) for row in run_rows(app)]


def test_by_hand_a_forbid_job_runs_beside_its_unfinished_run(app: Cronwell) -> None:
    job_id = app.schedule(command="true", name="backup")  # overlap: forbid, the default
    app.trigger_now(job_id)
    app.trigger_now(job_id)
    assert statuses(app) == [("pending", None), ("pending", None)]


def test_respecting_forbid_records_the_run_skipped(app: Cronwell) -> None:
    job_id = app.schedule(command="true", name="backup", overlap="forbid")
    first = app.trigger_now(job_id, respect_overlap=True)
    second = app.trigger_now(job_id, respect_overlap=True)
    assert [row.id for row in run_rows(app)] == [first, second]
    assert statuses(app) == [("pending", None), ("skipped", "overlap")]


def test_respecting_queue_keeps_one_waiting_and_skips_the_rest(app: Cronwell) -> None:
    job_id = app.schedule(command="true", name="sync", overlap="queue")
    for _ in range(3):
        app.trigger_now(job_id, respect_overlap=True)
    assert statuses(app) == [
        ("pending", None),
        ("waiting", None),
        ("skipped", "overlap-queue-full"),
    ]


def test_respecting_replace_cancels_the_unfinished_run(app: Cronwell) -> None:
    job_id = app.schedule(command="true", name="refresh", overlap="replace")
    app.trigger_now(job_id, respect_overlap=True)
    app.trigger_now(job_id, respect_overlap=True)
    assert statuses(app) == [("cancelled", "replaced by a newer run"), ("pending", None)]


def test_many_runs_are_decided_one_after_another_in_order(app: Cronwell) -> None:
    job_id = app.schedule(command="true", name="backup", overlap="forbid")
    ids = app.trigger_many(job_id, 3, respect_overlap=True)
    rows = run_rows(app)
    assert [row.id for row in rows] == ids
    assert statuses(app) == [("pending", None), ("skipped", "overlap"), ("skipped", "overlap")]
    assert len({row.scheduled_for for row in rows}) == 3, "each run has its own instant"


def test_many_runs_of_a_replace_job_leave_the_last_pending(app: Cronwell) -> None:
    job_id = app.schedule(command="true", name="refresh", overlap="replace")
    app.trigger_now(job_id)
    app.trigger_many(job_id, 3, respect_overlap=True)
    assert [status for status, _ in statuses(app)] == [
        "cancelled",
        "cancelled",
        "cancelled",
        "pending",
    ]


def test_an_allow_job_starts_every_run(app: Cronwell) -> None:
    job_id = app.schedule(command="true", name="ping", overlap="allow")
    app.trigger_now(job_id, respect_overlap=True)
    app.trigger_now(job_id, respect_overlap=True)
    assert statuses(app) == [("pending", None), ("pending", None)]
