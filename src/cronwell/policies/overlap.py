"""Overlap: what a new run of a job does while the job has runs not yet finished."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from cronwell.lifecycle import ACTIVE, RunStatus, SkipReason
from cronwell.policies.base import PolicyError

ACTIVE_STATUSES = frozenset(status.value for status in ACTIVE)


class OverlapPolicy(StrEnum):
    ALLOW = "allow"
    FORBID = "forbid"
    QUEUE = "queue"
    REPLACE = "replace"


@dataclass(frozen=True, slots=True)
class ActiveRun:
    """A run of the job that has not finished: its status is pending, running or retrying."""

    run_id: int
    status: str

    def __post_init__(self) -> None:
        if self.status not in ACTIVE_STATUSES:
            raise PolicyError("status", f"{self.status!r} is not pending, running or retrying")


class OverlapAction(StrEnum):
    START = "start"  # the new run is pending now
    SKIP = "skip"  # the new run is recorded as skipped, with the decision's reason
    WAIT = "wait"  # the new run is held until the job's one active run finishes
    REPLACE = "replace"  # cancel the decision's runs; the new run is pending now


@dataclass(frozen=True, slots=True)
class OverlapDecision:
    """What to do with a new run of a job. ``reason`` is set exactly when the action is
    skip; ``cancel_run_ids`` (ascending) is non-empty exactly when it is replace."""

    action: OverlapAction
    reason: SkipReason | None = None
    cancel_run_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if (self.reason is None) == (self.action == OverlapAction.SKIP):
            raise PolicyError("reason", "is given exactly when the action is skip")
        if bool(self.cancel_run_ids) != (self.action == OverlapAction.REPLACE):
            raise PolicyError("cancel_run_ids", "are given exactly when the action is replace")


_START = OverlapDecision(OverlapAction.START)


def decide_overlap(policy: OverlapPolicy, active: Sequence[ActiveRun]) -> OverlapDecision:
    """What happens to a new run of a job whose unfinished runs are ``active``.

    allow: start. forbid: skip (``overlap``) while any run is active. queue: one run executes
    and at most one waits: with one active run the new one waits, with more it is skipped
    (``overlap-queue-full``). replace: cancel every active run and start. With no active
    run every policy starts. The store applies the decision atomically with the insert.
    """
    run_ids = sorted({run.run_id for run in active})
    if not run_ids:
        return _START
    match policy:
        case OverlapPolicy.ALLOW:
            return _START
        case OverlapPolicy.FORBID:
            return OverlapDecision(OverlapAction.SKIP, SkipReason.OVERLAP)
        case OverlapPolicy.QUEUE if len(run_ids) == 1:
            return OverlapDecision(OverlapAction.WAIT)
        case OverlapPolicy.QUEUE:
            return OverlapDecision(OverlapAction.SKIP, SkipReason.OVERLAP_QUEUE_FULL)
        case OverlapPolicy.REPLACE:
            return OverlapDecision(OverlapAction.REPLACE, cancel_run_ids=tuple(run_ids))


_STATUS_BY_ACTION = {
    OverlapAction.START: RunStatus.PENDING,
    OverlapAction.REPLACE: RunStatus.PENDING,
    OverlapAction.WAIT: RunStatus.WAITING,
    OverlapAction.SKIP: RunStatus.SKIPPED,
}


class Overlaps:
    """Decides new runs of one job one after another, each seeing the runs decided before it
    as unfinished: what a tick that plans many due times, or a call that asks for many
    runs, does under the job's overlap policy. ``cancel`` collects the stored runs that a
    ``replace`` cancels; the caller cancels the runs it decided earlier itself."""

    def __init__(self, policy: OverlapPolicy, active: Sequence[ActiveRun]) -> None:
        self.policy = policy
        self.cancel: list[int] = []
        self._unfinished = list(active)
        self._decided = 0

    def decide(self) -> tuple[OverlapDecision, RunStatus]:
        """The decision for the next new run, and the status it is stored with."""
        decision = decide_overlap(self.policy, self._unfinished)
        if decision.action is OverlapAction.REPLACE:
            self.cancel.extend(run_id for run_id in decision.cancel_run_ids if run_id > 0)
            self._unfinished = []
        status = _STATUS_BY_ACTION[decision.action]
        self._decided += 1
        if status is not RunStatus.SKIPPED:
            # Not stored yet, so without an id: a negative one stands in for it.
            self._unfinished.append(ActiveRun(-self._decided, status))
        return decision, status
