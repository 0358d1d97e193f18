"""Asking again for runs of a job asked for before: the job is not read again, yet a run
always follows the job's current definition, and a job deleted since makes no run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cronwell.app import Cronwell
from cronwell.audit import Actor
from cronwell.engine.clock import ManualClock
from cronwell.lifecycle import Trigger
from cronwell.store.audit import record_row
from cronwell.store.jobs import JobNotFound
from cronwell.store.runs import NewRun, insert_asked_run
from cronwell.store.tables import runs
from tests.engine.rows import run_rows

NOW = datetime(2026, 6, 1, 9, 30, 15, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def test_a_run_asked_again_is_made_as_the_first_was(app: Cronwell, clock: ManualClock) -> None:
    job_id = app.schedule(command="true", name="sync", queue="etl", priority="high")
    first = app.trigger_now(job_id, args=["a"])
    clock.advance(SECOND)
    second = app.trigger_now(job_id, args=["a"])
    rows = run_rows(app)
    assert [row.id for row in rows] == [first, second]
    columns = [c.name for c in runs.c if c.name not in ("id", "scheduled_for", "not_before")]
    columns.remove("created_at")
    assert [getattr(rows[1], name) for name in columns] == [
        getattr(rows[0], name) for name in columns
    ]
    assert [(row.scheduled_for, row.not_before, row.created_at) for row in rows] == [
        (NOW, NOW, NOW),
        (NOW + SECOND, NOW + SECOND, NOW + SECOND),
    ]


def test_a_run_follows_the_jobs_current_definition(app: Cronwell, clock: ManualClock) -> None:
    job_id = app.schedule(command="true", name="sync", retry={"max_attempts": 2})
    app.trigger_now(job_id)
    app.update_schedule(job_id, queue="etl", priority="critical", retry={"max_attempts": 5})
    clock.advance(SECOND)
    app.trigger_now("sync")
    app.trigger_now(job_id)
    rows = run_rows(app)
    assert [(row.queue, row.priority, row.max_attempts) for row in rows] == [
        ("default", 2, 2),
        ("etl", 0, 5),
        ("etl", 0, 5),
    ]


def test_a_job_deleted_since_makes_no_run(app: Cronwell, clock: ManualClock) -> None:
    job_id = app.schedule(command="true", name="sync")
    app.trigger_now(job_id)
    app.trigger_now("sync")
    app.delete_schedule(job_id)
    clock.advance(SECOND)
    with pytest.raises(JobNotFound):
        app.trigger_now(job_id)
    with pytest.raises(JobNotFound):
        app.trigger_now("sync")
    assert len(run_rows(app)) == 2
    new_id = app.schedule(command="false", name="sync")
    run_id = app.trigger_now("sync")
    assert [row.job_id for row in run_rows(app) if row.id == run_id] == [new_id]


def test_the_checked_insert_makes_nothing_when_the_job_moved_on(app: Cronwell) -> None:
    job_id = app.schedule(command="true", name="sync")
    template = NewRun(job_id, NOW, Trigger.MANUAL, "default", 2, 3)

    def ask(version: int) -> int | None:
        with app.database.statements() as connection:
            return insert_asked_run(
                connection,
                template,
                (None, None),
                job_version=version,
                next_due=_never,
                record=RECORD,
            )

    assert ask(2) is None, "the job is at version 1"
    made = ask(1)
    assert made is not None
    assert ask(1) is None, "its instant is taken"
    assert [row.id for row in run_rows(app)] == [made]
    # The run's record is made with it, and only with it.
    [recorded] = app.list_audit(action="job.trigger")
    assert (recorded.object_id, recorded.after) == ("sync", {"run_ids": [made]})


RECORD = record_row(
    actor=Actor("ana"), action="job.trigger", object_type="job", object_id="sync", at=NOW
)


def _never(_after: datetime) -> datetime | None:
    return None
