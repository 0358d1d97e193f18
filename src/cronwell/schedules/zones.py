"""Time zones and daylight-saving resolution: wall times to instants and back.

Everything here is about turning a local wall time (a naive datetime read in an IANA zone) into
the UTC instants at which it happens. A wall time happens once on an ordinary day, never when a
spring-forward gap skips it, and twice when a fall-back overlap repeats it. zoneinfo answers
all three through ``fold`` (PEP 495): for a gap wall time, fold=0 reads it with the offset
before the transition and fold=1 with the offset after; for an overlap, fold=0 is the first
pass and fold=1 the second.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronwell.schedules.base import ScheduleError

_ONE_SECOND = timedelta(seconds=1)
_UTC_KEYS = frozenset(
    {"UTC", "Etc/UTC", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu", "Etc/UCT", "UCT"}
)


def load_zone(name: object, field: str = "timezone") -> ZoneInfo:
    """The IANA zone called ``name``, or a ScheduleError naming ``field``."""
    if isinstance(name, ZoneInfo):
        return name
    if not isinstance(name, str) or not name or name.startswith("/") or ".." in name:
        raise ScheduleError(field, f"{name!r} is not an IANA time zone name")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(field, f"unknown time zone {name!r}") from None


def is_utc(zone: ZoneInfo) -> bool:
    """Whether the zone is UTC under another name, so DST resolution can be skipped."""
    return zone.key in _UTC_KEYS


def as_utc(instant: datetime) -> datetime:
    """The same instant with UTC as its zone; naive datetimes are refused, not guessed."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{instant.isoformat()} has no UTC offset: pass an aware datetime")
    return instant.astimezone(UTC)


# Moving between naive and aware datetimes by arithmetic on epochs is exact and costs a small
# fraction of datetime.replace(tzinfo=...), which dominates the hot path otherwise.
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_WALL = datetime(1970, 1, 1)


def utc_of(wall: datetime, offset: timedelta) -> datetime:
    """The aware UTC instant of naive ``wall`` read at UTC ``offset``."""
    return _EPOCH_UTC + (wall - _EPOCH_WALL - offset)


def wall_of(instant: datetime, zone: tzinfo) -> datetime:
    """The naive local wall time (fold=0) of aware ``instant`` in ``zone``."""
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None
    return _EPOCH_WALL + (instant - _EPOCH_UTC + offset)


def instants_of(wall: datetime, zone: tzinfo) -> tuple[datetime, ...]:
    """Every UTC instant whose local time in ``zone`` is ``wall`` (naive), earliest first.

    Empty for a wall time inside a spring-forward gap; two instants for one that a fall-back
    overlap repeats.
    """
    first, second = _offsets(wall, zone)
    if first == second:
        return (utc_of(wall, first),)
    if first > second:  # an overlap: fold=0 is the first pass
        return utc_of(wall, first), utc_of(wall, second)
    return ()


def fixed_time_instant(wall: datetime, zone: tzinfo) -> datetime:
    """The instant a fixed-time job due at ``wall`` fires, by the Debian cron rules.

    An overlap wall time fires at its first pass only; a gap wall time fires at the transition
    instant that ends the gap.
    """
    first, second = _offsets(wall, zone)
    if first >= second:
        return utc_of(wall, first)
    return _transition_between(utc_of(wall, second), second, zone)


def overlap_length(wall: datetime, zone: tzinfo) -> timedelta:
    """How long the fall-back overlap that repeats ``wall`` lasts; zero if it is not repeated."""
    first, second = _offsets(wall, zone)
    return max(first - second, timedelta(0))


def _offsets(wall: datetime, zone: tzinfo) -> tuple[timedelta, timedelta]:
    """The zone's offsets for a naive wall time read with fold=0 and with fold=1."""
    # tzinfo.utcoffset on a naive datetime costs a fraction of building an aware one.
    first = zone.utcoffset(wall)
    second = zone.utcoffset(wall.replace(fold=1))
    assert first is not None and second is not None
    return first, second


def _transition_between(before: datetime, offset_after: timedelta, zone: tzinfo) -> datetime:
    """The first instant after ``before`` at which the zone's offset is ``offset_after``.

    ``before`` lies within one gap's length ahead of the transition; the search halves that
    span down to the second, which is the resolution of every transition in the tz database.
    """
    low, high = before, before + (offset_after - _offset(before, zone))
    while high - low > _ONE_SECOND:
        middle = (low + (high - low) / 2).replace(microsecond=0)
        if _offset(middle, zone) == offset_after:
            high = middle
        else:
            low = middle
    return high


def _offset(instant: datetime, zone: tzinfo) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None
    return offset
