"""The schedule protocol every kind follows, and the error every parser raises.

A schedule is pure time math: it is asked for the next due instant strictly after a given
instant and answers with an aware UTC datetime, or None when it will never be due again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo


class ScheduleError(ValueError):
    """Bad schedule input: names the field at fault and what is wrong with it.

    ``str(error)`` is the one line a user sees, e.g. ``minute field: 61 is out of range 0-59``.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@runtime_checkable
class Schedule(Protocol):
    """When a job is due, as a function of time and nothing else."""

    @property
    def timezone(self) -> ZoneInfo:
        """The IANA zone the schedule's wall times are read in."""
        ...

    def next_after(self, instant: datetime) -> datetime | None:
        """The first due instant strictly after ``instant`` (aware), in UTC, or None if over."""
        ...

    def describe(self) -> str:
        """Plain English, e.g. ``At 09:00, Monday through Friday (America/New_York)``."""
        ...
