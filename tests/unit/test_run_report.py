"""``cronwell run`` prints each ended run once, even when runs commit out of end order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cronwell.cli.run import _Tail
from cronwell.store.history import RunRow

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def ended(run_id: int, seconds: float) -> RunRow:
    at = START + timedelta(seconds=seconds)
    return RunRow(run_id, "job", at, "schedule", "succeeded", None, 1, at, at)


def visible(rows: list[RunRow], after: datetime) -> list[RunRow]:
    """What ``list_runs(finished_after=after)`` answers, given the rows committed so far."""
    later = [row for row in rows if row.finished_at is not None and row.finished_at > after]
    return sorted(later, key=lambda row: row.finished_at or START)


def test_a_run_committed_after_a_later_ending_one_is_still_shown() -> None:
    tail = _Tail(START)
    committed = [ended(2, 2.0)]  # run 1 ended at 1.0 but has not committed yet
    assert [row.id for row in tail.new(visible(committed, tail.look_from))] == [2]
    committed.append(ended(1, 1.0))
    assert [row.id for row in tail.new(visible(committed, tail.look_from))] == [1]
    assert tail.new(visible(committed, tail.look_from)) == []


def test_what_was_shown_is_forgotten_once_out_of_the_lookback() -> None:
    tail = _Tail(START)
    tail.new([ended(1, 1.0)])
    tail.new([ended(2, 100.0)])
    assert tail.look_from == START + timedelta(seconds=70)
    assert set(tail._shown) == {2}
