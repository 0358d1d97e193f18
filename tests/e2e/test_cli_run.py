"""``cronwell run`` from an empty directory: example jobs fire, and their history is readable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

CRONWELL = [sys.executable, "-c", "from cronwell.cli import entry_point; entry_point()"]


def cronwell(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "CRONWELL_DATABASE_URL"}
    command = [*CRONWELL, *args]
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def test_run_fires_the_example_jobs_and_records_their_history(tmp_path: Path) -> None:
    done = cronwell(tmp_path, "run", "--for", "12")
    assert done.returncode == 0, done.stderr
    assert "adding 3 example jobs (heartbeat, disk-report, flaky-sync)" in done.stdout
    assert "heartbeat      succeeded" in done.stdout
    assert done.stdout.rstrip().endswith("stopped.")
    assert (tmp_path / "cronwell.db").exists()

    listed = json.loads(cronwell(tmp_path, "runs", "list", "--json").stdout)
    assert listed, "the runs are in the store"
    fields = {"id", "job", "scheduled_for", "status", "attempts", "trigger"}
    assert fields | {"started_at", "finished_at"} <= set(listed[0])
    assert {run["job"] for run in listed} >= {"heartbeat"}
    assert all(run["trigger"] == "schedule" for run in listed)

    jobs = json.loads(cronwell(tmp_path, "jobs", "list", "--json").stdout)
    assert [job["name"] for job in jobs] == ["disk-report", "flaky-sync", "heartbeat"]
    assert {"name", "schedule", "enabled", "next_due_at"} <= set(jobs[0])


def test_a_second_start_adds_no_examples(tmp_path: Path) -> None:
    cronwell(tmp_path, "db", "upgrade")
    first = cronwell(tmp_path, "run", "--for", "1")
    second = cronwell(tmp_path, "run", "--for", "1")
    assert "adding 3 example jobs" in first.stdout
    assert "example" not in second.stdout


def test_a_bad_database_url_exits_2_in_one_line(tmp_path: Path) -> None:
    done = cronwell(tmp_path, "jobs", "list", "--database", "mysql://nowhere/db")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "cronwell: --database: unsupported backend 'mysql'; use sqlite:///FILE or postgresql://..."
    )
    assert done.stdout == ""


def test_a_second_ctrl_c_hands_back_the_runs_in_flight_at_once(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "CRONWELL_DATABASE_URL"}
    (tmp_path / "jobs.yaml").write_text("jobs:\n  - name: slow\n    command: sleep 60\n")
    cronwell(tmp_path, "apply", "jobs.yaml")
    cronwell(tmp_path, "jobs", "trigger", "slow")
    command = [*CRONWELL, "run", "--no-examples", "--no-web", "--grace", "120"]
    pipe = subprocess.PIPE
    with subprocess.Popen(command, cwd=tmp_path, env=env, stdout=pipe, text=True) as running:
        assert running.stdout is not None
        assert "Ctrl-C stops it" in running.stdout.readline()
        _wait_for_status(tmp_path, "running")
        running.send_signal(signal.SIGINT)
        assert "120 s to finish" in running.stdout.readline()
        running.send_signal(signal.SIGINT)
        assert running.wait(timeout=30) == 0, "it did not wait out the grace period"
        assert "1 run(s) in flight handed back" in running.stdout.read()
    shown = json.loads(cronwell(tmp_path, "runs", "show", "1").stdout)
    assert (shown["status"], shown["attempt_details"][0]["status"]) == ("retrying", "interrupted")


def _wait_for_status(cwd: Path, status: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        listed = json.loads(cronwell(cwd, "runs", "list", "--json").stdout)
        if listed and listed[0]["status"] == status:
            return
        assert time.monotonic() < deadline, f"no run became {status}"
        time.sleep(0.2)


def test_a_task_process_dies_with_its_killed_worker(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "CRONWELL_DATABASE_URL"}
    (tmp_path / "naps.py").write_text("import time\n\ndef nap():\n    time.sleep(60)\n")
    (tmp_path / "jobs.yaml").write_text("jobs:\n  - name: slow\n    task: naps:nap\n")
    cronwell(tmp_path, "apply", "jobs.yaml")
    cronwell(tmp_path, "jobs", "trigger", "slow")
    command = [*CRONWELL, "run", "--no-examples"]
    quiet = subprocess.DEVNULL
    with subprocess.Popen(command, cwd=tmp_path, env=env, stdout=quiet) as running:
        _wait_for_status(tmp_path, "running")
        (child,) = _children(running.pid, "cronwell.engine.child")
        running.kill()
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and _state(child) != "Z":
        assert time.monotonic() < deadline, "the task's process outlived its worker"
        time.sleep(0.05)


def _children(parent: int, pattern: str) -> list[int]:
    found = subprocess.run(
        ["pgrep", "-P", str(parent), "-f", pattern], capture_output=True, text=True, check=False
    )
    return [int(pid) for pid in found.stdout.split()]


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
