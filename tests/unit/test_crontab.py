"""Crontabs read into jobs as cron runs them, every untranslated line listed; jobs written back
as crontab lines that cron fires when cronwell would."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from cronwell.crontab import (
    cron_lines,
    crontab_text,
    job_name,
    jobs_document,
    read_crontab,
    unique_name,
)
from cronwell.schedules import Schedule, parse_schedule
from cronwell.spec import JobSpec, parse_jobs

REALISTIC = r"""# m h  dom mon dow   command
SHELL=/bin/bash
PATH = "/usr/local/bin:/usr/bin:/bin"
MAILTO='ops@example.com'

# nightly backup, weekdays only
30 2 * * 1-5   /usr/local/bin/backup.sh --full >> /var/log/backup.log 2>&1
*/15 9-17 * jan-mar mon,wed  python3 /srv/app/sync.py --quiet
@daily cd /srv/app && ./cleanup.sh
@reboot /usr/bin/start-agent
CRON_TZ=America/New_York
0 12 13 * fri  /usr/local/bin/backup.sh --incremental
@weekly  mail -s "weekly report" ops%Hello team,%the report is ready: 100\% done.%
0 0 L * * /usr/bin/month-end
61 * * * * /usr/bin/broken
0 0 30 2 * /usr/bin/never
* * * * *
"""


@pytest.fixture
def crontab() -> Any:
    return read_crontab(REALISTIC, timezone="Europe/Berlin")


def by_name(jobs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {job["name"]: job for job in jobs}


def test_every_job_line_becomes_a_job_and_every_other_is_listed(crontab: Any) -> None:
    assert [job["name"] for job in crontab.jobs] == [
        "backup", "sync", "cleanup", "backup-2", "mail",
    ]  # fmt: skip
    assert [(item.number, item.reason) for item in crontab.untranslated] == [
        (10, "@reboot is not supported: cronwell fires jobs on a clock, not at boot"),
        (14, "day-of-month field: 'L' is not cron syntax"),
        (15, "minute field: 61 is out of range 0-59"),
        (16, "cron: '0 0 30 2 *' never fires: no date matches it"),
        (17, "expected 5 time fields then a command"),
    ]
    assert crontab.untranslated[0].line == "@reboot /usr/bin/start-agent"


def test_the_jobs_are_valid_definitions_as_cron_runs_them(crontab: Any) -> None:
    specs = {spec.name: spec for spec in parse_jobs(crontab.jobs)}
    backup = specs["backup"]
    assert backup.command == (
        "/bin/bash", "-c", "/usr/local/bin/backup.sh --full >> /var/log/backup.log 2>&1",
    )  # fmt: skip
    assert str(backup.schedule_source) == "30 2 * * 1-5"
    assert (backup.retry.max_attempts, backup.misfire.action, backup.overlap) == (
        1,
        "skip",
        "allow",
    )
    assert backup.metadata["crontab_line_number"] == 7
    assert backup.metadata["crontab_line"].startswith("30 2 * * 1-5   /usr/local/bin/backup.sh")
    assert backup.tags == ("crontab",)


def test_env_lines_apply_to_the_lines_after_them(crontab: Any) -> None:
    jobs = by_name(crontab.jobs)
    # Quotes are taken off; MAILTO is noted, not passed; CRON_TZ is cron's own.
    assert jobs["backup"]["env"] == {"SHELL": "/bin/bash", "PATH": "/usr/local/bin:/usr/bin:/bin"}
    assert jobs["backup"]["metadata"]["mailto"] == "ops@example.com"
    assert jobs["backup"]["timezone"] == "Europe/Berlin"
    assert jobs["backup-2"]["timezone"] == "America/New_York"
    assert "CRON_TZ" not in jobs["backup-2"]["env"]


def test_an_env_line_changes_nothing_before_it() -> None:
    read = read_crontab("0 1 * * * early\nFOO=bar\n0 2 * * * late\nTZ=Asia/Tokyo\n0 3 * * * tz\n")
    early, late, tz = read.jobs
    assert "env" not in early and late["env"] == {"FOO": "bar"}
    assert (early["timezone"], late["timezone"], tz["timezone"]) == ("UTC", "UTC", "Asia/Tokyo")
    assert tz["env"] == {"FOO": "bar", "TZ": "Asia/Tokyo"}  # the command sees TZ, as under cron


def test_bad_env_lines_are_listed() -> None:
    read = read_crontab("MY-VAR=1\nCRON_TZ=Mars/Olympus\n0 1 * * * job\n")
    assert [(item.number, item.reason) for item in read.untranslated] == [
        (1, "'MY-VAR' is not a valid environment variable name"),
        (2, "CRON_TZ: 'Mars/Olympus' is not a known time zone"),
    ]
    assert read.jobs[0]["timezone"] == "UTC"


def due_times(schedule: Schedule, after: datetime, count: int) -> list[datetime]:
    found: list[datetime] = []
    for _ in range(count):
        due = schedule.next_after(found[-1] if found else after)
        assert due is not None
        found.append(due)
    return found


def test_due_times_follow_cron_day_matching(crontab: Any) -> None:
    """Day-of-month and day-of-week both restricted: either matches (Vixie cron), so the
    13th of every month AND every Friday."""
    job = by_name(crontab.jobs)["backup-2"]
    schedule = parse_schedule(job["schedule"], timezone=job["timezone"])
    zone = ZoneInfo("America/New_York")
    found = [
        instant.astimezone(zone).strftime("%a %d %b %H:%M")
        for instant in due_times(schedule, datetime(2026, 3, 1, tzinfo=UTC), 6)
    ]
    assert found == [
        "Fri 06 Mar 12:00", "Fri 13 Mar 12:00", "Fri 20 Mar 12:00",
        "Fri 27 Mar 12:00", "Fri 03 Apr 12:00", "Fri 10 Apr 12:00",
    ]  # fmt: skip
    assert schedule.next_after(datetime(2026, 4, 11, tzinfo=UTC)) == datetime(
        2026, 4, 13, 16, 0, tzinfo=UTC
    )  # Monday the 13th


def test_ranges_steps_and_names_mean_what_cron_means(crontab: Any) -> None:
    job = by_name(crontab.jobs)["sync"]
    schedule = parse_schedule(job["schedule"], timezone=job["timezone"])
    start = datetime(2026, 3, 30, 16, 50, tzinfo=UTC)  # Monday 18:50 in Berlin
    first = schedule.next_after(start)
    assert first == datetime(2027, 1, 4, 8, 0, tzinfo=UTC)  # next January Monday, 09:00 CET
    assert schedule.next_after(first) == datetime(2027, 1, 4, 8, 15, tzinfo=UTC)
    weekly = parse_schedule("@weekly", timezone="UTC")
    assert weekly.next_after(start) == datetime(2026, 4, 5, tzinfo=UTC)  # a Sunday


def test_a_percent_becomes_standard_input(crontab: Any) -> None:
    command = by_name(crontab.jobs)["mail"]["command"]
    assert command[:2] == ["/bin/bash", "-c"]
    # The command read its standard input and its own words as cron would give them.
    shell = command[2].replace('mail -s "weekly report" ops', 'cat; echo "[$#]"')
    done = subprocess.run(["/bin/bash", "-c", shell], capture_output=True, text=True, check=True)
    assert done.stdout == "Hello team,\nthe report is ready: 100% done.\n[0]\n"


def test_an_escaped_percent_is_a_literal_one() -> None:
    (job,) = read_crontab(r"0 1 * * * date +\%Y-\%m-\%d").jobs
    assert job["command"] == "date +%Y-%m-%d"


def test_a_percent_with_no_command_before_it_is_listed() -> None:
    read = read_crontab("0 1 * * * %only input")
    assert read.untranslated[0].reason == "no command before the %"


def test_a_system_crontab_has_a_user_column() -> None:
    read = read_crontab(
        "17 * * * * root cd / && run-parts --report /etc/cron.hourly\n"
        "@daily backup /usr/bin/nightly\n"
        "0 1 * * * root\n",
        system=True,
    )
    hourly, nightly = read.jobs
    assert (hourly["name"], hourly["command"]) == (
        "cron-hourly",
        "cd / && run-parts --report /etc/cron.hourly",
    )
    assert hourly["metadata"]["crontab_user"] == "root"
    assert (nightly["schedule"], nightly["metadata"]["crontab_user"]) == ("@daily", "backup")
    assert [note.reason for note in read.notes] == [
        "cron ran it as root; cronwell runs it as the worker's user",
        "cron ran it as backup; cronwell runs it as the worker's user",
    ]
    assert read.untranslated[0].reason == "expected 5 time fields then a user and a command"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("0 0 15W * * x", "day-of-month field: '15W' is not cron syntax"),
        ("0 0 ? * 5#2 x", "day-of-month field: '?' is not cron syntax"),
        ("0 0 * * 5L x", "day-of-week field: '5L' is not cron syntax"),
        ("0 0 * * monday x", "day-of-week field: 'monday' is not a name this field takes"),
        ("0 0 * jan-foo * x", "month field: 'foo' is not a name this field takes"),
        ("0 0 * * jan x", "day-of-week field: 'jan' is not a name this field takes"),
        ("0 0 * mon * x", "month field: 'mon' is not a name this field takes"),
        ("5-1 0 * * * x", "minute field: 5-1 is a reversed range"),
        ("5/10 * * * * x", "minute field: '5/10': cron takes a step after * or a range only"),
        ("@fortnightly x", "unknown nickname '@fortnightly'"),
    ],
)
def test_what_cron_refuses_is_listed_not_translated(line: str, reason: str) -> None:
    read = read_crontab(line)
    assert (read.jobs, [item.reason for item in read.untranslated]) == ([], [reason])


@pytest.mark.parametrize(
    ("command", "name"),
    [
        ("/usr/local/bin/backup.sh --full", "backup"),
        ("python3 /srv/app/manage.py clearsessions", "manage"),
        ("cd /srv/app && ./Report_Daily.py", "report-daily"),
        ("FOO=1 nohup /opt/x/ETL-run >/dev/null 2>&1", "etl-run"),
        ("'unbalanced", "unbalanced"),
        ("%", "job"),
    ],
)
def test_a_job_is_named_after_its_program(command: str, name: str) -> None:
    assert job_name(command) == name


DEBIAN = """\
SHELL=/bin/sh
PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin

