"""Change control: every change of a job is a version; contents are stored once and
compressed; versions are listed, compared and rolled back to; a stale version is refused."""

from __future__ import annotations

import getpass
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cronwell.app import Cronwell, JobNotFound, VersionConflict, VersionNotFound
from cronwell.engine.clock import ManualClock
from cronwell.spec import JobSpec, SpecError, parse_jobs
from cronwell.store.tables import job_versions, jobs, version_contents
from cronwell.store.versions import canonical_json

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def sync(schedule: str = "@hourly", **fields: object) -> JobSpec:
    (spec,) = parse_jobs([{"name": "sync", "command": "true", "schedule": schedule, **fields}])
    return spec


def stored_version(app: Cronwell, job_id: int) -> int:
    """The job's version as its row holds it, deleted or not."""
    with app.database.transaction(write=False) as connection:
        return int(
            connection.execute(select(jobs.c.version).where(jobs.c.id == job_id)).scalar_one()
        )


def counts(app: Cronwell) -> tuple[int, int]:
    with app.database.transaction(write=False) as connection:
        versions = len(connection.execute(select(job_versions.c.id)).all())
        contents = len(connection.execute(select(version_contents.c.hash)).all())
    return versions, contents


def test_create_update_and_delete_each_write_a_version(app: Cronwell, clock: ManualClock) -> None:
    job_id = app.schedule(command="true", schedule="@hourly", name="sync", message="first")
    clock.advance(timedelta(minutes=5))
    app.update_schedule(job_id, schedule="*/15 * * * *", author="ana", message="more often")
    clock.advance(timedelta(minutes=5))
    app.delete_schedule("sync", author="ana")
    found = app.list_versions(job_id)
    assert [(v.number, v.action, v.author, v.message) for v in found] == [
        (1, "create", getpass.getuser(), "first"),
        (2, "update", "ana", "more often"),
        (3, "delete", "ana", None),
    ]
    assert [v.created_at for v in found] == [NOW, NOW + 5 * MINUTE, NOW + 10 * MINUTE]
    assert stored_version(app, job_id) == 3
    assert found[1].hash == found[2].hash  # a deletion leaves the definition it deleted
    assert app.get_version(job_id, 1).schedule_source == "@hourly"
    assert app.list_versions("sync") == found  # by name while no live job has taken it


def test_a_change_that_changes_nothing_writes_no_version(app: Cronwell) -> None:
    job_id = app.schedule(command="true", schedule="@hourly", name="sync")
    unchanged = app.update_schedule(job_id, schedule="@hourly", expected_version=1)
    assert unchanged.version == 1
    assert [v.number for v in app.list_versions(job_id)] == [1]


def test_apply_versions_what_it_changes_and_nothing_else(app: Cronwell) -> None:
    app.apply([sync()], message="first")
    app.apply([sync()], message="again")
    app.apply([sync("*/5 * * * *")], author="ci", message="faster")
    app.apply([], prune=True, author="ci", message="retired")
    app.apply([sync()], dry_run=True)
    (job_id,) = _job_ids(app)
    found = app.list_versions(job_id)
    assert [(v.number, v.action, v.message) for v in found] == [
        (1, "create", "first"),
        (2, "update", "faster"),
        (3, "delete", "retired"),
    ]
    assert stored_version(app, job_id) == 3


def _job_ids(app: Cronwell) -> list[int]:
    with app.database.transaction(write=False) as connection:
        return list(connection.execute(select(jobs.c.id)).scalars())


def test_a_definition_seen_before_is_stored_once(app: Cronwell) -> None:
    app.apply([sync()])
    app.apply([sync("*/5 * * * *")])
    app.apply([sync()])
    first, second, third = app.list_versions("sync")
    assert first.hash == third.hash != second.hash
    assert counts(app) == (3, 2)
    figures = app.get_statistics()
    assert (figures["versions"], figures["version_contents"]) == (3, 2)


