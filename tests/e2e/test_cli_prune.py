"""``cronwell prune`` in a real process: a dry run shows what would go, then it goes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from cronwell.lifecycle import RunStatus, Trigger
from cronwell.spec import JobSpec
from cronwell.store.database import Database
from cronwell.store.jobs import insert_job
from cronwell.store.tables import attempts, audit, events, runs

CRONWELL = [sys.executable, "-c", "from cronwell.cli import entry_point; entry_point()"]


def cronwell(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "CRONWELL_DATABASE_URL"}
    command = [*CRONWELL, *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, check=False)


def history(database: Database, days_ago: list[int]) -> None:
    """One job with a succeeded run (and its attempt) ended each of ``days_ago`` before now,
    and an event fired at each of those instants."""
    now = datetime.now(UTC)
    with database.transaction() as connection:
        job_id = insert_job(connection, JobSpec.parse({"name": "sync", "command": "true"}), now)
        for days in days_ago:
            due = now - timedelta(days=days)
            run_id = connection.execute(
                insert(runs)
                .values(
                    job_id=job_id,
                    scheduled_for=due,
                    trigger=Trigger.SCHEDULE,
                    status=RunStatus.SUCCEEDED,
                    queue="default",
                    priority=2,
                    not_before=due,
                    max_attempts=1,
                    created_at=due,
                    finished_at=due,
                )
                .returning(runs.c.id)
            ).scalar_one()
            connection.execute(
                insert(attempts).values(run_id=run_id, number=1, status="succeeded", started_at=due)
            )
            connection.execute(insert(events).values(name="upload", fired_at=due))
            connection.execute(
                insert(audit).values(
                    at=due,
                    actor="ana",
                    via="cli",
                    action="job.pause",
                    object_type="job",
                    object_id="sync",
                )
            )


def count(database: Database, table: object) -> int:
    with database.transaction(write=False) as connection:
        return len(connection.execute(select(table)).all())  # type: ignore[call-overload]


def test_a_dry_run_shows_what_would_go_and_prune_removes_it(
    tmp_path: Path, database_url: str, database: Database
) -> None:
    history(database, [400, 150, 120, 30, 1])
    options = ["--database", database_url, "--keep-last", "3"]

    dry = cronwell(tmp_path, "prune", "--dry-run", *options)
    assert dry.returncode == 0, dry.stderr
    said = "would prune 2 runs, 2 attempts, 3 events and 1 audit record (dry run)"
    assert dry.stdout.strip() == said
    assert (count(database, runs), count(database, events)) == (5, 5)

    done = cronwell(tmp_path, "prune", "--json", *options)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "dry_run": False,
        "runs": 2,
        "attempts": 2,
        "events": 3,
        "audit": 1,
    }
    assert count(database, audit) == 4
    assert (count(database, runs), count(database, attempts), count(database, events)) == (3, 3, 2)


def test_never_keeps_that_kind_and_limits_are_read_like_other_durations(
    tmp_path: Path, database_url: str, database: Database
) -> None:
    history(database, [200, 1])
    done = cronwell(
        tmp_path, "prune", "--database", database_url, "--keep-last", "0",
        "--runs-older-than", "never", "--events-older-than", "1w", "--audit-older-than", "1w",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "pruned 0 runs, 0 attempts, 1 event and 1 audit record"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--runs-older-than", "5x", "cronwell: --runs-older-than: '5x' is not a duration"),
        ("--events-older-than", "0s", "cronwell: --events-older-than: '0s' must be longer"),
        ("--audit-older-than", "soon", "cronwell: --audit-older-than: 'soon' is not a duration"),
        ("--keep-last", "-1", "cronwell: Invalid value for '--keep-last': -1 is not in the range"),
    ],
)
def test_a_bad_limit_exits_2_naming_the_option(
    tmp_path: Path, option: str, value: str, message: str
) -> None:
    done = cronwell(tmp_path, "prune", option, value)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(message)
    assert len(done.stderr.splitlines()) == 1
