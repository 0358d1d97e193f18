"""Retries: how long a failed run waits before its next attempt, and when it is dead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from cronwell.lifecycle import AttemptStatus, RunStatus
from cronwell.policies.base import PolicyError, as_utc

_ZERO = timedelta(0)
_MICROSECOND = timedelta(microseconds=1)
_INFINITY = float("inf")


class RetryStrategy(StrEnum):
    EXPONENTIAL = "exponential"
    LINEAR = "linear"
    FIXED = "fixed"
    IMMEDIATE = "immediate"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a failed run is tried again.

    ``max_attempts`` counts every attempt, the first included; strategy ``none`` sets it to 1.
    The wait after attempt n fails is ``initial_delay * multiplier**(n-1)`` (exponential),
    ``initial_delay * n`` (linear), ``initial_delay`` (fixed) or nothing (immediate), capped
    at ``max_delay``, then shortened by up to ``jitter`` of itself. Jitter never lengthens a
    wait, so ``max_delay`` is a true maximum.
    """

    strategy: RetryStrategy = RetryStrategy.EXPONENTIAL
    max_attempts: int = 3
    initial_delay: timedelta = timedelta(seconds=10)
    max_delay: timedelta = timedelta(hours=1)
    multiplier: float = 2.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.strategy == RetryStrategy.NONE:
            object.__setattr__(self, "max_attempts", 1)
        if self.max_attempts < 1:
            raise PolicyError("max_attempts", "must be at least 1")
        if self.initial_delay < _ZERO:
            raise PolicyError("initial_delay", "must not be negative")
        if self.max_delay < self.initial_delay:
            raise PolicyError("max_delay", "must be at least initial_delay")
        if not 1.0 <= self.multiplier < _INFINITY:
            raise PolicyError("multiplier", "must be a finite number, at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise PolicyError("jitter", "must be a fraction from 0 to 1")


def retry_delay(policy: RetryPolicy, failed_attempt: int, rand: float) -> timedelta:
    """The wait after attempt ``failed_attempt`` (counted from 1) fails.

    In [0, ``max_delay``] for every input; ``rand`` in [0, 1) picks the jitter: 0 waits the
    full delay, values toward 1 shorten it by up to ``jitter`` of itself. Whether an attempt
    is left is ``next_retry``'s question, not this one.
    """
    if failed_attempt < 1:
        raise PolicyError("failed_attempt", "must be at least 1")
    if not 0.0 <= rand < 1.0:
        raise PolicyError("rand", "must be in [0, 1)")
    cap = policy.max_delay // _MICROSECOND
    growth = _growth(policy, failed_attempt)
    initial = policy.initial_delay / _MICROSECOND
    # Cap in floating point before any timedelta exists: a huge growth is inf, never an error.
    capped = 0.0 if growth == 0.0 or initial == 0.0 else min(growth * initial, float(cap))
    jittered = round(capped * (1.0 - policy.jitter * rand))
    return timedelta(microseconds=max(0, min(jittered, cap)))


def _growth(policy: RetryPolicy, attempt: int) -> float:
    """How many initial delays the wait after ``attempt`` is, uncapped; inf past a float."""
    try:
        match policy.strategy:
            case RetryStrategy.EXPONENTIAL:
                return policy.multiplier ** (attempt - 1)
            case RetryStrategy.LINEAR:
                return float(attempt)
            case RetryStrategy.FIXED:
                return 1.0
    except OverflowError:
        return _INFINITY
    return 0.0


def next_retry(
    policy: RetryPolicy,
    failed_attempt: int,
    failed_at: datetime,
    rand: float,
    *,
    max_attempts: int | None = None,
) -> datetime | None:
    """When the attempt after ``failed_attempt`` may start (UTC), or None if none is left.

    None means the run is dead: ``failed_attempt`` was attempt ``max_attempts`` (the run's own
    budget when given, else the policy's). The wait is added in absolute time, so a
    daylight-saving change in ``failed_at``'s zone moves nothing.
    """
    delay = retry_delay(policy, failed_attempt, rand)
    failed_at = as_utc(failed_at, "failed_at")
    if failed_attempt >= (max_attempts or policy.max_attempts):
        return None
    return failed_at + delay


@dataclass(frozen=True, slots=True)
class Settlement:
    """Where a run goes after an attempt ended: its status, and when a retry may start."""

    status: RunStatus
    not_before: datetime | None = None
    reason: str | None = None


def settle(
    policy: RetryPolicy,
    ended: AttemptStatus,
    attempt: int,
    ended_at: datetime,
    rand: float,
    *,
    max_attempts: int | None = None,
) -> Settlement:
    """The run's next status after attempt ``attempt`` ended as ``ended``.

    Success and cancellation are final; a failure, a timeout or a lost lease retries while
    attempts remain (after the policy's delay) and is dead once they are exhausted. A run
    carries its own budget (``max_attempts``): the policy's when it was made, plus one for
    each attempt a stopping worker handed back.
    """
    if ended is AttemptStatus.SUCCEEDED:
        return Settlement(RunStatus.SUCCEEDED)
    if ended is AttemptStatus.CANCELLED:
        return Settlement(RunStatus.CANCELLED, reason="cancelled")
    retry_at = next_retry(policy, attempt, ended_at, rand, max_attempts=max_attempts)
    if retry_at is None:
        return Settlement(RunStatus.DEAD, reason=f"{ended.value} on attempt {attempt}, the last")
    return Settlement(RunStatus.RETRYING, not_before=retry_at, reason=f"{ended.value}")
