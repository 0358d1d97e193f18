"""The run life cycle's vocabulary: statuses, triggers, skip reasons (DESIGN.md, "Run life cycle").

Pure values shared by the decisions in ``policies`` and the columns in ``store``: each
StrEnum's values are the values stored.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    WAITING = "waiting"  # held back (overlap: queue) until the job's active run ends
    PENDING = "pending"
    RUNNING = "running"
    RETRYING = "retrying"  # waiting out a retry delay; becomes pending when it is due
    SUCCEEDED = "succeeded"
    DEAD = "dead"  # attempts exhausted: the dead-letter queue
    SKIPPED = "skipped"  # with a reason: missed, overlap, ...
    CANCELLED = "cancelled"

    @property
    def is_finished(self) -> bool:
        return self in FINISHED


FINISHED = frozenset({RunStatus.SUCCEEDED, RunStatus.DEAD, RunStatus.SKIPPED, RunStatus.CANCELLED})
ACTIVE = frozenset({RunStatus.PENDING, RunStatus.RUNNING, RunStatus.RETRYING, RunStatus.WAITING})


class Trigger(StrEnum):
    """Why a run exists."""

    SCHEDULE = "schedule"
    MISFIRE = "misfire"  # a due time caught up late, after downtime
    MANUAL = "manual"
    RETRY = "retry"  # a dead run retried by hand
    BACKFILL = "backfill"
    EVENT = "event"
    DEPENDENCY = "dependency"
    EXEC = "exec"  # run at once in the process that asked (``cronwell exec``)


class SkipReason(StrEnum):
    """Why a run was recorded as skipped instead of run."""

    MISSED = "missed"
    OVERLAP = "overlap"
    OVERLAP_QUEUE_FULL = "overlap-queue-full"
    PAUSED = "paused"  # asked of a paused job by ``cronwell exec``


class AttemptStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    LOST = "lost"  # its lease expired: the worker died or stalled
    INTERRUPTED = "interrupted"  # its worker stopped and handed the run back
    CANCELLED = "cancelled"
