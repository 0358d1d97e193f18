"""``cronwell crontab import|export`` and ``cronwell exec`` as real commands: a crontab becomes
jobs ``cronwell apply`` takes and that fall due when cron would fire them; stored jobs become
crontab lines; ``cronwell exec`` runs a job once, records it, and exits with its status."""

from __future__ import annotations

import json
import shlex
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from cronwell.store.database import Database
from cronwell.store.history import AttemptRow, RunRow, attempts_of, list_runs
from tests.e2e.processes import CRONWELL, apply_job, environment

CRONTAB = r"""# m h  dom mon dow   command
SHELL=/bin/bash
PATH="/usr/local/bin:/usr/bin:/bin"
MAILTO=ops@example.com
CRON_TZ=Europe/Berlin

# nightly backup, weekdays only
30 2 * * 1-5   /usr/local/bin/backup.sh --full >> /var/log/backup.log 2>&1
*/15 9-17 * jan-mar mon,wed  python3 /srv/app/sync.py
@weekly  cd /srv/app && ./cleanup.sh
@reboot /usr/bin/start-agent
CRON_TZ=America/New_York
0 12 13 * fri  /usr/local/bin/backup.sh --incremental
0 6 * * * cat%first line%second: 100\% sure
0 0 L * * /usr/bin/month-end
61 * * * * /usr/bin/broken
"""


