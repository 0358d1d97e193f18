"""The Python API over real stores: define, inspect, change, pause, trigger, and run jobs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from cronwell.app import Cronwell, JobExists, JobNotFound, RunEnded, VersionConflict
from cronwell.engine.clock import ManualClock
from cronwell.engine.scheduler import Scheduler
from cronwell.engine.worker import Worker
from cronwell.registry import UnknownTask
from cronwell.spec import JobSpec, SpecError
from cronwell.store.jobs import update_job
from cronwell.store.tables import jobs, runs
from tests.engine.tasks import sample
from tests.waiting import until_a_statement_waits_for_a_lock

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)


def test_define_and_read_back_a_job(app: Cronwell) -> None:
    app.task(sample.add)
    job_id = app.schedule("add", "0 10 * * MON-FRI", name="adder", args=[1, 2], timezone="UTC")
    job = app.get_schedule(job_id)
    assert (job.name, job.version, job.is_enabled) == ("adder", 1, True)
    assert job.spec.task == "tests.engine.tasks.sample:add"
    assert job.next_due_at == datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    assert app.get_schedule_by_name("adder") == job
    assert app.get_next_run_times(job_id, 2) == [
        datetime(2026, 6, 1, 10, 0, tzinfo=UTC),
        datetime(2026, 6, 2, 10, 0, tzinfo=UTC),
    ]


def test_a_function_can_be_scheduled_directly(app: Cronwell) -> None:
    job_id = app.schedule(sample.add, "every 5m", kwargs={"a": 1, "b": 1})
    assert app.get_schedule(job_id).name == "add"


def test_bad_definitions_are_refused_and_nothing_is_stored(app: Cronwell) -> None:
    with pytest.raises(SpecError, match="schedule: minute field: 61 is out of range"):
        app.schedule(command="true", schedule="61 * * * *", name="bad")
    with pytest.raises(UnknownTask, match="'nope' is not registered"):
        app.schedule("nope", "@daily")
    with pytest.raises(UnknownTask, match="cannot be imported"):
        app.schedule("no.such.module:function", "@daily")
    app.schedule(command="true", name="taken")
    with pytest.raises(JobExists, match="'taken' exists already"):
        app.schedule(command="false", name="taken")
    assert [job.name for job in app.list_schedules()] == ["taken"]


def test_updates_make_versions_and_conflicts_are_refused(app: Cronwell) -> None:
    job_id = app.schedule(command="true", schedule="@hourly", name="sync")
    updated = app.update_schedule(job_id, schedule="*/15 * * * *", expected_version=1)
    assert updated.version == 2
    assert updated.next_due_at == datetime(2026, 6, 1, 9, 45, tzinfo=UTC)
    with pytest.raises(
        VersionConflict, match="is at version 2, not 1: it changed since you read it"
    ):
        app.update_schedule(job_id, timeout="5m", expected_version=1)
    with pytest.raises(SpecError):
        app.update_schedule(job_id, priority="urgent")
    assert app.get_schedule(job_id).version == 2


def test_pause_resume_and_delete(app: Cronwell, clock: ManualClock) -> None:
    job_id = app.schedule(command="true", schedule="*/10 * * * *", name="sync", tags=["etl"])
    app.schedule(command="true", name="other")
    app.pause_schedule(job_id)
    assert [job.name for job in app.list_schedules(status="paused")] == ["sync"]
    assert [job.name for job in app.list_schedules(tags=("etl",))] == ["sync"]
    clock.advance(timedelta(hours=3))
    app.resume_schedule(job_id)
    resumed = app.get_schedule(job_id)
    assert resumed.next_due_at == datetime(2026, 6, 1, 12, 40, tzinfo=UTC)
    Scheduler(app.database, clock).tick()
    with app.database.transaction(write=False) as connection:
        assert connection.execute(select(runs)).all() == [], "resuming fabricates no misfires"
    app.delete_schedule(job_id)
    with pytest.raises(JobNotFound):
        app.get_schedule(job_id)
    app.schedule(command="true", name="sync")  # the name is free again


def test_global_pause_stops_firing_until_resumed(app: Cronwell, clock: ManualClock) -> None:
    app.schedule(command="true", schedule="* * * * *", name="minutely")
    app.pause()
    clock.advance(timedelta(minutes=5))
    Scheduler(app.database, clock).tick()
    assert app.get_statistics()["is_paused"] is True
    app.resume()
    clock.advance(timedelta(minutes=1))
    Scheduler(app.database, clock).tick()
    with app.database.transaction(write=False) as connection:
        assert len(connection.execute(select(runs)).all()) == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_resume_ends_the_pause_only_with_every_job_planned_from_now(
    app: Cronwell, clock: ManualClock
) -> None:
    """A job row locked elsewhere holds resume() up: the pause must hold until it is through,
    or a scheduler ticking meanwhile would catch up the paused minutes."""
    job_id = app.schedule(command="true", schedule="* * * * *", name="minutely")
    app.pause()
    clock.advance(timedelta(minutes=5))
    with app.database.engine.connect() as blocker:
        blocker.execute(select(jobs.c.id).where(jobs.c.id == job_id).with_for_update())
        resuming = threading.Thread(target=app.resume)
        resuming.start()
        until_a_statement_waits_for_a_lock(app.database)
        assert app.get_statistics()["is_paused"] is True
        blocker.rollback()
    resuming.join(timeout=10)
    assert app.get_statistics()["is_paused"] is False
    Scheduler(app.database, clock).tick()
    with app.database.transaction(write=False) as connection:
        assert connection.execute(select(runs)).all() == [], "resuming catches nothing up"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_resuming_a_job_plans_the_schedule_it_has_when_it_resumes(
    app: Cronwell, clock: ManualClock
) -> None:
    """A schedule changed while resume_schedule() waits for the job's row is the one planned."""
    job_id = app.schedule(command="true", schedule="0 * * * *", name="hourly")
    app.pause_schedule(job_id)
    nightly = JobSpec.parse({**app.get_schedule(job_id).spec.canonical(), "schedule": "0 3 * * *"})
    with app.database.engine.connect() as changer:
        assert update_job(changer, job_id, nightly, expected_version=1, now=NOW)
        resuming = threading.Thread(target=app.resume_schedule, args=(job_id,))
        resuming.start()
        until_a_statement_waits_for_a_lock(app.database)
        changer.commit()
    resuming.join(timeout=10)
    assert app.get_schedule(job_id).next_due_at == datetime(2026, 6, 2, 3, tzinfo=UTC)


