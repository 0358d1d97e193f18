"""``cronwell jobs graph`` and the dependency checks of ``apply`` and ``jobs delete``, through
the real command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
