"""Instants typed on the command line, and operator controls' refusals in the CLI's words."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from cronwell.cli import errors
from cronwell.cli.errors import InputError
from cronwell.policies.controls import ControlError

MIN_YEAR, MAX_YEAR = 2, 9998  # room for a zone's offset either way, as ``next --after`` has
# The options and arguments the fields of a ControlError are typed as.
_OPTIONS = {
    "start": "--from",
    "end": "--to",
    "start/end": "--from/--to",
    "until": "--until",
    "overlap": "--overlap",
    "job": "JOB",
    "schedule": "JOB's schedule",
}


def instant(text: str, option: str) -> datetime:
    """An ISO 8601 date and time, or ``now``. Without an offset it stays naive: the job's zone
    reads it (the app does, by the fixed-time rule)."""
    if text.strip().lower() == "now":
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{option}: {text!r} is not an ISO 8601 date and time") from None
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise InputError(f"{option}: {text!r} is outside the years {MIN_YEAR}-{MAX_YEAR}")
    return moment


def shown(moment: datetime | None, zone: ZoneInfo) -> str:
    """An instant in the job's zone, with its offset; ``never`` for none."""
    return "never" if moment is None else moment.astimezone(zone).isoformat()


def refusals() -> AbstractContextManager[None]:
    """Turn an operator control's refusal into the CLI's one line, naming the option."""
    return errors.refusals(_OPTIONS, ControlError)