def test_contents_are_stored_compressed(app: Cronwell) -> None:
    realistic = sync(
        description="Copy the day's orders from the shop database into the warehouse",
        args=["--since", "yesterday"],
        kwargs={"batch": 500, "tables": ["orders", "order_lines", "customers"]},
        tags=["etl", "nightly"],
        timeout="30m",
    )
    app.apply([realistic])
    figures = app.get_statistics()
    with app.database.transaction(write=False) as connection:
        (raw, stored, content) = connection.execute(
            select(
                version_contents.c.raw_size,
                version_contents.c.stored_size,
                version_contents.c.content,
            )
        ).one()
    assert raw > stored == len(content)
    assert (figures["version_bytes_raw"], figures["version_bytes_stored"]) == (raw, stored)
    assert raw == len(canonical_json(app.get_schedule("sync").spec.canonical()))


def test_two_versions_are_compared_as_a_unified_diff(app: Cronwell) -> None:
    job_id = app.schedule(command="true", schedule="@hourly", name="sync")
    app.update_schedule(job_id, schedule="*/15 * * * *", timeout="5m")
    lines = app.diff_versions("sync", 1, 2).splitlines()
    assert lines[:2] == ["--- sync@v1", "+++ sync@v2"]
    # Where the hunk starts moves as fields join the canonical form; what changed does not.
    assert re.fullmatch(r"@@ -\d+,\d+ \+\d+,\d+ @@", lines[2])
    assert [line for line in lines[3:] if line[:1] in "+-"] == [
        '-  "schedule": "@hourly",',
        '+  "schedule": "*/15 * * * *",',
        '-  "timeout": null,',
        '+  "timeout": 300.0,',
    ]
    assert '   "tags": [],' in lines, "context lines are shown around the changes"
    assert app.diff_versions("sync", 1) == app.diff_versions("sync", 1, 2)  # to the latest
    assert app.diff_versions("sync", 2, 2) == ""


def test_a_rollback_is_a_new_version_equal_to_the_old_one(
    app: Cronwell, clock: ManualClock
) -> None:
    job_id = app.schedule(command="true", schedule="@hourly", name="sync", timeout="5m")
    app.update_schedule(job_id, schedule="*/15 * * * *", timeout=None)
    clock.advance(timedelta(hours=3, minutes=10))  # 12:40
    restored = app.rollback("sync", 1, author="ana")
    assert restored.version == 3
    assert restored.spec.canonical() == app.get_version(job_id, 1).canonical()
    assert restored.next_due_at == datetime(2026, 6, 1, 13, 0, tzinfo=UTC)  # from now on
    latest = app.list_versions(job_id)[-1]
    assert (latest.action, latest.author, latest.message) == (
        "rollback",
        "ana",
        "rollback to version 1",
    )
    assert latest.hash == app.list_versions(job_id)[0].hash
    assert counts(app) == (3, 2)


def test_rolling_back_to_the_current_definition_changes_nothing(app: Cronwell) -> None:
    job_id = app.schedule(command="true", schedule="@hourly", name="sync")
    app.update_schedule(job_id, schedule="@daily")
    app.update_schedule(job_id, schedule="@hourly")
    assert app.rollback(job_id, 1).version == 3  # version 3 is version 1's definition
    assert app.rollback(job_id, 3, message="again").version == 3
    assert [v.number for v in app.list_versions(job_id)] == [1, 2, 3]


def test_a_stale_expected_version_changes_nothing(app: Cronwell) -> None:
    job_id = app.schedule(command="true", schedule="@hourly", name="sync")
    app.update_schedule(job_id, schedule="@daily")
    before = (app.get_schedule(job_id), app.list_versions(job_id), counts(app))
    stale = "job 'sync' is at version 2, not 1: it changed since you read it"
    with pytest.raises(VersionConflict, match=stale):
        app.update_schedule(job_id, schedule="*/5 * * * *", expected_version=1)
    with pytest.raises(VersionConflict, match=stale):
        app.rollback(job_id, 1, expected_version=1)
    assert (app.get_schedule(job_id), app.list_versions(job_id), counts(app)) == before
    assert app.rollback(job_id, 1, expected_version=2).version == 3


