"""Operating jobs from the command line: trigger, pause, resume, show, delete, dead letters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
        "doomed: recovered, run "
    )
    assert json.loads(out(tmp_path, "jobs", "show", "doomed"))["enabled"] is True
    retried = json.loads(out(tmp_path, "runs", "list", "--json", "--job", "doomed"))
    assert [run["trigger"] for run in retried] == ["retry", "manual"]


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
