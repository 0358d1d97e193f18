"""An event schedule is written ``event NAME``, ``event: NAME`` or ``{event: NAME}``; each
form names the same event and is never due by the clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cronwell.schedules import EventSchedule, ScheduleError, parse_schedule
from cronwell.spec import JobSpec


@pytest.mark.parametrize(
    "source",
    [
        "event inventory.low_stock",
        "event: inventory.low_stock",
        "event:inventory.low_stock",
        "  EVENT   inventory.low_stock ",
        {"event": "inventory.low_stock"},
        {"event": "inventory.low_stock", "timezone": "Europe/London"},
    ],
)
def test_every_form_names_the_event(source: str | dict[str, str]) -> None:
    schedule = parse_schedule(source)
    assert isinstance(schedule, EventSchedule)
    assert schedule.event == "inventory.low_stock"
    assert schedule.next_after(datetime(2026, 1, 1, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("event: inventory low", "event: 'inventory low' is not an event name"),
        ("event:", "event: "),
        ({"event": "a/b"}, "event: 'a/b' is not an event name"),
    ],
)
def test_a_bad_event_name_is_refused(source: str | dict[str, str], message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        parse_schedule(source)


def test_a_job_keeps_the_form_it_was_written_in() -> None:
    spec = JobSpec.parse(
        {"name": "reorder", "command": "true", "schedule": "event: inventory.low_stock"}
    )
    assert spec.canonical()["schedule"] == "event: inventory.low_stock"
    assert JobSpec.from_canonical(spec.canonical()).schedule == spec.schedule
