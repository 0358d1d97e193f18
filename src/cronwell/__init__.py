"""cronwell: a job scheduler and task runner for Python teams.

``from cronwell import Cronwell`` is the way in; the rest are the errors its methods raise and
the definition they take. They are imported on first use: a task's child process imports
``cronwell.engine.child`` and must not pay for the store, the engine and pydantic.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cronwell.app import (
        Cronwell,
        Job,
        JobExists,
        JobNotFound,
        Plan,
        RunEnded,
        RunNotFound,
        Version,
        VersionConflict,
        VersionNotFound,
    )
    from cronwell.engine.child import TaskContext, TaskEvent
    from cronwell.engine.controls import Backfill
    from cronwell.engine.events import EventError, FiredEvent
    from cronwell.policies.controls import ControlError
    from cronwell.spec import JobSpec, SpecError

_HOMES = {
    "Backfill": "cronwell.engine.controls",
    "ControlError": "cronwell.policies.controls",
    "Cronwell": "cronwell.app",
    "EventError": "cronwell.engine.events",
    "FiredEvent": "cronwell.engine.events",
    "Job": "cronwell.app",
    "JobExists": "cronwell.app",
    "JobNotFound": "cronwell.app",
    "JobSpec": "cronwell.spec",
    "Plan": "cronwell.app",
    "RunEnded": "cronwell.app",
    "RunNotFound": "cronwell.app",
    "SpecError": "cronwell.spec",
    "TaskContext": "cronwell.engine.child",
    "TaskEvent": "cronwell.engine.child",
    "Version": "cronwell.app",
    "VersionConflict": "cronwell.app",
    "VersionNotFound": "cronwell.app",
}
__all__ = [
    "Backfill",
    "ControlError",
    "Cronwell",
    "EventError",
    "FiredEvent",
    "Job",
    "JobExists",
    "JobNotFound",
    "JobSpec",
    "Plan",
    "RunEnded",
    "RunNotFound",
    "SpecError",
    "TaskContext",
    "TaskEvent",
    "Version",
    "VersionConflict",
    "VersionNotFound",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'cronwell' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
