"""The retention policy: its defaults, its off switches, and the values it refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cronwell.policies.base import PolicyError
from cronwell.policies.retention import Retention

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_the_defaults_keep_ninety_days_and_the_last_hundred_runs() -> None:
    retention = Retention()
    assert retention.runs_cutoff(NOW) == NOW - timedelta(days=90)
    assert retention.events_cutoff(NOW) == NOW - timedelta(days=90)
    assert retention.keep_last_runs == 100
    assert not retention.is_off


def test_each_limit_turns_off_on_its_own() -> None:
    retention = Retention(runs_older_than=None)
    assert retention.runs_cutoff(NOW) is None
    assert retention.events_cutoff(NOW) == NOW - timedelta(days=90)
    assert Retention(events_older_than=None).events_cutoff(NOW) is None
    assert Retention.off().is_off


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"runs_older_than": timedelta(days=-1)}, "runs_older_than: -86400s must be longer"),
        ({"events_older_than": timedelta(0)}, "events_older_than: 0s must be longer"),
        ({"keep_last_runs": -1}, "keep_last_runs: -1 must not be negative"),
        ({"keep_last_runs": 1.5}, "keep_last_runs: 1.5 is not a whole number"),
    ],
)
def test_bad_limits_are_refused_naming_the_field(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        Retention(**arguments)


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(PolicyError, match="now: must be timezone-aware"):
        Retention().runs_cutoff(datetime(2026, 6, 1))
