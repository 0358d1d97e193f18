"""``cronwell next`` and ``cronwell explain`` as a script sees them: a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

CRONWELL = [sys.executable, "-c", "from cronwell.cli import entry_point; entry_point()"]


def cronwell(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120"}
    return subprocess.run(
        [*CRONWELL, *args], capture_output=True, text=True, timeout=30, env=env, check=False
    )


def test_next_json_crosses_spring_forward_with_offsets() -> None:
    done = cronwell(
        "next", "30 2 * * *", "--tz", "America/New_York",
        "--after", "2026-03-07T12:00", "--count", "3", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        "2026-03-08T03:00:00-04:00",
        "2026-03-09T02:30:00-04:00",
        "2026-03-10T02:30:00-04:00",
    ]
    assert done.stderr == ""


def test_next_after_takes_an_offset_or_z() -> None:
    for after in ("2026-11-01T05:59:59Z", "2026-11-01T01:59:59-04:00"):
        done = cronwell(
            "next", "*/30 * * * *", "--tz", "America/New_York", "--after", after, "--json",
            "--count", "2",
        )  # fmt: skip
        assert json.loads(done.stdout) == [
            "2026-11-01T01:00:00-05:00",
            "2026-11-01T01:30:00-05:00",
        ]


def test_next_is_strictly_after_a_due_instant() -> None:
    done = cronwell(
        "next", "0 9 * * *", "--after", "2026-01-01T09:00:00Z", "--json", "--count", "1"
    )
    assert json.loads(done.stdout)[0] == "2026-01-02T09:00:00+00:00"


def test_next_reads_a_json_mapping() -> None:
    spec = json.dumps({"daily": ["09:00"], "timezone": "Asia/Kolkata"})
    done = cronwell("next", spec, "--after", "2026-01-01T00:00Z", "--json", "--count", "1")
    assert json.loads(done.stdout) == ["2026-01-01T09:00:00+05:30"]


def test_tz_overrides_a_mappings_zone_and_reads_after_in_it() -> None:
    spec = json.dumps({"cron": "0 9 * * *", "timezone": "Asia/Kolkata"})
    done = cronwell("next", spec, "--tz", "America/New_York", "--after", "2026-01-01T09:00")
    assert done.returncode == 0, done.stderr
    done = cronwell(
        "next", spec, "--tz", "America/New_York", "--after", "2026-01-01T09:00", "--json",
        "--count", "1",
    )  # fmt: skip
    assert json.loads(done.stdout) == ["2026-01-02T09:00:00-05:00"]


def test_next_prints_a_table_with_the_explanation() -> None:
    done = cronwell(
        "next", "0 9 * * MON-FRI", "--tz", "America/New_York", "--after", "2026-01-02T10:00",
        "--count", "2",
    )  # fmt: skip
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0] == "At 09:00, Monday through Friday (America/New_York)"
    assert "2026-01-05T09:00:00-05:00" in done.stdout
    assert "2026-01-06T09:00:00-05:00" in done.stdout
    assert "2026-01-05 14:00:00Z" in done.stdout


def test_a_schedule_that_ends_gives_fewer_times() -> None:
    done = cronwell("next", "once 2026-05-01T10:00", "--after", "2026-01-01T00:00Z", "--json")
    assert json.loads(done.stdout) == ["2026-05-01T10:00:00+00:00"]
    done = cronwell("next", "event inventory.low_stock", "--json")
    assert json.loads(done.stdout) == []


def test_explain_describes_and_lists_five() -> None:
    done = cronwell("explain", "weekly mon,thu 10:00", "--tz", "Europe/London")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "At 10:00, on Monday and Thursday (Europe/London)"
    assert sum(":00:00" in line for line in done.stdout.splitlines()[1:]) == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["next", "61 * * * *"], "minute field: 61 is out of range 0-59"),
        (["next", "0 0 * * FRI-MON"], "day-of-week field: FRI-MON is a reversed range"),
        (["next", "* * * * * * *"], "cron: '* * * * * * *' has 7 fields"),
        (["next", "@reboot"], "cron: @reboot is not supported"),
        (["next", "* * * * *", "--tz", "Mars/Olympus"], "--tz: unknown time zone 'Mars/Olympus'"),
        (["next", "* * * * *", "--after", "2026-13-01"], "--after: '2026-13-01' is not an ISO"),
        (["next", "* * * * *", "--count", "0"], "--count: 0 is out of range"),
        (["next", "* * * * *", "--after", "0001-01-01T00:00Z"], "--after: '0001-01-01T00:00Z' is"),
        (["next", '{"cron": "* * * * *", "timezone": 5}'], "timezone: 5 is not an IANA"),
        (["next", '{"every": 1e300}'], "every: 1e+300 is longer than 36600 days"),
        (["next", "{not json"], "schedule: not valid JSON"),
        (["next", '{"cron": "* * * * *", "timezone": "Nowhere/City"}'], "timezone: unknown"),
        (["explain", "every 5 fortnights"], "every: '5 fortnights' is not a duration"),
        (["next"], "Missing argument 'SCHEDULE'"),
        (["nope"], "No such command 'nope'"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_nothing_on_stdout(
    args: list[str], message: str
) -> None:
    done = cronwell(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_schedule_that_can_never_fire_exits_2() -> None:
    # How fast it is refused is measured in process, where a loaded machine's process
    # start-up cannot blur it (tests/unit/test_cron_parser.py).
    done = cronwell("next", "0 0 30 2 *")
    assert done.returncode == 2
    assert "never fires" in done.stderr
