"""The worker registry: who is working, on which queues, and whether it still beats.

A worker row is a record for people and for the dashboard, not a lock: what protects a run is
its own lease. A worker that dies leaves its row with an old heartbeat; ``list_workers`` says
so, and the reaper takes back its runs by their leases alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, insert, select, update

from cronwell.store.tables import workers


@dataclass(frozen=True, slots=True)
class WorkerRow:
    id: str
    hostname: str
    pid: int
    queues: list[str]
    concurrency: int
    lease: timedelta
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None


def register_worker(
    connection: Connection,
    worker_id: str,
    *,
    hostname: str,
    pid: int,
    queues: Sequence[str],
    concurrency: int,
    lease: timedelta,
    now: datetime,
) -> None:
    connection.execute(
        insert(workers).values(
            id=worker_id,
            hostname=hostname,
            pid=pid,
            queues=list(queues),
            concurrency=concurrency,
            lease=lease,
            started_at=now,
            heartbeat_at=now,
        )
    )


def beat_worker(connection: Connection, worker_id: str, now: datetime) -> None:
    connection.execute(update(workers).where(workers.c.id == worker_id).values(heartbeat_at=now))


def stop_worker(connection: Connection, worker_id: str, now: datetime) -> None:
    connection.execute(
        update(workers).where(workers.c.id == worker_id).values(heartbeat_at=now, stopped_at=now)
    )


def list_workers(
    connection: Connection, *, include_stopped: bool = True, limit: int = 100, offset: int = 0
) -> list[WorkerRow]:
    """Workers, the most recently started first; ``offset`` of them passed over."""
    query = select(workers).order_by(workers.c.started_at.desc(), workers.c.id)
    query = query.limit(limit).offset(offset)
    if not include_stopped:
        query = query.where(workers.c.stopped_at.is_(None))
    return [WorkerRow(**row._mapping) for row in connection.execute(query)]


def is_alive(row: WorkerRow, now: datetime) -> bool:
    """Still working: not stopped, and beat within its lease."""
    return row.stopped_at is None and row.heartbeat_at >= now - row.lease
