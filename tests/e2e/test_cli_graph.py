"""``cronwell jobs graph`` and the dependency checks of ``apply`` and ``jobs delete``, through
the real command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.processes import Process, Store, eventually

CRONWELL = [sys.executable, "-c", "from cronwell.cli import entry_point; entry_point()"]

CHAIN = """
jobs:
  - name: load
    command: "true"
    depends_on: [transform, {job: audit, on: completion}]
  - name: transform
    command: "true"
    depends_on: [extract]
  - name: extract
    command: "true"
    schedule: "0 3 * * *"
    fallback: [page]
  - name: audit
    command: "true"
  - name: page
    command: "true"
"""
CYCLE = """
jobs:
  - name: transform
    command: "true"
    depends_on: [extract]
  - name: extract
    command: "true"
    depends_on: [{job: transform, on: failure}]
"""


def cronwell(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "CRONWELL_DATABASE_URL"}
    command = [*CRONWELL, *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, check=False)


def test_graph_prints_each_job_after_its_upstreams_as_text_and_dot(tmp_path: Path) -> None:
    (tmp_path / "jobs.yaml").write_text(CHAIN)
    assert cronwell(tmp_path, "apply", "jobs.yaml").returncode == 0
    text = cronwell(tmp_path, "jobs", "graph")
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines() == [
        "audit",
        "extract",
        "page <- extract (fallback)",
        "transform <- extract (success)",
        "load <- audit (completion), transform (success)",
    ]
    dot = cronwell(tmp_path, "jobs", "graph", "--dot").stdout.splitlines()
    assert dot[0] == "digraph cronwell {" and dot[-1] == "}"
    assert '  "audit" -> "load" [label="completion"];' in dot
    assert '  "extract" -> "page" [label="fallback", style=dashed];' in dot
    assert '  "extract" -> "transform" [label="success"];' in dot


def test_apply_refuses_a_cycle_with_exit_2_naming_it_and_stores_nothing(tmp_path: Path) -> None:
    (tmp_path / "jobs.yaml").write_text(CYCLE)
    done = cronwell(tmp_path, "apply", "jobs.yaml")
    assert done.returncode == 2
    assert done.stderr == ("cronwell: jobs[1].depends_on: cycle: extract -> transform -> extract\n")
    assert done.stdout == ""
    assert cronwell(tmp_path, "jobs", "graph").stdout == "no jobs\n"


def test_deleting_a_job_others_need_exits_2_naming_them(tmp_path: Path) -> None:
    (tmp_path / "jobs.yaml").write_text(CHAIN)
    assert cronwell(tmp_path, "apply", "jobs.yaml").returncode == 0
    done = cronwell(tmp_path, "jobs", "delete", "extract")
    assert (done.returncode, done.stderr) == (
        2,
        "cronwell: extract: cannot be deleted: needed by transform\n",
    )


def test_a_worker_process_runs_a_chain_from_one_triggered_run(
    database_url: str, tmp_path: Path
) -> None:
    """A real ``cronwell worker``: the run it ends makes the next one, which it (or any
    worker, woken by the store's signal) claims."""
    (tmp_path / "jobs.yaml").write_text(
        "jobs:\n"
        "  - {name: extract, command: 'true'}\n"
        "  - {name: transform, command: 'true', depends_on: [extract]}\n"
        "  - {name: load, command: 'true', depends_on: [{job: transform, on: success}]}\n"
    )
    assert cronwell(tmp_path, "apply", "jobs.yaml", "--database", database_url).returncode == 0
    with (
        Store(database_url) as store,
        Process(tmp_path, "worker", "worker", "--database", database_url) as worker,
    ):
        worker.wait_up()
        done = cronwell(tmp_path, "jobs", "trigger", "extract", "--database", database_url)
        assert done.returncode == 0, done.stderr
        eventually(lambda: len(store.runs()) == 3 and store.all_ended(), 30, "the chain ran")
        assert worker.terminate() < 10
        found = {run.job: run for run in store.runs()}
    assert {run.status for run in found.values()} == {"succeeded"}
    assert [found[name].trigger for name in ("extract", "transform", "load")] == [
        "manual",
        "dependency",
        "dependency",
    ]
    assert len({run.scheduled_for for run in found.values()}) == 1
