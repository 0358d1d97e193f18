"""What every kind shares: the zone, the start/end window and the per-job jitter."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cronwell.schedules.describe import describe_duration
from cronwell.schedules.zones import as_utc

_TICK = timedelta(microseconds=1)
_SECOND = timedelta(seconds=1)
NextDue = Callable[[datetime], datetime | None]


def jitter_offset(key: str, jitter: timedelta) -> timedelta:
    """A deterministic offset in [0, jitter) for ``key``: the same job always gets the same.

    Offsets are whole seconds when the jitter is a second or more, so fire times stay on
    whole seconds.
    """
    span = jitter // _TICK
    if span <= 0:
        return timedelta(0)
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    offset = timedelta(microseconds=digest % span)
    if jitter >= _SECOND:
        offset = _SECOND * (offset // _SECOND)
    return offset


@dataclass(frozen=True, slots=True)
class Window:
    """Bounds on fire times (inclusive, UTC) and the jitter that shifts every due time."""

    start: datetime | None = None
    end: datetime | None = None
    jitter: timedelta = timedelta(0)
    key: str = ""
    offset: timedelta = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "offset", jitter_offset(self.key, self.jitter))

    def next_after(self, instant: datetime, due: NextDue) -> datetime | None:
        """The first fire time after ``instant``: a due time from ``due``, shifted by jitter.

        A fire time must lie after ``instant`` and within [start, end].
        """
        lower = instant if self.start is None or self.start <= instant else self.start - _TICK
        nominal = due(lower - self.offset)
        if nominal is None:
            return None
        fire = nominal + self.offset
        return None if self.end is not None and fire > self.end else fire

    def describe(self, zone: ZoneInfo) -> str:
        parts = []
        if self.start is not None:
            parts.append(f"from {_local(self.start, zone)}")
        if self.end is not None:
            parts.append(f"until {_local(self.end, zone)}")
        if self.jitter:
            parts.append(f"with up to {describe_duration(self.jitter)} of jitter")
        return "".join(f", {part}" for part in parts)


def _local(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M")


class WindowedSchedule(ABC):
    """Base of the timed kinds: the protocol's ``next_after`` over a kind's ``_next_due``."""

    __slots__ = ()

    timezone: ZoneInfo
    window: Window

    def next_after(self, instant: datetime) -> datetime | None:
        try:
            return self.window.next_after(as_utc(instant), self._next_due)
        except OverflowError:  # the next due time lies past year 9999: none is representable
            return None

    def describe(self) -> str:
        return f"{self._describe_when()}{self.window.describe(self.timezone)} ({self.timezone.key})"

    @abstractmethod
    def _next_due(self, instant: datetime) -> datetime | None:
        """The first due time strictly after ``instant`` (aware UTC), ignoring the window."""

    @abstractmethod
    def _describe_when(self) -> str:
        """When the kind is due, in plain English, without zone or window."""