def test_a_refused_change_writes_no_version(app: Cronwell) -> None:
    job_id = app.schedule(command="true", schedule="@hourly", name="sync")
    with pytest.raises(SpecError, match="priority"):
        app.update_schedule(job_id, priority="urgent")
    with pytest.raises(SpecError, match="keeps its name"):
        app.update_schedule(job_id, name="other")
    assert [v.number for v in app.list_versions(job_id)] == [1]
    assert counts(app) == (1, 1)


def test_unknown_jobs_and_versions_are_named(app: Cronwell) -> None:
    app.schedule(command="true", schedule="@hourly", name="sync")
    with pytest.raises(VersionNotFound, match="job 'sync' has no version 7"):
        app.get_version("sync", 7)
    with pytest.raises(VersionNotFound, match="job 'sync' has no version 7"):
        app.rollback("sync", 7)
    with pytest.raises(VersionNotFound, match="job 'sync' has no version 0"):
        app.diff_versions("sync", 0, 1)
    with pytest.raises(JobNotFound, match="job 'nightly' does not exist"):
        app.list_versions("nightly")
    assert counts(app) == (1, 1)


def test_a_deleted_jobs_versions_stay_readable(app: Cronwell) -> None:
    old_id = app.schedule(command="true", schedule="@hourly", name="sync")
    app.delete_schedule(old_id)
    with pytest.raises(JobNotFound):
        app.rollback("sync", 1)  # a deleted job is defined again, not rolled back
    new_id = app.schedule(command="true", schedule="@daily", name="sync")
    assert [v.action for v in app.list_versions("sync")] == ["create"]  # the live one
    assert [v.action for v in app.list_versions(old_id)] == ["create", "delete"]
    assert app.get_version(old_id, 1).schedule_source == "@hourly"
    app.delete_schedule(new_id)
    assert [v.number for v in app.list_versions("sync")] == [1, 2]  # the latest deleted
    assert app.get_version("sync", 1).schedule_source == "@daily"
    app.apply([app.get_version(old_id, 1)])  # defined again from an old version
    assert app.get_schedule("sync").spec == app.get_version(old_id, 1)
    assert [v.action for v in app.list_versions("sync")] == ["create"]


def at_once(count: int, change: Callable[[int], object]) -> list[object]:
    """``change(n)`` for n in 0..count-1, in threads released together; what each returned
    or raised."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(n: int) -> None:
        barrier.wait()
        try:
            results[n] = change(n)
        except Exception as error:  # the test looks at what each got
            results[n] = error

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_changes_at_once_are_made_one_after_another(app: Cronwell) -> None:
    job_id = app.schedule(command="true", schedule="@hourly", name="sync")
    results = at_once(4, lambda n: app.update_schedule(job_id, timeout=f"{n + 1}m"))
    assert not [result for result in results if isinstance(result, Exception)]
    found = app.list_versions(job_id)
    assert [v.number for v in found] == [1, 2, 3, 4, 5]
    assert app.get_schedule(job_id).version == 5
    assert len({v.hash for v in found}) == 5  # each made on top of the one before


def test_of_changes_at_once_from_one_version_one_wins(app: Cronwell) -> None:
    job_id = app.schedule(command="true", schedule="@hourly", name="sync")
    results = at_once(
        4, lambda n: app.update_schedule(job_id, timeout=f"{n + 1}m", expected_version=1)
    )
    conflicts = [result for result in results if isinstance(result, VersionConflict)]
    assert len(conflicts) == 3
    assert all("is at version 2, not 1" in str(conflict) for conflict in conflicts)
    assert [v.number for v in app.list_versions(job_id)] == [1, 2]
