"""Operating jobs from the command line: trigger, pause, resume, show, delete, dead letters."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from cronwell.lifecycle import RunStatus, Trigger
from cronwell.store.database import Database
from cronwell.store.jobs import get_job
from cronwell.store.runs import NewRun, insert_runs

T = TypeVar("T")
CRONWELL = [sys.executable, "-c", "from cronwell.cli import entry_point; entry_point()"]
JOBS = """
jobs:
  - name: doomed
    command: "exit 7"
    retry: {strategy: none}
    on_dead: disable
  - name: sync
    command: "true"
    schedule: "@hourly"
"""


def cronwell(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "CRONWELL_DATABASE_URL"}
    command = [*CRONWELL, *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, check=False)


def out(cwd: Path, *args: str) -> str:
    done = cronwell(cwd, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_dead_job_goes_to_the_dlq_and_comes_back(tmp_path: Path) -> None:
    (tmp_path / "jobs.yaml").write_text(JOBS)
    out(tmp_path, "apply", "jobs.yaml")
    assert out(tmp_path, "jobs", "trigger", "doomed").startswith("doomed: run ")
    out(tmp_path, "run", "--for", "3", "--no-examples")
    (dead,) = json.loads(out(tmp_path, "dlq", "list", "--json"))
    assert (dead["job"], dead["attempts"]) == ("doomed", 1)
    shown = json.loads(out(tmp_path, "jobs", "show", "doomed"))
    assert (shown["enabled"], shown["dead_reason"]) == (False, "failed on attempt 1, the last")
    assert shown["status"]["error_count"] == 1
    assert out(tmp_path, "dlq", "recover", "doomed", "--retry").startswith(
        "doomed: recovered: enabled again, run "
    )
    assert json.loads(out(tmp_path, "jobs", "show", "doomed"))["enabled"] is True
    out(tmp_path, "jobs", "pause", "sync")
    assert out(tmp_path, "dlq", "recover", "sync") == (
        "sync: not taken out of service by a dead run; left as it was"
    )
    assert json.loads(out(tmp_path, "jobs", "show", "sync"))["enabled"] is False
    retried = json.loads(out(tmp_path, "runs", "list", "--json", "--job", "doomed"))
    assert [run["trigger"] for run in retried] == ["retry", "manual"]
    assert json.loads(out(tmp_path, "jobs", "history", "doomed", "--json")) == retried


def test_a_run_is_shown_with_its_attempts_and_workers_are_listed(tmp_path: Path) -> None:
    (tmp_path / "jobs.yaml").write_text(JOBS.replace('"true"', '"echo synced"'))
    out(tmp_path, "apply", "jobs.yaml")
    run_id = out(tmp_path, "jobs", "trigger", "sync").split()[2]
    out(tmp_path, "run", "--for", "2", "--no-examples", "--concurrency", "3")
    shown = json.loads(out(tmp_path, "runs", "show", run_id))
    assert (shown["job"], shown["status"], shown["trigger"]) == ("sync", "succeeded", "manual")
    (attempt,) = shown["attempt_details"]
    assert (attempt["number"], attempt["status"], attempt["exit_code"]) == (1, "succeeded", 0)
    assert attempt["output"] == "synced\n" and attempt["duration"] >= 0
    assert json.loads(out(tmp_path, "workers", "--json")) == [], "the worker stopped"
    (stopped,) = json.loads(out(tmp_path, "workers", "--all", "--json"))
    assert (stopped["id"], stopped["concurrency"], stopped["alive"]) == (
        attempt["worker_id"],
        3,
        False,
    )
    done = cronwell(tmp_path, "runs", "show", "999")
    assert (done.returncode, done.stderr) == (2, "cronwell: RUN: run 999 does not exist\n")
    done = cronwell(tmp_path, "jobs", "history", "ghost")
    assert (done.returncode, done.stderr) == (2, "cronwell: JOB: no job named 'ghost'\n")


def test_pause_resume_delete_and_stats(tmp_path: Path) -> None:
    (tmp_path / "jobs.yaml").write_text(JOBS)
    out(tmp_path, "apply", "jobs.yaml")
    assert out(tmp_path, "jobs", "pause", "sync") == "sync: paused"
    figures = json.loads(out(tmp_path, "stats", "--json"))
    assert (figures["total_jobs"], figures["active_jobs"], figures["paused_jobs"]) == (2, 1, 1)
    assert out(tmp_path, "jobs", "resume", "sync") == "sync: resumed"
    assert out(tmp_path, "jobs", "delete", "sync") == "sync: deleted"
    names = [job["name"] for job in json.loads(out(tmp_path, "jobs", "list", "--json"))]
    assert names == ["doomed"]


def test_an_unknown_job_exits_2_in_one_line(tmp_path: Path) -> None:
    done = cronwell(tmp_path, "jobs", "pause", "ghost")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "cronwell: JOB: no job named 'ghost'\n"


def test_cancel_and_retry_a_run(tmp_path: Path) -> None:
    (tmp_path / "jobs.yaml").write_text(JOBS)
    out(tmp_path, "apply", "jobs.yaml")
    run_id = out(tmp_path, "jobs", "trigger", "sync").split()[2]
    assert out(tmp_path, "runs", "cancel", run_id) == f"run {run_id}: cancelled"
    retried = out(tmp_path, "runs", "retry", run_id)
    assert retried.startswith(f"run {run_id}: retried as run ")
    listed = json.loads(out(tmp_path, "runs", "list", "--json", "--job", "sync"))
    assert [(run["trigger"], run["status"]) for run in listed] == [
        ("retry", "pending"),
        ("manual", "cancelled"),
    ]
    done = cronwell(tmp_path, "runs", "cancel", "999")
    assert (done.returncode, done.stderr) == (2, "cronwell: RUN: run 999 does not exist\n")


def test_locks_show_the_leases_of_a_running_process(tmp_path: Path) -> None:
    # The process runs until the test has looked, however slow the machine: a fixed window
    # (--for) could close, and its leases go, before the looks end.
    (tmp_path / "jobs.yaml").write_text(JOBS.replace('command: "true"', 'command: "sleep 60"'))
    out(tmp_path, "apply", "jobs.yaml")
    out(tmp_path, "jobs", "trigger", "sync")
    env = {key: value for key, value in os.environ.items() if key != "CRONWELL_DATABASE_URL"}
    command = [*CRONWELL, "run", "--no-examples", "--grace", "0"]
    quiet = subprocess.DEVNULL
    running = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=quiet, stderr=quiet)
    try:
        # The worker and the scheduler start in their own threads: wait for both to hold.
        figures = eventually(lambda: _held(tmp_path), timeout=10)
        assert (figures["run_leases"], figures["expired"]) == (1, 0)
        assert figures["leader"] == f"{socket.gethostname()} pid {running.pid}"
        held = json.loads(out(tmp_path, "locks", "list", "--json"))
        assert [lease["job"] for lease in held["runs"]] == ["sync"]
        (leader,) = held["leases"]
        assert leader["name"] == "scheduler"
        assert leader["holder"] == f"{socket.gethostname()} pid {running.pid}"
        assert json.loads(out(tmp_path, "locks", "stale", "--json")) == []
    finally:
        running.terminate()  # with no grace, the run in flight is handed back at once
        running.wait(timeout=60)


def _held(cwd: Path) -> dict[str, object] | None:
    (figures,) = json.loads(out(cwd, "locks", "stats", "--json"))
    return figures if figures["run_leases"] and figures["leader"] is not None else None


def eventually(check: Callable[[], T | None], timeout: float) -> T:
    """Poll ``check`` until it returns something, for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while (found := check()) is None:
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)
    return found


