"""Pruning: the finished runs (with their attempts, output and logs), the events and the
audit records that a retention policy lets go.

Each batch of at most ``BATCH`` ids is its own transaction, so a first prune of a big store
holds the write lock briefly and often, never for one huge delete. Job versions are never
pruned: change control keeps every one. Audit records go by age alone, with a limit of their
own (a year by default); this is the one place that deletes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Select, and_, delete, func, or_, select

from cronwell.lifecycle import ACTIVE, FINISHED
from cronwell.policies.retention import Retention
from cronwell.store.database import Database
from cronwell.store.tables import attempts, audit, events, runs

BATCH = 1_000

_FINISHED = sorted(status.value for status in FINISHED)
_ACTIVE = sorted(status.value for status in ACTIVE)


@dataclass(frozen=True, slots=True)
class Pruned:
    """How many rows went (or, in a dry run, would go)."""

    runs: int = 0
    attempts: int = 0
    events: int = 0
    audit: int = 0  # audit records

    def __add__(self, other: Pruned) -> Pruned:
        return Pruned(
            self.runs + other.runs,
            self.attempts + other.attempts,
            self.events + other.events,
            self.audit + other.audit,
        )


def prune(database: Database, retention: Retention, now: datetime, *, dry_run: bool) -> Pruned:
    """Delete (or with ``dry_run`` only count) what ``retention`` lets go as of ``now``."""
    if dry_run:
        with database.transaction(write=False) as connection:
            return count(connection, retention, now)
    total = Pruned()
    while True:
        with database.transaction() as connection:
            pruned = prune_batch(connection, retention, now)
        total += pruned
        if max(pruned.runs, pruned.events, pruned.audit) < BATCH:
            return total


def count(connection: Connection, retention: Retention, now: datetime) -> Pruned:
    """What ``prune`` would delete: a count each of the runs, their attempts, the events and
    the audit records, read in the caller's transaction."""
    run_ids = _expired_runs(retention, now)
    event_ids = _expired_events(retention, now)
    pruned = Pruned()
    if run_ids is not None:
        ids = run_ids.subquery()
        pruned = Pruned(
            runs=connection.scalar(select(func.count()).select_from(ids)) or 0,
            attempts=connection.scalar(
                select(func.count()).where(attempts.c.run_id.in_(select(ids.c.id)))
            )
            or 0,
        )
    if event_ids is not None:
        found = connection.scalar(select(func.count()).select_from(event_ids.subquery()))
        pruned += Pruned(events=found or 0)
    audit_ids = _expired_audit(retention, now)
    if audit_ids is not None:
        found = connection.scalar(select(func.count()).select_from(audit_ids.subquery()))
        pruned += Pruned(audit=found or 0)
    return pruned


def prune_batch(connection: Connection, retention: Retention, now: datetime) -> Pruned:
    """Delete up to ``BATCH`` expired runs with their attempts, up to ``BATCH`` events and up
    to ``BATCH`` audit records."""
    pruned = Pruned()
    run_query = _expired_runs(retention, now)
    if run_query is not None:
        ids = list(connection.scalars(run_query.order_by(runs.c.id).limit(BATCH)))
        if ids:
            # Attempts first, by hand: the cascade is there, but this does not depend on it.
            gone = connection.execute(delete(attempts).where(attempts.c.run_id.in_(ids)))
            connection.execute(delete(runs).where(runs.c.id.in_(ids)))
            pruned = Pruned(runs=len(ids), attempts=gone.rowcount)
    event_query = _expired_events(retention, now)
    if event_query is not None:
        ids = list(connection.scalars(event_query.order_by(events.c.id).limit(BATCH)))
        if ids:
            connection.execute(delete(events).where(events.c.id.in_(ids)))
            pruned += Pruned(events=len(ids))
    audit_query = _expired_audit(retention, now)
    if audit_query is not None:
        ids = list(connection.scalars(audit_query.order_by(audit.c.id).limit(BATCH)))
        if ids:
            connection.execute(delete(audit).where(audit.c.id.in_(ids)))
            pruned += Pruned(audit=len(ids))
    return pruned


def _expired_runs(retention: Retention, now: datetime) -> Select[tuple[int]] | None:
    """Finished runs that ended (or, never started, were due) before the cutoff, less each
    job's latest ``keep_last_runs`` runs of any status.

    A run is among its job's latest N unless it is due before the job's Nth latest run: one
    short walk down ix_runs_job_scheduled per run looked at, where ranking every run of the
    store would read it whole for each batch. A job with fewer runs has no Nth: the
    comparison with NULL keeps all of them."""
    cutoff = retention.runs_cutoff(now)
    if cutoff is None:
        return None
    query = select(runs.c.id).where(
        runs.c.status.in_(_FINISHED),
        or_(
            runs.c.finished_at < cutoff,
            and_(runs.c.finished_at.is_(None), runs.c.scheduled_for < cutoff),
        ),
    )
    if retention.keep_last_runs:
        latest = runs.alias("latest")
        nth_latest = (
            select(latest.c.scheduled_for)
            .where(latest.c.job_id == runs.c.job_id)
            .order_by(latest.c.scheduled_for.desc())
            .offset(retention.keep_last_runs - 1)
            .limit(1)
            .scalar_subquery()
        )
        query = query.where(runs.c.scheduled_for < nth_latest)
    return query


def _expired_events(retention: Retention, now: datetime) -> Select[tuple[int]] | None:
    """Events fired before the cutoff, less those an active run still reads its payload
    from. Finished runs keep the id of an event that went: the id says an event made them,
    and the event's payload is in their arguments' history no longer."""
    cutoff = retention.events_cutoff(now)
    if cutoff is None:
        return None
    in_use = select(runs.c.id).where(runs.c.event_id == events.c.id, runs.c.status.in_(_ACTIVE))
    return select(events.c.id).where(events.c.fired_at < cutoff, ~in_use.exists())


def _expired_audit(retention: Retention, now: datetime) -> Select[tuple[int]] | None:
    """Audit records made before the cutoff (found by ix_audit_at)."""
    cutoff = retention.audit_cutoff(now)
    if cutoff is None:
        return None
    return select(audit.c.id).where(audit.c.at < cutoff)
