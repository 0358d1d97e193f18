"""Pure decisions the engine acts on: retry backoff, overlap, misfires and priorities.

Every answer is a function of its arguments: no I/O, no clock, no source of randomness. The
engine reads the store and the clock, calls these functions, and persists what they return;
randomness comes in as ``rand``, a float in [0, 1). Instants come out in UTC.
"""

from cronwell.policies.base import PolicyError, Priority
from cronwell.policies.misfire import (
    DEFAULT_ON_TIME_TOLERANCE,
    DEFAULT_PLAN_LIMIT,
    MAX_CATCH_UP,
    Disposition,
    DuePlan,
    DueTime,
    MisfireAction,
    MisfirePolicy,
    MissedSpan,
    count_interval_due_times,
    plan_due_times,
)
from cronwell.policies.overlap import (
    ACTIVE_STATUSES,
    ActiveRun,
    OverlapAction,
    OverlapDecision,
    OverlapPolicy,
    Overlaps,
    decide_overlap,
)
from cronwell.policies.retry import (
    RetryPolicy,
    RetryStrategy,
    Settlement,
    next_retry,
    retry_delay,
    settle,
)

__all__ = [
    "ACTIVE_STATUSES",
    "DEFAULT_ON_TIME_TOLERANCE",
    "DEFAULT_PLAN_LIMIT",
    "MAX_CATCH_UP",
    "ActiveRun",
    "Disposition",
    "DuePlan",
    "DueTime",
    "MisfireAction",
    "MisfirePolicy",
    "MissedSpan",
    "OverlapAction",
    "OverlapDecision",
    "OverlapPolicy",
    "Overlaps",
    "PolicyError",
    "Priority",
    "RetryPolicy",
    "RetryStrategy",
    "Settlement",
    "count_interval_due_times",
    "decide_overlap",
    "next_retry",
    "plan_due_times",
    "retry_delay",
    "settle",
]
