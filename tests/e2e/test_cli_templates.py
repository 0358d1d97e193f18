"""Templates in a jobs file: ``cronwell apply`` stores them, jobs start from them, and
``cronwell templates`` shows them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli_apply import cronwell

JOBS = """
templates:
  - name: nightly
    description: the 02:30 batch
    schedule: "30 2 * * *"
    timezone: Europe/Berlin
    retry: {strategy: fixed, max_attempts: 5}
    queue: nightly
jobs:
  - name: backup
    template: nightly
    command: backup.sh
    retry: {max_attempts: 2}
  - name: vacuum
    template: nightly
    command: vacuum.sh
    queue: maintenance
"""


def definition(cwd: Path, job: str) -> dict[str, object]:
    shown = cronwell(cwd, "jobs", "show", job)
    assert shown.returncode == 0, shown.stderr
    found: dict[str, object] = json.loads(shown.stdout)["definition"]
    return found


def test_apply_stores_templates_and_jobs_follow_them(tmp_path: Path) -> None:
    (tmp_path / "jobs.yaml").write_text(JOBS)
    done = cronwell(tmp_path, "apply", "jobs.yaml")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "template nightly: stored",
        "backup: created",
        "vacuum: created",
    ]
    backup = definition(tmp_path, "backup")
    assert (backup["queue"], backup["timezone"], backup["schedule"]) == (
        "nightly",
        "Europe/Berlin",
        "30 2 * * *",
    )
    assert backup["retry"] == {**backup["retry"], "strategy": "fixed", "max_attempts": 2}  # type: ignore[dict-item]
    assert cronwell(tmp_path, "apply", "jobs.yaml").stdout.splitlines() == [
        "backup: unchanged",
        "vacuum: unchanged",
    ]
    listed = json.loads(cronwell(tmp_path, "templates", "list", "--json").stdout)
    assert [(row["name"], row["jobs"]) for row in listed] == [("nightly", "backup, vacuum")]
    changed = JOBS.replace('"30 2 * * *"', '"0 4 * * *"')
    (tmp_path / "jobs.yaml").write_text(changed)
    assert cronwell(tmp_path, "apply", "jobs.yaml").stdout.splitlines() == [
        "template nightly: stored",
        "backup: updated",
        "vacuum: updated",
    ]
    assert definition(tmp_path, "vacuum")["schedule"] == "0 4 * * *"
    assert definition(tmp_path, "vacuum")["queue"] == "maintenance"


def test_bad_templates_exit_2_naming_the_field(tmp_path: Path) -> None:
    bad = JOBS.replace("queue: nightly", "queue: 'no spaces'").replace(
        "template: nightly\n    command: vacuum.sh", "template: weekly\n    command: vacuum.sh"
    )
    (tmp_path / "jobs.yaml").write_text(bad)
    done = cronwell(tmp_path, "apply", "jobs.yaml")
    assert done.returncode == 2
    assert done.stderr.startswith("cronwell: templates[0].queue: 'no spaces' must start")
    assert "Traceback" not in done.stderr
    (tmp_path / "jobs.yaml").write_text(
        JOBS.replace(
            "template: nightly\n    command: vacuum", "template: weekly\n    command: vacuum"
        )
    )
    done = cronwell(tmp_path, "apply", "jobs.yaml")
    assert (done.returncode, done.stderr) == (
        2,
        "cronwell: jobs[1].template: no template named 'weekly'\n",
    )
    assert json.loads(cronwell(tmp_path, "templates", "list", "--json").stdout) == []


def test_templates_show_and_delete(tmp_path: Path) -> None:
    (tmp_path / "jobs.yaml").write_text(JOBS)
    cronwell(tmp_path, "apply", "jobs.yaml")
    shown = json.loads(cronwell(tmp_path, "templates", "show", "nightly").stdout)
    assert (shown["queue"], shown["jobs"]) == ("nightly", ["backup", "vacuum"])
    refused = cronwell(tmp_path, "templates", "delete", "nightly")
    assert (refused.returncode, refused.stderr) == (
        2,
        "cronwell: TEMPLATE: template 'nightly' is used by backup, vacuum\n",
    )
    missing = cronwell(tmp_path, "templates", "show", "weekly")
    assert (missing.returncode, missing.stderr) == (
        2,
        "cronwell: TEMPLATE: no template named 'weekly'\n",
    )
