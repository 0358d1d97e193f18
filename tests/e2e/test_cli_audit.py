"""``cronwell audit`` and what the commands show with secrets masked, in real processes over
a real store: changes made from the CLI are recorded by the user running it, via ``cli``;
bad filters exit 2 with one line."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest

from tests.e2e.test_cli_jobs import cronwell, out

JOBS = """
templates:
  - name: warehouse
    env: {WAREHOUSE_TOKEN: w-1, REGION: eu}
jobs:
  - name: sync
    command: 'echo "connecting with password=hunter2"'
    kwargs: {api_key: k-123, region: eu}
    env: {DB_PASSWORD: p-456}
  - name: restock
    command: "true"
    schedule: event stock.low
"""


@pytest.fixture
def project(tmp_path: Path, database_url: str) -> tuple[Path, str]:
    (tmp_path / "jobs.yaml").write_text(JOBS)
    out(tmp_path, "apply", "jobs.yaml", "--database", database_url)
    return tmp_path, database_url


def test_changes_from_the_cli_are_read_back_newest_first_and_by_filter(
    project: tuple[Path, str],
) -> None:
    cwd, url = project
    out(cwd, "jobs", "pause", "sync", "--database", url)
    out(cwd, "jobs", "resume", "sync", "--database", url)
    found = json.loads(out(cwd, "audit", "--json", "--database", url))
    assert [(r["action"], r["object_id"]) for r in found] == [
        ("job.resume", "sync"),
        ("job.pause", "sync"),
        ("job.create", "restock"),
        ("job.create", "sync"),
        ("template.create", "warehouse"),
    ]
    assert {(r["actor"], r["via"]) for r in found} == {(getpass.getuser(), "cli")}
    created = found[-2]
    assert created["after"]["kwargs"] == {"api_key": "***", "region": "eu"}
    assert created["after"]["env"] == {"DB_PASSWORD": "***"}
    paused = json.loads(out(cwd, "audit", "--action", "job.pause", "--json", "--database", url))
    assert [(r["action"], r["before"], r["after"]) for r in paused] == [
        (
            "job.pause",
            {"is_enabled": True, "dead_reason": None},
            {"is_enabled": False, "dead_reason": None},
        )
    ]
    on_sync = json.loads(out(cwd, "audit", "--object", "job:sync", "--json", "--database", url))
    assert len(on_sync) == 3
    assert json.loads(out(cwd, "audit", "--limit", "1", "--json", "--database", url))[0] == found[0]
    later = json.loads(out(cwd, "audit", "--since", "2999-01-01", "--json", "--database", url))
    assert later == []
    table = out(cwd, "audit", "--actor", getpass.getuser(), "--database", url)
    assert "job:sync" in table and "job.resume" in table


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--action", "job.explode"], "cronwell: --action: unknown action 'job.explode'"),
        (["--object", "planet:earth"], "cronwell: --object: unknown type 'planet'"),
        (["--object", "job:"], "cronwell: --object: 'job:' names no object after the colon"),
        (["--since", "yesterday"], "cronwell: --since: 'yesterday' is not an ISO 8601"),
        (["--limit", "0"], "--limit"),
    ],
)
def test_a_bad_filter_exits_2_with_one_line(
    project: tuple[Path, str], args: list[str], said: str
) -> None:
    cwd, url = project
    done = cronwell(cwd, "audit", *args, "--database", url)
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert said in line


def test_what_the_commands_show_has_its_secrets_masked(project: tuple[Path, str]) -> None:
    cwd, url = project
    shown = json.loads(out(cwd, "jobs", "show", "sync", "--database", url))
    assert shown["definition"]["kwargs"] == {"api_key": "***", "region": "eu"}
    assert shown["definition"]["env"] == {"DB_PASSWORD": "***"}
    (cwd / "jobs.yaml").write_text(JOBS.replace("k-123", "k-789"))
    out(cwd, "apply", "jobs.yaml", "--database", url)
    diff = out(cwd, "jobs", "diff", "sync", "1", "--database", url)
    assert '"api_key": "*** (changed)"' in diff and "k-" not in diff
    version = json.loads(out(cwd, "jobs", "versions", "sync", "1", "--database", url))
    assert version["definition"]["kwargs"]["api_key"] == "***"
    template = json.loads(out(cwd, "templates", "show", "warehouse", "--database", url))
    assert template["env"] == {"WAREHOUSE_TOKEN": "***", "REGION": "eu"}
    out(
        cwd,
        "events",
        "fire",
        "stock.low",
        "--data",
        '{"sku": "A", "token": "t-1"}',
        "--database",
        url,
    )
    event = json.loads(out(cwd, "events", "show", "1", "--database", url))
    assert event["payload"] == {"sku": "A", "token": "***"}
    (listed,) = json.loads(out(cwd, "events", "list", "--json", "--database", url))
    assert listed["payload"] == {"sku": "A", "token": "***"}
    out(cwd, "exec", "sync", "--database", url)
    (ran,) = json.loads(out(cwd, "runs", "list", "--json", "--job", "sync", "--database", url))
    run = json.loads(out(cwd, "runs", "show", str(ran["id"]), "--database", url))
    assert run["status"] == "succeeded"
    assert run["attempt_details"][0]["output"].strip() == "connecting with password=***"
