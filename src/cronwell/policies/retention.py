"""Retention: how much history the store keeps, and so which finished runs, events and audit
records go.

A limit of None turns that kind of pruning off; ``keep_last_runs`` is a floor per job that
holds however old its runs are, so a job that runs once a year still shows its last results.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cronwell.policies.base import PolicyError, as_utc

DEFAULT_AGE = timedelta(days=90)
DEFAULT_KEEP_LAST = 100
DEFAULT_AUDIT_AGE = timedelta(days=365)  # who changed what is asked about long after


@dataclass(frozen=True, slots=True)
class Retention:
    """``runs_older_than``: finished runs (with their attempts and output) older than this
    go; ``keep_last_runs``: each job's latest runs kept regardless; ``events_older_than``:
    fired events older than this go; ``audit_older_than``: audit records older than this
    go. None (or 0 for ``keep_last_runs``) turns one off."""

    runs_older_than: timedelta | None = DEFAULT_AGE
    keep_last_runs: int = DEFAULT_KEEP_LAST
    events_older_than: timedelta | None = DEFAULT_AGE
    audit_older_than: timedelta | None = DEFAULT_AUDIT_AGE

    def __post_init__(self) -> None:
        for field in ("runs_older_than", "events_older_than", "audit_older_than"):
            age = getattr(self, field)
            if age is not None and age <= timedelta(0):
                raise PolicyError(field, f"{age.total_seconds():g}s must be longer than zero")
        if isinstance(self.keep_last_runs, bool) or not isinstance(self.keep_last_runs, int):
            raise PolicyError("keep_last_runs", f"{self.keep_last_runs!r} is not a whole number")
        if self.keep_last_runs < 0:
            raise PolicyError("keep_last_runs", f"{self.keep_last_runs} must not be negative")

    @classmethod
    def off(cls) -> Retention:
        """Keep everything: what a store that is pruned by other means asks for."""
        return cls(
            runs_older_than=None, keep_last_runs=0, events_older_than=None, audit_older_than=None
        )

    @property
    def is_off(self) -> bool:
        ages = (self.runs_older_than, self.events_older_than, self.audit_older_than)
        return all(age is None for age in ages)

    def runs_cutoff(self, now: datetime) -> datetime | None:
        """Finished runs that ended before this instant may go."""
        return None if self.runs_older_than is None else as_utc(now, "now") - self.runs_older_than

    def events_cutoff(self, now: datetime) -> datetime | None:
        """Events fired before this instant may go."""
        if self.events_older_than is None:
            return None
        return as_utc(now, "now") - self.events_older_than

    def audit_cutoff(self, now: datetime) -> datetime | None:
        """Audit records made before this instant may go."""
        if self.audit_older_than is None:
            return None
        return as_utc(now, "now") - self.audit_older_than
