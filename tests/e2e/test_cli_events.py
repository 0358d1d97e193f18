"""``cronwell events``: fire an event from the command line, list and show the events fired,
in real processes over a real store; bad input exits 2 with one line."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest

from tests.e2e.test_cli_jobs import cronwell, out

JOBS = """
jobs:
  - name: reorder
    command: 'printf "%s" "$CRONWELL_EVENT_PAYLOAD"'
    schedule:
      event: inventory.low_stock
  - name: page
    command: "true"
    schedule: "event: inventory.low_stock"
    enabled: false
  - name: restock
    command: "true"
    schedule: event inventory.restocked
"""


@pytest.fixture
def project(tmp_path: Path, database_url: str) -> tuple[Path, str]:
    (tmp_path / "jobs.yaml").write_text(JOBS)
    out(tmp_path, "apply", "jobs.yaml", "--database", database_url)
    return tmp_path, database_url


def test_fire_runs_the_listening_jobs_and_the_worker_gives_them_the_payload(
    project: tuple[Path, str],
) -> None:
    cwd, url = project
    said = out(
        cwd, "events", "fire", "inventory.low_stock", "--data", '{"sku": "A-17"}', "--database", url
    )
    assert said.splitlines() == ["event 1 inventory.low_stock: 1 run", "  run 1: reorder pending"]
    out(cwd, "run", "--for", "2", "--no-examples", "--database", url)
    shown = json.loads(out(cwd, "runs", "show", "1", "--database", url))
    assert (shown["job"], shown["trigger"], shown["status"]) == ("reorder", "event", "succeeded")
    assert json.loads(shown["attempt_details"][0]["output"]) == {"sku": "A-17"}


def test_fired_events_are_listed_newest_first_and_shown_with_their_runs(
    project: tuple[Path, str],
) -> None:
    cwd, url = project
    fired = json.loads(
        out(
            cwd, "events", "fire", "inventory.low_stock", "--json", "--by", "ops", "--database", url
        )
    )
    assert [(run["job"], run["status"]) for run in fired["runs"]] == [("reorder", "pending")]
    assert out(cwd, "events", "fire", "nobody.listens", "--database", url) == (
        "event 2 nobody.listens: stored; no enabled job listens to it"
    )
    listed = json.loads(out(cwd, "events", "list", "--json", "--database", url))
    assert [(row["id"], row["name"], row["runs"]) for row in listed] == [
        (2, "nobody.listens", 0),
        (1, "inventory.low_stock", 1),
    ]
    assert [row["fired_by"] for row in listed] == [getpass.getuser(), "ops"]
    named = json.loads(
        out(cwd, "events", "list", "--name", "nobody.listens", "--json", "--database", url)
    )
    assert [row["id"] for row in named] == [2]
    shown = json.loads(out(cwd, "events", "show", "1", "--database", url))
    assert (shown["name"], shown["payload"], shown["runs"]) == ("inventory.low_stock", None, 1)
    assert [(run["id"], run["job"]) for run in shown["run_details"]] == [
        (fired["runs"][0]["id"], "reorder")
    ]
    table = out(cwd, "events", "list", "--database", url).splitlines()
    assert table[0].split() == ["id", "name", "fired_at", "fired_by", "runs"]


def test_a_paused_job_runs_on_events_once_resumed(project: tuple[Path, str]) -> None:
    cwd, url = project
    out(cwd, "jobs", "resume", "page", "--database", url)
    said = out(cwd, "events", "fire", "inventory.low_stock", "--database", url)
    assert said.splitlines() == [
        "event 1 inventory.low_stock: 2 runs",
        "  run 1: reorder pending",
        "  run 2: page pending",
    ]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["fire", "inventory.low_stock", "--data", "{bad"],
            "cronwell: --data: is not JSON (Expecting property name enclosed in double quotes:"
            " line 1 column 2 (char 1))",
        ),
        (["fire", "inventory.low_stock", "--data", "NaN"], "cronwell: --data: is not JSON"),
        (["fire", "bad name"], "cronwell: NAME: 'bad name' is not an event name"),
        (["fire", "x", "--data", "@missing.json"], "cronwell: --data: cannot read missing.json"),
        (["show", "99"], "cronwell: EVENT: event 99 does not exist"),
        (["list", "--limit", "0"], "cronwell: Invalid value for '--limit': 0 is not in the range"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_stores_nothing(
    project: tuple[Path, str], args: list[str], line: str
) -> None:
    cwd, url = project
    done = cronwell(cwd, "events", *args, "--database", url)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(line)
    assert json.loads(out(cwd, "events", "list", "--json", "--database", url)) == []