def test_trigger_now_runs_and_shows_in_status_and_statistics(
    app: Cronwell, clock: ManualClock
) -> None:
    app.task(sample.add)
    job_id = app.schedule("add", name="adder", kwargs={"a": 1, "b": 2}, mode="thread")
    app.trigger_now(job_id, kwargs={"a": 5, "b": 5})
    worker = Worker(app.database, clock)
    worker.tick()
    worker.join()
    worker.close()
    status = app.get_schedule_status(job_id)
    assert (status["run_count"], status["success_count"], status["last_result"]) == (
        1,
        1,
        "succeeded",
    )
    assert status["average_duration"] is not None
    figures = app.get_statistics()
    assert (figures["total_jobs"], figures["runs_last_24h"], figures["success_rate_last_24h"]) == (
        1,
        1,
        1.0,
    )


def test_a_job_defined_disabled_does_not_fire_until_its_definition_enables_it(
    app: Cronwell, clock: ManualClock
) -> None:
    job_id = app.schedule(command="true", schedule="* * * * *", name="later", enabled=False)
    assert [job.name for job in app.list_schedules(status="paused")] == ["later"]
    clock.advance(timedelta(minutes=5))
    Scheduler(app.database, clock).tick()
    assert app.get_statistics()["runs_last_24h"] == 0
    app.update_schedule(job_id, enabled=True)
    assert app.get_schedule(job_id).is_enabled


def test_re_applying_an_unchanged_definition_keeps_a_pause_made_by_hand(app: Cronwell) -> None:
    spec = JobSpec.parse({"name": "sync", "command": "true", "schedule": "@hourly"})
    app.apply([spec])
    app.pause_schedule("sync")
    assert app.apply([spec]).unchanged == ("sync",)
    assert not app.get_schedule("sync").is_enabled, "the operator's pause holds"
    disabled = JobSpec.parse(
        {"name": "sync", "command": "true", "schedule": "@hourly", "enabled": False}
    )
    app.apply([disabled])
    app.resume_schedule("sync")
    app.apply([spec])  # the file now says enabled again: that is a change, and it wins
    assert app.get_schedule("sync").is_enabled


def test_a_definition_stored_before_a_field_existed_is_not_changed_by_re_applying(
    app: Cronwell,
) -> None:
    spec = JobSpec.parse({"name": "sync", "command": "true", "schedule": "@hourly"})
    app.apply([spec])
    older = {key: value for key, value in spec.canonical().items() if key != "heartbeat_timeout"}
    with app.database.transaction() as connection:
        connection.execute(update(jobs).where(jobs.c.name == "sync").values(spec=older))
    assert app.apply([spec]).unchanged == ("sync",)
    assert app.get_schedule("sync").version == 1


def test_misuse_of_the_api_is_refused_clearly(app: Cronwell) -> None:
    job_id = app.schedule(command="true", name="sync")
    with pytest.raises(ValueError, match="status: 'stopped' is not one of active, paused"):
        app.list_schedules(status="stopped")
    with pytest.raises(SpecError, match="name: a job keeps its name"):
        app.update_schedule(job_id, name="other")
    run_id = app.trigger_now(job_id)
    app.cancel_run(run_id)
    with pytest.raises(RunEnded, match=f"run {run_id} has already ended \\(cancelled\\)"):
        app.cancel_run(run_id)


def test_recovering_a_dead_run_retries_it_with_its_own_arguments(
    app: Cronwell, clock: ManualClock
) -> None:
    job_id = app.schedule(command="exit 1", name="doomed", retry={"strategy": "none"})
    app.trigger_now(job_id, args=["special"])
    worker = Worker(app.database, clock)
    worker.tick()
    worker.join()
    worker.close()
    retried = app.recover(job_id, retry=True)
    with app.database.transaction(write=False) as connection:
        row = connection.execute(select(runs).where(runs.c.id == retried)).one()
    assert (row.trigger, row.args) == ("retry", ["special"])


def test_recovering_leaves_a_job_paused_by_hand_paused(app: Cronwell) -> None:
    job_id = app.schedule(command="true", name="sync")
    app.pause_schedule(job_id)
    assert app.recover(job_id) is None
    assert not app.get_schedule(job_id).is_enabled, "recovering is not resuming"


def test_apply_stores_registered_tasks_by_path_and_refuses_unknown_ones(app: Cronwell) -> None:
    app.task(sample.add, name="adder")
    good = JobSpec.parse({"name": "sum", "task": "adder"})
    bad = JobSpec.parse({"name": "ghost", "task": "nowhere"})
    with pytest.raises(SpecError) as caught:
        app.apply([good, bad])
    assert caught.value.problems == [
        ("jobs[1].task", "task 'nowhere' is not registered (known: adder)")
    ]
    assert app.list_schedules() == [], "nothing of a refused apply is stored"
    app.apply([good])
    assert app.get_schedule("sum").spec.task == "tests.engine.tasks.sample:add"