def test_a_missed_span_says_how_many_due_times_it_stands_for(tmp_path: Path) -> None:
    (tmp_path / "jobs.yaml").write_text(JOBS)
    out(tmp_path, "apply", "jobs.yaml")
    first, last = datetime(2026, 6, 1, 3, tzinfo=UTC), datetime(2026, 6, 1, 9, tzinfo=UTC)
    database = Database(f"sqlite:///{tmp_path / 'cronwell.db'}")
    with database.transaction() as connection:
        job_id = get_job(connection, "sync").id
        missed = NewRun(job_id, last, Trigger.MISFIRE, "default", 2, 3, RunStatus.SKIPPED)
        spanned = replace(missed, reason="missed", covers=7, covers_from=first)
        insert_runs(connection, [spanned], last)
    database.dispose()
    (shown,) = json.loads(out(tmp_path, "runs", "list", "--json", "--job", "sync"))
    assert (shown["reason"], shown["covers"]) == ("missed", 7)
    assert shown["covers_from"] == "2026-06-01T03:00:00+00:00"
    table = out(tmp_path, "jobs", "history", "sync")
    assert "missed: 7 due times from 2026-06-01 03:00:00Z" in table


def test_a_trigger_may_respect_the_jobs_overlap_policy(tmp_path: Path) -> None:
    (tmp_path / "jobs.yaml").write_text(JOBS)
    out(tmp_path, "apply", "jobs.yaml")
    assert out(tmp_path, "jobs", "trigger", "sync") == "sync: run 1 created"
    assert out(tmp_path, "jobs", "trigger", "sync") == "sync: run 2 created"
    skipped = out(tmp_path, "jobs", "trigger", "sync", "--respect-overlap")
    assert skipped == "sync: run 3 skipped (overlap)"
