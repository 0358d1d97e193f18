"""A scheduler and a worker as separate processes on one store: every due second runs once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

CRONWELL = [sys.executable, "-c", "from cronwell.cli import entry_point; entry_point()"]
JOBS = """
jobs:
  - name: every-second
    command: "true"
    schedule: "* * * * * *"
    overlap: allow
"""


def test_separate_scheduler_and_worker_processes_share_one_sqlite_store(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "CRONWELL_DATABASE_URL"}
    (tmp_path / "jobs.yaml").write_text(JOBS)
    apply = [*CRONWELL, "apply", "jobs.yaml"]
    subprocess.run(apply, cwd=tmp_path, env=env, check=True, capture_output=True)
    parts = [["scheduler", "--for", "6"], ["worker", "--for", "7"]]
    pipe = subprocess.PIPE
    processes = [
        subprocess.Popen(
            [*CRONWELL, *part], cwd=tmp_path, env=env, stdout=pipe, stderr=pipe, text=True
        )
        for part in parts
    ]
    for process in processes:
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        assert stdout.rstrip().endswith("stopped.")
    command = [*CRONWELL, "runs", "list", "--json", "--limit", "100"]
    listed = subprocess.run(
        command, cwd=tmp_path, env=env, check=True, capture_output=True, text=True
    ).stdout
    runs = sorted(json.loads(listed), key=lambda run: run["scheduled_for"])
    due = [datetime.fromisoformat(run["scheduled_for"]) for run in runs]
    assert len(due) >= 4, "the scheduler fired while it ran"
    assert len(set(due)) == len(due), "no due second fired twice"
    assert all(b - a == timedelta(seconds=1) for a, b in pairwise(due)), "none was lost"
    finished = [run for run in runs if run["status"] == "succeeded"]
    assert len(finished) >= len(runs) - 1, "the worker process ran them"
