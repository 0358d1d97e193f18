"""A loop outlives a failing database: it logs, pauses longer each time, and carries on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError

from cronwell.engine.loops import LONGEST, Backoff, survive


def test_pauses_grow_to_a_ceiling_and_start_over_after_a_success(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcomes: list[timedelta | Exception] = [
        OperationalError("SELECT 1", {}, Exception("gone"))
    ] * 9
    outcomes.append(timedelta(seconds=1))
    outcomes.append(OperationalError("SELECT 1", {}, Exception("gone again")))

    def step() -> timedelta:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    backoff = Backoff(rand=lambda: 1.0)  # no jitter: the longest pause of each step
    pauses = [survive(step, backoff, "a loop") for _ in range(11)]
    assert [pause.total_seconds() for pause in pauses[:9]] == [0.25, 0.5, 1, 2, 4, 8, 16, 30, 30]
    assert pauses[8] == LONGEST
    assert pauses[9] == timedelta(seconds=1), "a pass that works returns its own pause"
    assert pauses[10] == timedelta(milliseconds=250), "and the next failure starts over"
    assert "a loop: the database failed (gone); trying again in 0.2 s" in caplog.text


def test_an_error_that_is_not_the_databases_is_not_swallowed() -> None:
    def step() -> timedelta:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        survive(step, Backoff(), "a loop")
