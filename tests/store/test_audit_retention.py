"""Pruning audit records by age, on SQLite and PostgreSQL: what goes, what stays, a dry run,
bounded batches; the one way an audit record is ever deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cronwell.audit import Actor
from cronwell.policies.base import PolicyError
from cronwell.policies.retention import Retention
from cronwell.store.audit import record
from cronwell.store.database import Database
from cronwell.store.retention import Pruned, prune
from cronwell.store.tables import audit

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
AUDIT_ONLY = Retention(runs_older_than=None, events_older_than=None, audit_older_than=DAY * 30)


def add_records(database: Database, *days_ago: float) -> list[int]:
    with database.transaction() as connection:
        return [
            record(
                connection,
                actor=Actor(name="ana"),
                action="job.pause",
                object_type="job",
                object_id="sync",
                at=NOW - DAY * days,
            )
            for days in days_ago
        ]


def kept(database: Database) -> set[int]:
    with database.transaction(write=False) as connection:
        return set(connection.scalars(select(audit.c.id)))


def test_audit_records_older_than_the_limit_go_and_newer_ones_stay(database: Database) -> None:
    old_one, old_two, recent = add_records(database, 31, 400, 29)
    assert prune(database, AUDIT_ONLY, NOW, dry_run=True) == Pruned(audit=2)
    assert kept(database) == {old_one, old_two, recent}
    assert prune(database, AUDIT_ONLY, NOW, dry_run=False) == Pruned(audit=2)
    assert kept(database) == {recent}


def test_by_default_a_year_of_audit_records_stays(database: Database) -> None:
    older, newer = add_records(database, 366, 364)
    assert prune(database, Retention(), NOW, dry_run=False) == Pruned(audit=1)
    assert kept(database) == {newer}
    assert older not in kept(database)


def test_audit_pruning_turned_off_keeps_every_record(database: Database) -> None:
    ids = add_records(database, 5000)
    off = Retention(audit_older_than=None)
    assert not off.is_off, "runs and events are still pruned"
    assert prune(database, off, NOW, dry_run=False) == Pruned()
    assert prune(database, Retention.off(), NOW, dry_run=False) == Pruned()
    assert kept(database) == set(ids)


def test_a_big_audit_prune_goes_in_bounded_batches(
    database: Database, pruned_batches: list[Pruned]
) -> None:
    batches = pruned_batches
    add_records(database, 40, 41, 42, 43, 44)
    assert prune(database, AUDIT_ONLY, NOW, dry_run=False) == Pruned(audit=5)
    assert kept(database) == set()
    assert [batch.audit for batch in batches] == [2, 2, 1]


def test_an_audit_limit_must_be_longer_than_zero() -> None:
    with pytest.raises(PolicyError, match="audit_older_than: 0s must be longer than zero"):
        Retention(audit_older_than=timedelta(0))
