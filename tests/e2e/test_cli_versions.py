"""Change control from the command line, on both databases: versions listed, compared and
rolled back to; a stale --expected-version, an unknown job or version exits 2 in one line and
changes nothing."""

from __future__ import annotations

import getpass
import json
import subprocess
from pathlib import Path

from sqlalchemy import select

from cronwell.store.database import Database
from cronwell.store.tables import job_versions, jobs
from tests.e2e.processes import CRONWELL, environment

JOBS = """
jobs:
  - name: sync
    command: "true"
    schedule: "@hourly"
"""


def cronwell(cwd: Path, database: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CRONWELL, *args, "--database", database],
        cwd=cwd,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def out(cwd: Path, database: str, *args: str) -> str:
    done = cronwell(cwd, database, *args)
    assert (done.returncode, done.stderr) == (0, "")
    return done.stdout


def refused(cwd: Path, database: str, *args: str) -> str:
    done = cronwell(cwd, database, *args)
    assert (done.returncode, done.stdout) == (2, "")
    return done.stderr


def store_of(database_url: str) -> list[tuple[object, ...]]:
    """The jobs' rows and their versions, as the store holds them."""
    database = Database(database_url)
    try:
        with database.transaction(write=False) as connection:
            found = [tuple(row) for row in connection.execute(select(jobs))]
            found += [tuple(row) for row in connection.execute(select(job_versions))]
    finally:
        database.dispose()
    return found


def test_versions_are_listed_compared_and_rolled_back(tmp_path: Path, database_url: str) -> None:
    (tmp_path / "jobs.yaml").write_text(JOBS)
    url = database_url
    assert out(tmp_path, url, "apply", "jobs.yaml", "-m", "first") == "sync: created\n"
    assert out(tmp_path, url, "apply", "jobs.yaml", "-m", "again") == "sync: unchanged\n"
    changed = ("--set", "schedule=*/15 * * * *", "--set", "timeout=5m", "-m", "faster")
    assert (
        out(tmp_path, url, "jobs", "update", "sync", *changed) == "sync: updated, now version 2\n"
    )
    diff = out(tmp_path, url, "jobs", "diff", "sync", "1", "2").splitlines()
    assert diff[:2] == ["--- sync@v1", "+++ sync@v2"]
    assert [line for line in diff[3:] if line[:1] in "+-"] == [
        '-  "schedule": "@hourly",',
        '+  "schedule": "*/15 * * * *",',
        '-  "timeout": null,',
        '+  "timeout": 300.0,',
    ]
    assert out(tmp_path, url, "jobs", "rollback", "sync", "1", "-m", "too often") == (
        "sync: rolled back to version 1, now version 3\n"
    )
    assert out(tmp_path, url, "jobs", "rollback", "sync", "3") == (
        "sync: already at the definition of version 3; nothing changed\n"
    )
    listed = json.loads(out(tmp_path, url, "jobs", "versions", "sync", "--json"))
    me = getpass.getuser()
    assert [(v["version"], v["action"], v["author"], v["message"]) for v in listed] == [
        (1, "create", me, "first"),
        (2, "update", me, "faster"),
        (3, "rollback", me, "too often"),
    ]
    assert listed[0]["hash"] == listed[2]["hash"] != listed[1]["hash"]
    first = json.loads(out(tmp_path, url, "jobs", "versions", "sync", "1"))
    assert (first["version"], first["action"], first["hash"]) == (1, "create", listed[0]["hash"])
    assert (first["definition"]["schedule"], first["definition"]["timeout"]) == ("@hourly", None)
    table = out(tmp_path, url, "jobs", "versions", "sync").splitlines()
    assert table[0].split() == ["version", "when", "who", "action", "message"]
    assert table[3].split()[0] == "3" and table[3].split()[3:] == [me, "rollback", "too", "often"]
    figures = json.loads(out(tmp_path, url, "stats", "--json"))
    assert (figures["versions"], figures["version_contents"]) == (3, 2)
    assert figures["version_bytes_raw"] > figures["version_bytes_stored"] > 0
    assert out(tmp_path, url, "jobs", "diff", "sync", "1", "3") == ""


def test_refused_changes_exit_2_in_one_line_and_change_nothing(
    tmp_path: Path, database_url: str
) -> None:
    (tmp_path / "jobs.yaml").write_text(JOBS)
    url = database_url
    out(tmp_path, url, "apply", "jobs.yaml")
    out(tmp_path, url, "jobs", "update", "sync", "--set", "schedule=@daily")
    before = store_of(url)
    stale = (
        "cronwell: --expected-version: job 'sync' is at version 2, not 1: "
        "it changed since you read it\n"
    )
    assert (
        refused(
            tmp_path,
            url,
            "jobs",
            "update",
            "sync",
            "--set",
            "timeout=1m",
            "--expected-version",
            "1",
        )
        == stale
    )
    assert refused(tmp_path, url, "jobs", "rollback", "sync", "1", "--expected-version", "1") == (
        stale
    )
    assert refused(tmp_path, url, "jobs", "rollback", "sync", "9") == (
        "cronwell: VERSION: job 'sync' has no version 9\n"
    )
    assert refused(tmp_path, url, "jobs", "versions", "sync", "9") == (
        "cronwell: VERSION: job 'sync' has no version 9\n"
    )
    assert refused(tmp_path, url, "jobs", "diff", "sync", "1", "9") == (
        "cronwell: VERSION: job 'sync' has no version 9\n"
    )
    assert refused(tmp_path, url, "jobs", "versions", "nightly") == (
        "cronwell: JOB: no job named 'nightly'\n"
    )
    assert refused(tmp_path, url, "jobs", "update", "sync", "--set", "priority=urgent") == (
        "cronwell: priority: 'urgent' is not one of critical, high, normal, low, background\n"
    )
    assert refused(tmp_path, url, "jobs", "update", "sync", "--set", "timeout") == (
        "cronwell: --set: expected FIELD=VALUE, got 'timeout'\n"
    )
    assert store_of(url) == before
    assert out(
        tmp_path, url, "jobs", "update", "sync", "--set", "timeout=1m", "--expected-version", "2"
    ) == ("sync: updated, now version 3\n")
