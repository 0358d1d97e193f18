"""A loop outlives a failing database: it logs, pauses longer each time, and carries on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError

from cronwell.engine.loops import LONGEST, Backoff, survive, try_once


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


def test_a_failure_that_is_not_the_databases_is_logged_with_its_traceback_and_paused_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def step() -> timedelta:
        raise ValueError("a bug")

    pause = survive(step, Backoff(rand=lambda: 1.0), "a loop")
    assert pause == timedelta(milliseconds=250)
    (record,) = caplog.records
    assert record.getMessage() == "a loop failed; trying again in 0.2 s"
    assert record.exc_info is not None and record.exc_info[0] is ValueError


def test_stopping_is_not_a_failure() -> None:
    def step() -> timedelta:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        survive(step, Backoff(), "a loop")


def test_what_must_not_raise_logs_the_database_in_a_line_and_a_bug_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def lost() -> None:
        raise OperationalError("UPDATE", {}, Exception("server closed\n  the connection"))

    def bug() -> None:
        raise KeyError("a bug")

    assert try_once(lambda: None, "a loop, stopping")
    assert not try_once(lost, "a loop, stopping")
    assert not try_once(bug, "a loop, stopping")
    database, other = caplog.records
    assert database.getMessage() == (
        "a loop, stopping: the database failed (server closed the connection); going on without"
    )
    assert database.exc_info is None
    assert other.exc_info is not None and other.exc_info[0] is KeyError