def cronwell(
    cwd: Path, *args: str, stdin: str | None = None, zone: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = environment() | ({"TZ": zone} if zone else {})
    return subprocess.run(
        [*CRONWELL, *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- import -----------------------------------------------------------------------------------


def test_import_writes_a_jobs_file_and_lists_every_line_left(tmp_path: Path) -> None:
    (tmp_path / "crontab").write_text(CRONTAB)
    done = cronwell(
        tmp_path, "crontab", "import", "crontab", "--timezone", "UTC", "-o", "jobs.yaml"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "line 11: not translated: @reboot is not supported: cronwell fires jobs on a clock, "
        "not at boot: @reboot /usr/bin/start-agent",
        "line 15: not translated: day-of-month field: 'L' is not cron syntax: "
        "0 0 L * * /usr/bin/month-end",
        "line 16: not translated: minute field: 61 is out of range 0-59: "
        "61 * * * * /usr/bin/broken",
        "5 jobs translated, 3 line(s) not translated",
    ]
    jobs = yaml.safe_load((tmp_path / "jobs.yaml").read_text())["jobs"]
    assert [job["name"] for job in jobs] == ["backup", "sync", "cleanup", "backup-2", "cat"]


def test_strict_import_exits_1_and_still_writes(tmp_path: Path) -> None:
    (tmp_path / "crontab").write_text(CRONTAB)
    done = cronwell(tmp_path, "crontab", "import", "crontab", "--strict", "--timezone", "UTC")
    assert done.returncode == 1
    assert yaml.safe_load(done.stdout)["jobs"][0]["name"] == "backup"


def test_import_of_nothing_translatable_exits_1(tmp_path: Path) -> None:
    done = cronwell(tmp_path, "crontab", "import", "-", "--timezone", "UTC", stdin="@reboot x\n")
    assert (done.returncode, yaml.safe_load(done.stdout)["jobs"]) == (1, [])


def test_import_of_a_system_crontab_reads_the_user_column(tmp_path: Path) -> None:
    system = "SHELL=/bin/sh\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n"
    done = cronwell(
        tmp_path, "crontab", "import", "-", "--system", "--timezone", "UTC", stdin=system
    )
    assert done.returncode == 0, done.stderr
    (job,) = yaml.safe_load(done.stdout)["jobs"]
    assert (job["name"], job["command"]) == (
        "cron-hourly",
        "cd / && run-parts --report /etc/cron.hourly",
    )
    assert job["metadata"]["crontab_user"] == "root"
    assert "line 2: note: cron ran it as root; cronwell runs it as the worker's user" in done.stderr


def test_without_timezone_the_jobs_get_this_machines_zone(tmp_path: Path) -> None:
    done = cronwell(tmp_path, "crontab", "import", "-", stdin="0 9 * * * true\n", zone="Asia/Tokyo")
    assert yaml.safe_load(done.stdout)["jobs"][0]["timezone"] == "Asia/Tokyo"
    assert "timezone: Asia/Tokyo (this machine's; --timezone to change)" in done.stderr


def test_a_prefix_keeps_imported_names_apart(tmp_path: Path) -> None:
    done = cronwell(tmp_path, "crontab", "import", "-", "--prefix", "cron.", stdin="@daily a.sh\n")
    assert yaml.safe_load(done.stdout)["jobs"][0]["name"] == "cron.a"
    bad = cronwell(tmp_path, "crontab", "import", "-", "--prefix", "-x", stdin="@daily a.sh\n")
    assert (bad.returncode, bad.stdout) == (2, "")
    assert bad.stderr.startswith("cronwell: --prefix: '-x' must start with a letter or digit")


def test_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    missing = cronwell(tmp_path, "crontab", "import", "nowhere")
    assert (missing.returncode, missing.stderr) == (
        2,
        "cronwell: FILE: nowhere cannot be read (No such file or directory)\n",
    )
    (tmp_path / "crontab").write_text(CRONTAB)
    zone = cronwell(tmp_path, "crontab", "import", "crontab", "--timezone", "Mars/Olympus")
    assert zone.returncode == 2
    assert zone.stderr.startswith("cronwell: --timezone: ") and zone.stderr.count("\n") == 1


def test_the_imported_jobs_apply_and_fall_due_when_cron_fires(tmp_path: Path) -> None:
    (tmp_path / "crontab").write_text(CRONTAB)
    imported = cronwell(tmp_path, "crontab", "import", "crontab", "--timezone", "UTC")
    (tmp_path / "jobs.yaml").write_text(imported.stdout)
    database = f"sqlite:///{tmp_path / 'cronwell.db'}"
    before = datetime.now(UTC)
    applied = cronwell(tmp_path, "apply", "jobs.yaml", "--database", database)
    after = datetime.now(UTC)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.splitlines() == [
        f"{name}: created" for name in ("backup", "sync", "cleanup", "backup-2", "cat")
    ]
    listed = cronwell(tmp_path, "jobs", "list", "--json", "--database", database)
    due = {
        job["name"]: datetime.fromisoformat(job["next_due_at"]) for job in json.loads(listed.stdout)
    }
    for name, fields, zone in [
        ("backup", "30 2 * * 1-5", "Europe/Berlin"),
        ("cleanup", "0 0 * * 0", "Europe/Berlin"),  # @weekly
        ("backup-2", "0 12 13 * fri", "America/New_York"),
        ("cat", "0 6 * * *", "America/New_York"),
    ]:
        # Due after the apply's own now, which lies between before and after.
        expected = {
            cron_next(fields, ZoneInfo(zone), before),
            cron_next(fields, ZoneInfo(zone), after),
        }
        assert due[name] in expected, name


def cron_next(fields: str, zone: ZoneInfo, after: datetime) -> datetime:
    """The first minute after ``after`` whose wall time in ``zone`` the five cron fields
    match, read as Vixie cron reads them; a walk, minute by minute (no DST gap in these)."""
    minute, hour, dom, month, dow = fields.split()
    instant = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(60 * 24 * 40):
        wall = instant.astimezone(zone)
        weekday = (wall.weekday() + 1) % 7
        by_date, by_weekday = wall.day in values(dom, 1, 31), weekday in values(dow, 0, 7)
        is_and = dom.startswith("*") or dow.startswith("*")
        is_day = (by_date and by_weekday) if is_and else (by_date or by_weekday)
        if (
            wall.minute in values(minute, 0, 59)
            and wall.hour in values(hour, 0, 23)
            and wall.month in values(month, 1, 12)
            and is_day
        ):
            return instant
        instant += timedelta(minutes=1)
    raise AssertionError(f"{fields} never fires in 40 days")


def values(field: str, low: int, high: int) -> set[int]:
    names = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
    found: set[int] = set()
    for item in field.split(","):
        base, _, step = item.partition("/")
        first, _, last = base.partition("-")
        if base == "*":
            start, end = low, high
        else:
            start = int(names.get(first, first))
            end = int(names.get(last, last)) if last else start
        found.update(range(start, end + 1, int(step or 1)))
    return found | ({0} if 7 in found and high == 7 else set())


# --- exec -------------------------------------------------------------------------------------


def runs_of(database: str, job: str) -> list[tuple[RunRow, list[AttemptRow]]]:
    store = Database(database)
    try:
        with store.transaction(write=False) as connection:
            found = list_runs(connection, job=job)
            return [(run, attempts_of(connection, run.id)) for run in found]
    finally:
        store.dispose()


def test_exec_records_a_succeeded_run_with_its_output(tmp_path: Path, database_url: str) -> None:
    apply_job(tmp_path, database_url, name="greet", command="echo hello", schedule="@daily")
    done = cronwell(tmp_path, "exec", "greet", "--database", database_url)
    assert (done.returncode, done.stdout, done.stderr) == (0, "hello\n", "")
    ((run, (attempt,)),) = runs_of(database_url, "greet")
    assert (run.trigger, run.status, attempt.status, attempt.output) == (
        "exec", "succeeded", "succeeded", "hello\n",
    )  # fmt: skip


def test_exec_exits_with_a_failed_commands_code(tmp_path: Path, database_url: str) -> None:
    command = "echo partial; exit 7"
    apply_job(tmp_path, database_url, name="broken", command=command, retry={"max_attempts": 1})
    done = cronwell(tmp_path, "exec", "broken", "--database", database_url)
    assert (done.returncode, done.stdout) == (7, "partial\n")
    assert done.stderr.startswith("broken: run ") and done.stderr.endswith(
        " dead: exited with code 7\n"
    )
    ((run, (attempt,)),) = runs_of(database_url, "broken")
    assert (run.status, attempt.status, attempt.exit_code) == ("dead", "failed", 7)


@pytest.mark.parametrize(
    ("definition", "code", "said"),
    [
        ({"command": "kill -TERM $$"}, 128 + 15, "killed by SIGTERM"),
        ({"command": "sleep 30", "timeout": 0.5}, 124, "timed out after 0:00:00.500000"),
        ({"task": "tasks:fail"}, 1, "RuntimeError: the warehouse is down"),
    ],
    ids=["signal", "timeout", "python"],
)
def test_exec_exits_as_a_shell_would(
    tmp_path: Path, database_url: str, definition: dict[str, Any], code: int, said: str
) -> None:
    (tmp_path / "tasks.py").write_text(
        "def fail() -> None:\n    raise RuntimeError('the warehouse is down')\n"
    )
    apply_job(tmp_path, database_url, name="job", retry={"max_attempts": 1}, **definition)
    done = cronwell(tmp_path, "exec", "job", "--database", database_url)
    assert done.returncode == code, done.stderr
    assert done.stderr.startswith("job: run ") and done.stderr.endswith(f" dead: {said}\n")


def test_exec_gives_the_job_env_to_the_command(tmp_path: Path, database_url: str) -> None:
    apply_job(tmp_path, database_url, name="env", command='echo "$REGION"', env={"REGION": "emea"})
    done = cronwell(tmp_path, "exec", "env", "--database", database_url)
    assert (done.returncode, done.stdout) == (0, "emea\n")


def test_exec_of_an_unknown_job_exits_2(tmp_path: Path, database_url: str) -> None:
    done = cronwell(tmp_path, "exec", "missing", "--database", database_url)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "cronwell: JOB: no job named 'missing'\n"


def test_an_imported_percent_command_gets_its_standard_input(tmp_path: Path) -> None:
    (tmp_path / "crontab").write_text(CRONTAB)
    imported = cronwell(tmp_path, "crontab", "import", "crontab", "-o", "jobs.yaml")
    assert imported.returncode == 0
    database = f"sqlite:///{tmp_path / 'cronwell.db'}"
    assert cronwell(tmp_path, "apply", "jobs.yaml", "--database", database).returncode == 0
    done = cronwell(tmp_path, "exec", "cat", "--database", database)
    assert (done.returncode, done.stdout) == (0, "first line\nsecond: 100% sure")


# --- export -----------------------------------------------------------------------------------


def test_export_prints_lines_that_exec_each_job(tmp_path: Path, database_url: str) -> None:
    apply_job(tmp_path, database_url, name="report", command="true", schedule="daily 09:00,13:30")
    apply_job(tmp_path, database_url, name="by-hand", command="true")
    program = tmp_path / "bin" / "cronwell"
    program.parent.mkdir()
    program.write_text(f'#!/bin/sh\nexec {shlex.join(CRONWELL)} "$@"\n')
    program.chmod(0o755)
    done = cronwell(
        tmp_path, "crontab", "export", "--database", database_url, "--cronwell", str(program)
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line and not line.startswith("# ")]
    exec_report = f"{program} exec --database {database_url.replace('%', chr(92) + '%')} report"
    assert lines == ["CRON_TZ=UTC", f"0 9 * * * {exec_report}", f"30 13 * * * {exec_report}"]
    assert (
        "# by-hand: not exported: no schedule of its own: run by hand, or by the jobs it depends on"
        in done.stdout
    )
    # The line's command, run as cron runs it: the job runs and is recorded.
    command = lines[1].split(" ", 5)[5].replace("\\%", "%")
    ran = subprocess.run(["/bin/sh", "-c", command], cwd=tmp_path, env=environment(), check=False)
    assert ran.returncode == 0
    ((run, _),) = runs_of(database_url, "report")
    assert (run.trigger, run.status) == ("exec", "succeeded")
