"""Read-only figures: a job's status and the statistics of the whole store."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, func, select

from cronwell.lifecycle import RunStatus, SkipReason
from cronwell.store.tables import attempts, jobs, runs
from cronwell.store.versions import storage

_DURATION_SAMPLE = 100  # the average duration is over a job's most recent attempts
_ENDED = (RunStatus.SUCCEEDED, RunStatus.DEAD, RunStatus.CANCELLED)


@dataclass(frozen=True, slots=True)
class JobStatus:
    last_run: datetime | None  # when the latest run that ended, ended
    last_result: str | None  # its status: succeeded, dead or cancelled
    run_count: int  # runs that ended
    success_count: int
    error_count: int  # runs that went dead
    missed_count: int  # due times skipped as missed (a summed-up span counts each)
    average_duration: timedelta | None  # of the most recent succeeded attempts


@dataclass(frozen=True, slots=True)
class Statistics:
    total_jobs: int
    active_jobs: int
    paused_jobs: int
    runs_last_24h: int
    success_rate_last_24h: float | None  # succeeded / (succeeded + dead), None without either
    missed_total: int
    versions: int  # of job definitions, every create, update, delete and rollback
    version_contents: int  # distinct definitions among them, each stored once
    version_bytes_raw: int  # those definitions as canonical JSON
    version_bytes_stored: int  # the same, compressed: what they take in the store


def job_status(connection: Connection, job_id: int) -> JobStatus:
    counts: dict[str, int] = dict(
        connection.execute(
            select(runs.c.status, func.count())
            .where(runs.c.job_id == job_id)
            .group_by(runs.c.status)
        ).all()
    )
    last = connection.execute(
        select(runs.c.finished_at, runs.c.status)
        .where(runs.c.job_id == job_id, runs.c.status.in_(_ENDED))
        .order_by(runs.c.finished_at.desc())
        .limit(1)
    ).first()
    return JobStatus(
        last_run=last.finished_at if last else None,
        last_result=last.status if last else None,
        run_count=sum(counts.get(status, 0) for status in _ENDED),
        success_count=counts.get(RunStatus.SUCCEEDED, 0),
        error_count=counts.get(RunStatus.DEAD, 0),
        missed_count=_missed(connection, runs.c.job_id == job_id),
        average_duration=_average_duration(connection, job_id),
    )


def _missed(connection: Connection, *conditions: ColumnElement[bool]) -> int:
    total = connection.execute(
        select(func.coalesce(func.sum(runs.c.covers), 0)).where(
            runs.c.reason == SkipReason.MISSED, *conditions
        )
    ).scalar_one()
    return int(total)


def _average_duration(connection: Connection, job_id: int) -> timedelta | None:
    # Durations are averaged here, not in SQL: SQLite has no interval arithmetic.
    durations = connection.execute(
        select(attempts.c.duration)
        .join(runs, runs.c.id == attempts.c.run_id)
        .where(runs.c.job_id == job_id, attempts.c.status == "succeeded")
        .order_by(attempts.c.id.desc())
        .limit(_DURATION_SAMPLE)
    ).scalars()
    found = [duration for duration in durations if duration is not None]
    return sum(found, timedelta(0)) / len(found) if found else None


def statistics(connection: Connection, now: datetime) -> Statistics:
    live = jobs.c.deleted_at.is_(None)
    by_state: dict[bool, int] = dict(
        connection.execute(
            select(jobs.c.is_enabled, func.count()).where(live).group_by(jobs.c.is_enabled)
        ).all()
    )
    since = now - timedelta(hours=24)
    recent: dict[str, int] = dict(
        connection.execute(
            select(runs.c.status, func.count())
            .where(runs.c.created_at >= since)
            .group_by(runs.c.status)
        ).all()
    )
    good, bad = recent.get(RunStatus.SUCCEEDED, 0), recent.get(RunStatus.DEAD, 0)
    return Statistics(
        total_jobs=sum(by_state.values()),
        active_jobs=by_state.get(True, 0),
        paused_jobs=by_state.get(False, 0),
        runs_last_24h=sum(recent.values()),
        success_rate_last_24h=good / (good + bad) if good + bad else None,
        missed_total=_missed(connection),
        **asdict(storage(connection)),
    )
