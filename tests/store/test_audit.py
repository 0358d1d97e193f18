"""The audit trail in the store, on both dialects: written in the caller's transaction,
read newest first with filters, secrets masked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cronwell.audit import Actor
from cronwell.policies.secrets import SecretKeys
from cronwell.store.audit import AuditRecord, list_audit, record
from cronwell.store.database import Database

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ANA = Actor(name="ana", role="admin", via="api")
BOB = Actor(name="bob")


def _write(database: Database, actor: Actor, action: str, object_id: str, at: datetime) -> int:
    with database.transaction() as connection:
        return record(
            connection, actor=actor, action=action, object_type="job", object_id=object_id, at=at
        )


def test_a_record_keeps_who_what_when_and_the_object_before_and_after(database: Database) -> None:
    with database.transaction() as connection:
        record_id = record(
            connection,
            actor=ANA,
            action="job.update",
            object_type="job",
            object_id=7,
            at=NOW,
            before={"schedule": "@hourly", "timeout": timedelta(seconds=90)},
            after={"schedule": "@daily", "at": NOW},
            detail="by hand",
        )
    with database.transaction(write=False) as connection:
        (found,) = list_audit(connection)
    assert found == AuditRecord(
        id=record_id,
        at=NOW,
        actor="ana",
        role="admin",
        via="api",
        action="job.update",
        object_type="job",
        object_id="7",
        before={"schedule": "@hourly", "timeout": 90.0},
        after={"schedule": "@daily", "at": NOW.isoformat()},
        detail="by hand",
    )


def test_a_rolled_back_change_leaves_no_record(database: Database) -> None:
    with pytest.raises(RuntimeError), database.transaction() as connection:
        record(connection, actor=BOB, action="job.delete", object_type="job", object_id=1, at=NOW)
        raise RuntimeError("the change failed")
    with database.transaction(write=False) as connection:
        assert list_audit(connection) == []


def test_secrets_are_stored_masked_at_any_depth(database: Database) -> None:
    with database.transaction() as connection:
        record(
            connection,
            actor=BOB,
            action="job.create",
            object_type="job",
            object_id="sync",
            at=NOW,
            after={"kwargs": {"api_key": "k", "n": 1}, "env": {"PIN": "1"}},
            detail={"password": "hunter2"},
            secret_keys=SecretKeys(("api_key", "password", "pin")),
        )
    with database.transaction(write=False) as connection:
        (found,) = list_audit(connection)
    assert found.after == {"kwargs": {"api_key": "***", "n": 1}, "env": {"PIN": "***"}}
    assert found.detail == {"password": "***"}


def test_records_are_read_newest_first_by_filter_and_page(database: Database) -> None:
    ids = [
        _write(database, ANA, "job.create", "a", NOW),
        _write(database, BOB, "job.pause", "a", NOW + timedelta(minutes=1)),
        _write(database, ANA, "job.pause", "b", NOW + timedelta(minutes=2)),
        _write(database, ANA, "job.delete", "a", NOW + timedelta(minutes=3)),
    ]
    with database.transaction(write=False) as connection:

        def found(**filters: object) -> list[int]:
            return [each.id for each in list_audit(connection, **filters)]  # type: ignore[arg-type]

        assert found() == ids[::-1]
        assert found(actor="ana") == [ids[3], ids[2], ids[0]]
        assert found(action="job.pause") == [ids[2], ids[1]]
        assert found(object_type="job", object_id="a") == [ids[3], ids[1], ids[0]]
        assert found(since=NOW + timedelta(minutes=1), until=NOW + timedelta(minutes=3)) == [
            ids[2],
            ids[1],
        ]
        assert found(limit=2) == [ids[3], ids[2]]
        assert found(limit=2, before_id=ids[2]) == [ids[1], ids[0]]
        assert found(object_type="run") == []


def test_a_limit_below_one_is_refused(database: Database) -> None:
    with database.transaction(write=False) as connection, pytest.raises(ValueError, match="limit"):
        list_audit(connection, limit=0)
