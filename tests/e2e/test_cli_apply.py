"""``cronwell apply``: a jobs file in, the store made to match it, idempotently."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CRONWELL = [sys.executable, "-c", "from cronwell.cli import entry_point; entry_point()"]

JOBS = """
jobs:
  - name: nightly-report
    task: reports:nightly
    schedule: "30 2 * * *"
    timezone: Europe/London
    retry: {max_attempts: 5}
  - name: cleanup
    command: "rm -rf /tmp/cache"
    schedule: every 1h
"""
CLEANUP_ONLY = """
jobs:
  - name: cleanup
    command: "rm -rf /tmp/cache"
    schedule: every 2h
"""
TASKS = "def nightly() -> None:\n    pass\n"


def cronwell(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "CRONWELL_DATABASE_URL"}
    command = [*CRONWELL, *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, check=False)


def jobs_in(cwd: Path) -> dict[str, int]:
    listed = json.loads(cronwell(cwd, "jobs", "list", "--json").stdout)
    return {job["name"]: job["version"] for job in listed}


def test_apply_creates_updates_and_prunes_idempotently(tmp_path: Path) -> None:
    (tmp_path / "reports.py").write_text(TASKS)
    (tmp_path / "jobs.yaml").write_text(JOBS)
    assert cronwell(tmp_path, "apply", "jobs.yaml", "--dry-run").stdout.splitlines() == [
        "nightly-report: would be created",
        "cleanup: would be created",
    ]
    assert jobs_in(tmp_path) == {}, "a dry run changes nothing"
    done = cronwell(tmp_path, "apply", "jobs.yaml")
    assert done.returncode == 0, done.stderr
    assert jobs_in(tmp_path) == {"cleanup": 1, "nightly-report": 1}
    again = cronwell(tmp_path, "apply", "jobs.yaml").stdout.splitlines()
    assert again == ["nightly-report: unchanged", "cleanup: unchanged"]
    (tmp_path / "jobs.yaml").write_text(JOBS.replace("every 1h", "every 2h"))
    assert cronwell(tmp_path, "apply", "jobs.yaml").stdout.splitlines() == [
        "cleanup: updated",
        "nightly-report: unchanged",
    ]
    assert jobs_in(tmp_path) == {"cleanup": 2, "nightly-report": 1}
    (tmp_path / "jobs.yaml").write_text(CLEANUP_ONLY)
    assert cronwell(tmp_path, "apply", "jobs.yaml", "--prune").stdout.splitlines() == [
        "nightly-report: deleted",
        "cleanup: unchanged",
    ]
    assert jobs_in(tmp_path) == {"cleanup": 2}


def test_an_invalid_file_lists_every_problem_and_applies_nothing(tmp_path: Path) -> None:
    bad = JOBS.replace('"30 2 * * *"', '"61 2 * * *"').replace("every 1h", "every never")
    bad += "  - name: lost\n    task: nowhere.module:function\n"
    (tmp_path / "jobs.yaml").write_text(bad)
    done = cronwell(tmp_path, "apply", "jobs.yaml")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "cronwell: jobs[0].schedule: minute field: 61 is out of range 0-59",
        "cronwell: jobs[1].schedule: every: 'never' is not a duration like 90s, 5m, 2h or 1d",
    ]
    assert jobs_in(tmp_path) == {}


def test_unimportable_tasks_and_broken_yaml_exit_2(tmp_path: Path) -> None:
    (tmp_path / "jobs.yaml").write_text(
        "jobs:\n  - name: lost\n    task: nowhere.module:function\n"
    )
    done = cronwell(tmp_path, "apply", "jobs.yaml")
    assert done.returncode == 2
    assert done.stderr.startswith("cronwell: jobs[0].task: task 'nowhere.module:function' cannot")
    (tmp_path / "broken.yaml").write_text("jobs: [\n")
    done = cronwell(tmp_path, "apply", "broken.yaml")
    assert (done.returncode, done.stderr) == (
        2,
        "cronwell: broken.yaml: not valid YAML at line 2\n",
    )
    assert jobs_in(tmp_path) == {}


APP = """
from cronwell import Cronwell

app = Cronwell()


@app.task(name="greet")
def say_hello() -> None:
    print("hello from the app")
"""
GREET = """
jobs:
  - name: greeting
    task: greet
    mode: thread
"""


def test_registered_names_come_from_the_app_and_thread_tasks_import_from_here(
    tmp_path: Path,
) -> None:
    # The installed console script, not ``python -c``: only it lacks the directory on its path.
    script = str(Path(sys.executable).parent / "cronwell")
    env = {key: value for key, value in os.environ.items() if key != "CRONWELL_DATABASE_URL"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [script, *args], cwd=tmp_path, capture_output=True, text=True, env=env, check=False
        )

    (tmp_path / "tasks_app.py").write_text(APP)
    (tmp_path / "jobs.yaml").write_text(GREET)
    refused = run("apply", "jobs.yaml")
    assert refused.returncode == 2
    assert "jobs[0].task: task 'greet' is not registered" in refused.stderr
    assert run("apply", "jobs.yaml", "--app", "tasks_app:app").stdout == "greeting: created\n"
    shown = json.loads(run("jobs", "show", "greeting").stdout)
    assert shown["definition"]["task"] == "tasks_app:say_hello"
    run("jobs", "trigger", "greeting")
    run("run", "--for", "2", "--no-examples")
    ran = json.loads(run("runs", "show", "1").stdout)
    assert ran["status"] == "succeeded", ran["attempt_details"]
    bad = run("apply", "jobs.yaml", "--app", "nowhere:app")
    assert (bad.returncode, bad.stderr.splitlines()[0][:40]) == (
        2,
        "cronwell: --app: 'nowhere:app' cannot be",
    )


def test_a_task_module_that_fails_on_import_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("raise RuntimeError('no config file')\n")
    (tmp_path / "jobs.yaml").write_text("jobs:\n  - name: b\n    task: broken:run\n")
    done = cronwell(tmp_path, "apply", "jobs.yaml")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "cronwell: jobs[0].task: task 'broken:run' failed on import: RuntimeError: no config file\n"
    )
