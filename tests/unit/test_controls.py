"""The pure decisions behind the operator controls: the overlap policy a backfill follows, the
statuses its runs start in, and instants typed without an offset, read in the job's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from cronwell.lifecycle import RunStatus, SkipReason
from cronwell.policies import OverlapPolicy
from cronwell.policies.controls import (
    ControlError,
    backfill_overlap,
    backfill_statuses,
    local_instant,
)

PENDING = (RunStatus.PENDING, None)
WAITING = (RunStatus.WAITING, None)
SKIPPED = (RunStatus.SKIPPED, SkipReason.OVERLAP)
ALLOW, QUEUE, FORBID = OverlapPolicy.ALLOW, OverlapPolicy.QUEUE, OverlapPolicy.FORBID
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("policy", "job_overlap", "is_busy", "statuses"),
    [
        (QUEUE, FORBID, False, [PENDING, WAITING, WAITING]),
        (QUEUE, FORBID, True, [PENDING, WAITING, WAITING]),  # its end would start no waiting run
        (QUEUE, QUEUE, True, [WAITING, WAITING, WAITING]),  # the busy run's end starts it
        (ALLOW, QUEUE, True, [PENDING, PENDING, PENDING]),
        (FORBID, ALLOW, False, [PENDING, SKIPPED, SKIPPED]),
        (FORBID, ALLOW, True, [SKIPPED, SKIPPED, SKIPPED]),
    ],
)
def test_backfill_runs_start_as_their_overlap_policy_says(
    policy: OverlapPolicy,
    job_overlap: OverlapPolicy,
    is_busy: bool,
    statuses: list[tuple[RunStatus, SkipReason | None]],
) -> None:
    assert backfill_statuses(policy, job_overlap, is_busy, 3) == statuses
    assert backfill_statuses(policy, job_overlap, is_busy, 0) == []


def test_a_backfill_cannot_replace() -> None:
    with pytest.raises(ControlError, match=r"^overlap: 'replace' is not one of"):
        backfill_overlap(OverlapPolicy.REPLACE)


def test_a_backfill_queues_unless_told_otherwise() -> None:
    assert backfill_overlap(None) is QUEUE
    assert backfill_overlap("forbid") is FORBID


@pytest.mark.parametrize(
    ("wall", "instant"),
    [
        (datetime(2026, 3, 29, 2, 30), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),  # gap: its end
        (datetime(2026, 10, 25, 2, 30), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),  # 1st pass
        (datetime(2026, 6, 1, 12, 0), datetime(2026, 6, 1, 10, 0, tzinfo=UTC)),
    ],
)
def test_a_wall_time_is_read_by_the_fixed_time_rule(wall: datetime, instant: datetime) -> None:
    assert local_instant(wall, BERLIN) == instant


def test_an_instant_with_an_offset_is_that_instant() -> None:
    given = datetime.fromisoformat("2026-10-25T02:30+01:00")
    assert local_instant(given, BERLIN) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
