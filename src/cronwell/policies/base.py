"""What every policy shares: the error that names a field, instants in UTC, priorities."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum


class PolicyError(ValueError):
    """Bad policy input: names the field at fault and what is wrong with it.

    ``str(error)`` is the one line a user sees, e.g. ``max_attempts: must be at least 1``.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def as_utc(instant: datetime, field: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise PolicyError(field, "must be timezone-aware")
    return instant.astimezone(UTC)


class Priority(IntEnum):
    """How soon a claimable run is taken: a smaller number is claimed first.

    Stored as its number, so an ascending index on (priority, scheduled_for) is the claim order.
    """

    CRITICAL = 0
    HIGH = 1
    NORMAL = 2
    LOW = 3
    BACKGROUND = 4

    @classmethod
    def parse(cls, name: str) -> Priority:
        """The priority called ``name`` in any case; PolicyError naming ``priority`` if none."""
        try:
            return cls[name.strip().upper()]
        except KeyError:
            choices = ", ".join(member.name.lower() for member in cls)
            raise PolicyError("priority", f"{name!r} is not one of {choices}") from None