# Example of job definition:
# .---------------- minute (0 - 59)
# |  .------------- hour (0 - 23)
# *  *  *  *  * user-name command to be executed
17 *\t* * *\troot\tcd / && run-parts --report /etc/cron.hourly
25 6\t* * *\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }
47 6\t* * 7\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.weekly; }
52 6\t1 * *\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.monthly; }
"""


def test_a_system_crontab_read_as_a_user_one_is_pointed_out() -> None:
    read = read_crontab("17 * * * * root run-parts /etc/cron.hourly\n5 * * * * root x\n")
    assert [note.reason for note in read.notes] == 2 * [
        "the command starts with 'root': is this a system crontab (--system)?"
    ]


def test_debians_system_crontab_reads_whole() -> None:
    read = read_crontab(DEBIAN, system=True)
    assert read.untranslated == []
    assert [(job["name"], job["schedule"]) for job in read.jobs] == [
        ("cron-hourly", "17 * * * *"),
        ("cron-daily", "25 6 * * *"),
        ("cron-weekly", "47 6 * * 7"),
        ("cron-monthly", "52 6 1 * *"),
    ]
    daily = read.jobs[1]
    assert daily["command"] == (
        "test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }"
    )
    assert daily["env"] == {
        "SHELL": "/bin/sh",
        "PATH": "/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin",
    }
    assert {job["metadata"]["crontab_user"] for job in read.jobs} == {"root"}


def test_names_are_made_unique() -> None:
    assert unique_name("backup", {"backup", "backup-2"}) == "backup-3"
    assert unique_name("sync", {"backup"}) == "sync"


def test_the_document_is_a_jobs_file_listing_what_was_left(crontab: Any) -> None:
    text = jobs_document(crontab, source="/etc/crontab")
    assert text.startswith("# Jobs translated from the crontab /etc/crontab\n")
    assert "#   line 10: @reboot /usr/bin/start-agent\n#     @reboot is not supported" in text
    document = yaml.safe_load(text)
    assert document["jobs"] == crontab.jobs


def test_an_unknown_default_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        read_crontab("", timezone="Mars/Olympus")


# --- out ------------------------------------------------------------------------------------


def spec(name: str, schedule: Any, **more: Any) -> JobSpec:
    return JobSpec.parse({"name": name, "command": "true", "schedule": schedule} | more)


@pytest.mark.parametrize(
    ("schedule", "lines"),
    [
        ("*/5 9-17 * * MON-FRI", ["*/5 9-17 * * MON-FRI"]),
        ("@daily", ["@daily"]),
        ("0 0 ? * 1", ["0 0 * * 1"]),
        ("5/20 1/6 * * 5/1", ["5-59/20 1-23/6 * * 5-7/1"]),
        ("daily 09:00,13:30,17:00", ["0 9,17 * * *", "30 13 * * *"]),
        ("weekly mon,sun 06:15", ["15 6 * * 1,0"]),
        ("monthly 1,15 12:00", ["0 12 1,15 * *"]),
        ("every 15m", ["*/15 * * * *"]),
        ("every 1m", ["* * * * *"]),
        ("every 6h", ["0 */6 * * *"]),
    ],
)
def test_schedules_cron_can_say_become_cron_lines(schedule: str, lines: list[str]) -> None:
    found = cron_lines(spec("j", schedule).schedule)
    assert (sorted(found.fields), found.reason) == (sorted(lines), None)


@pytest.mark.parametrize(
    ("schedule", "reason"),
    [
        ("30 0 0 * * *", "a seconds field"),
        ("0 0 L * *", "L, W or #"),
        ("0 0 * * 5#2", "L, W or #"),
        ("monthly last 12:00", "the last day of the month"),
        ("daily 09:00:30", "a time with seconds"),
        ("every 7m", "cron steps cannot count it"),
        ("every 90s", "cron steps cannot count it"),
        ("manual", "no schedule of its own"),
        ("event deploy", "fired by an event"),
        ("once 2026-12-01T10:00", "due once only"),
        ({"cron": "0 9 * * *", "jitter": "5m"}, "start, end or jitter"),
    ],
)
def test_schedules_cron_cannot_say_are_refused(schedule: Any, reason: str) -> None:
    found = cron_lines(spec("j", schedule).schedule)
    assert found.fields == []
    assert reason in (found.reason or "")


def test_a_step_after_one_value_means_the_same_once_exported() -> None:
    ours = spec("j", "5/20 1/6 * * 5/1").schedule
    (line,) = cron_lines(ours).fields
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert due_times(parse_schedule(line), start, 50) == due_times(ours, start, 50)


MANUAL = "no schedule of its own: run by hand, or by the jobs it depends on"


def test_the_crontab_calls_cronwell_exec_per_job_by_zone() -> None:
    specs = [
        spec("report", "0 9 * * 1-5", timezone="Europe/Berlin"),
        spec("sync", "every 15m"),
        spec("paused", "@hourly", enabled=False),
        spec("by-hand", "manual"),
    ]
    text = crontab_text(specs, exec_command=["/opt/bin/cronwell", "exec", "--database", "x%y"])
    body = [line for line in text.splitlines() if line and not line.startswith("# Crontab")]
    assert "CRON_TZ=Europe/Berlin" in body
    assert "0 9 * * 1-5 /opt/bin/cronwell exec --database x\\%y report" in body
    assert "*/15 * * * * /opt/bin/cronwell exec --database x\\%y sync" in body
    assert "# (disabled) @hourly /opt/bin/cronwell exec --database x\\%y paused" in body
    assert body[-1] == "# by-hand: not exported: " + MANUAL
    assert body.index("CRON_TZ=Europe/Berlin") < body.index("CRON_TZ=UTC")


def test_an_exported_line_reads_back_as_the_same_schedule() -> None:
    specs = [spec("report", "weekly mon,thu 10:00", timezone="Asia/Tokyo")]
    text = crontab_text(specs, exec_command=["cronwell", "exec"])
    (job,) = read_crontab(text).jobs
    back = parse_schedule(job["schedule"], timezone=job["timezone"])
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert due_times(back, start, 10) == due_times(specs[0].schedule, start, 10)
    assert job["command"] == "cronwell exec report"
