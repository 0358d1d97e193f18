"""Operator controls from the command line, run as real processes on both stores: backfill,
skip-next, pause --until, resume --catch-up, move-cursor; bad input exits 2 with one line."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cronwell.store.database import Database
from cronwell.store.tables import jobs, runs
from tests.e2e.processes import CRONWELL, apply_job, environment

HOUR = timedelta(hours=1)


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [*CRONWELL, *args]
    return subprocess.run(
        command, cwd=cwd, env=environment(), capture_output=True, text=True, check=False
    )


def said(cwd: Path, database: str, *args: str) -> str:
    done = cli(cwd, *args, "--database", database)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def stored_runs(database: str) -> list[Any]:
    store = Database(database)
    try:
        with store.transaction(write=False) as connection:
            query = select(runs.c.scheduled_for, runs.c.trigger, runs.c.status, runs.c.reason)
            return list(connection.execute(query.order_by(runs.c.scheduled_for)).all())
    finally:
        store.dispose()


def cursor(database: str) -> Any:
    store = Database(database)
    try:
        with store.transaction(write=False) as connection:
            query = select(jobs.c.next_due_at, jobs.c.paused_until, jobs.c.is_enabled)
            return connection.execute(query.where(jobs.c.name == "sync")).one()
    finally:
        store.dispose()


def test_a_range_is_backfilled_once_across_spring_forward(
    tmp_path: Path, database_url: str
) -> None:
    apply_job(
        tmp_path,
        database_url,
        name="nightly",
        command="true",
        schedule="30 2 * * *",
        timezone="Europe/Berlin",
    )
    asked = ("jobs", "backfill", "nightly", "--from", "2026-03-27", "--to", "2026-03-30T23:59")
    assert said(tmp_path, database_url, *asked) == (
        "nightly: backfill 2026-03-27T00:00:00+01:00 to 2026-03-30T23:59:00+02:00: "
        "4 due times, 4 runs made, 0 already had a run"
    )
    made = stored_runs(database_url)
    assert [(f"{row[0]:%m-%d %H:%M}", row[1]) for row in made] == [
        ("03-27 01:30", "backfill"),
        ("03-28 01:30", "backfill"),
        ("03-29 01:00", "backfill"),  # 02:30 did not happen: 03:00 CEST
        ("03-30 00:30", "backfill"),
    ]
    assert [row[2] for row in made] == ["pending", "waiting", "waiting", "waiting"]
    wider = ("jobs", "backfill", "nightly", "--from", "2026-03-26", "--to", "2026-03-31")
    shown = json.loads(said(tmp_path, database_url, *wider, "--dry-run", "--json"))
    assert (shown["made"], shown["existing"], shown["is_dry_run"]) == (1, 4, True)
    assert len(stored_runs(database_url)) == 4, "a dry run makes nothing"


def test_the_next_due_time_is_skipped_paused_over_and_moved(
    tmp_path: Path, database_url: str
) -> None:
    apply_job(tmp_path, database_url, name="sync", command="true", schedule="0 * * * *")
    due = cursor(database_url).next_due_at  # read, not worked out: the hour may turn
    assert said(tmp_path, database_url, "jobs", "skip-next", "sync") == (
        f"sync: skipped {due.isoformat()}; next due {(due + HOUR).isoformat()}"
    )
    (skipped,) = stored_runs(database_url)
    assert (skipped.trigger, skipped.status, skipped.reason) == (
        "schedule",
        "skipped",
        "skipped by hand",
    )
    until = due + timedelta(days=1, minutes=30)
    said(tmp_path, database_url, "jobs", "pause", "sync", "--until", until.isoformat())
    assert cursor(database_url) == (until + timedelta(minutes=30), until, True)
    shown = json.loads(said(tmp_path, database_url, "jobs", "show", "sync"))
    assert shown["paused_until"] == until.isoformat()
    assert said(tmp_path, database_url, "jobs", "resume", "sync", "--catch-up") == (
        f"sync: resumed, catching up; next due {(due + HOUR).isoformat()}"
    )
    assert cursor(database_url) == (due + HOUR, None, True)
    said(tmp_path, database_url, "jobs", "move-cursor", "sync", "--to", until.isoformat())
    assert cursor(database_url).next_due_at == until + timedelta(minutes=30)


REFUSED = {
    "to before from": (
        ("backfill", "sync", "--from", "2026-03-02", "--to", "2026-03-01"),
        "--to: 2026-03-01T00:00:00+00:00 is before start 2026-03-02T00:00:00+00:00",
    ),
    "unparsable time": (
        ("backfill", "sync", "--from", "last tuesday", "--to", "now"),
        "--from: 'last tuesday' is not an ISO 8601 date and time",
    ),
    "too many runs": (
        ("backfill", "sync", "--from", "2020-01-01", "--to", "2026-01-01"),
        "--from/--to: 2020-01-01T00:00:00+00:00 to 2026-01-01T00:00:00+00:00 holds more "
        "than 10000 due times: narrow the range",
    ),
    "never due": (
        ("backfill", "by-hand", "--from", "2026-01-01", "--to", "2026-01-02"),
        "JOB's schedule: 'Only when triggered by hand' has no due times to backfill",
    ),
    "unknown job": (
        ("skip-next", "nobody"),
        "JOB: no job named 'nobody'",
    ),
    "pause in the past": (
        ("pause", "sync", "--until", "2026-01-01T00:00Z"),
        "--until: 2026-01-01T00:00:00+00:00 is not in the future",
    ),
    "cursor to nowhere": (
        ("move-cursor", "sync", "--to", "soon"),
        "--to: 'soon' is not an ISO 8601 date and time",
    ),
}


@pytest.mark.parametrize(("args", "line"), REFUSED.values(), ids=REFUSED.keys())
def test_bad_input_exits_2_with_one_line_and_changes_nothing(
    tmp_path: Path, args: tuple[str, ...], line: str
) -> None:
    database = f"sqlite:///{tmp_path / 'cronwell.db'}"
    apply_job(tmp_path, database, name="sync", command="true", schedule="0 * * * *")
    apply_job(tmp_path, database, name="by-hand", command="true")
    before = cursor(database)
    done = cli(tmp_path, "jobs", *args, "--database", database)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"cronwell: {line}\n")
    assert stored_runs(database) == []
    assert cursor(database) == before
