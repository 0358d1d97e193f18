"""Versions in the store: the migration that starts each live job's history, and contents
written once per hash however many versions and jobs share them."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import select

from cronwell.spec import JobSpec
from cronwell.store.database import Database
from cronwell.store.jobs import delete_job, insert_job, update_job
from cronwell.store.migrate import alembic_config, upgrade
from cronwell.store.tables import job_versions, version_contents
from cronwell.store.versions import (
    VersionAction,
    canonical_json,
    content_hash,
    definition_of,
    find_job,
    list_versions,
    record_versions,
    storage,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def spec(name: str, schedule: str = "@hourly") -> JobSpec:
    return JobSpec.parse({"name": name, "command": "true", "schedule": schedule})


def test_the_migration_gives_each_live_job_its_current_version(database: Database) -> None:
    config = alembic_config()
    with database.transaction() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
        insert_job(connection, spec("fresh"), NOW)
        changed = insert_job(connection, spec("changed"), NOW)
        later = NOW + timedelta(hours=1)
        assert update_job(
            connection, changed, spec("changed", "@daily"), expected_version=1, now=later
        )
        gone = insert_job(connection, spec("gone"), NOW)
        delete_job(connection, gone, NOW)
    upgrade(database)
    with database.transaction(write=False) as connection:
        shown = {
            name: [
                (v.number, v.action, v.author, v.created_at)
                for v in list_versions(connection, find_job(connection, name))
            ]
            for name in ("fresh", "changed", "gone")
        }
        current = definition_of(connection, find_job(connection, changed), 2)
        figures = storage(connection)
    assert shown == {
        "fresh": [(1, "create", "migration", NOW)],
        "changed": [(2, "update", "migration", later)],
        "gone": [],  # deleted before versions began: nothing to roll back to
    }
    assert current == spec("changed", "@daily").canonical()
    assert (figures.versions, figures.version_contents) == (2, 2)


def test_a_content_is_written_once_whichever_jobs_share_it(database: Database) -> None:
    with database.transaction() as connection:
        first = insert_job(connection, spec("sync"), NOW)
        record_versions(
            connection, [first], VersionAction.CREATE, author="a", message=None, now=NOW
        )
        delete_job(connection, first, NOW)
        record_versions(
            connection, [first], VersionAction.DELETE, author="a", message=None, now=NOW
        )
        again = insert_job(connection, spec("sync"), NOW)  # the same definition, a new job
        record_versions(connection, [again], VersionAction.CREATE, author="b", message="x", now=NOW)
    with database.transaction(write=False) as connection:
        (row,) = connection.execute(select(version_contents)).all()
        numbers = connection.execute(
            select(job_versions.c.job_id, job_versions.c.number).order_by(job_versions.c.id)
        ).all()
    raw = canonical_json(spec("sync").canonical())
    assert row.hash == content_hash(spec("sync").canonical())
    assert zlib.decompress(row.content) == raw
    assert (row.raw_size, row.stored_size) == (len(raw), len(row.content))
    assert [tuple(each) for each in numbers] == [(first, 1), (first, 2), (again, 1)]
