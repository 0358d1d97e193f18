"""Crontabs in and out: a crontab's lines as cronwell jobs, and cronwell jobs as crontab lines.

``read_crontab`` translates a crontab, in user format (five time fields, then the command) or
system format (``/etc/crontab``, ``/etc/cron.d``: a user column before the command), into job
definitions as ``cronwell apply`` reads them. It keeps cron's meaning: environment lines apply
to the lines after them, ``CRON_TZ`` (and ``TZ``) set the zone of the jobs that follow, an
unescaped ``%`` ends the command and feeds the rest to it as standard input, and the jobs run
as cron runs them: no retry, no catch-up of missed times, overlapping runs allowed. Every line
it cannot translate is listed with its number and the reason; none is dropped unsaid.

``crontab_lines`` goes the other way, for teams that keep the system cron as the trigger: a
line per job whose schedule cron can express, calling ``cronwell exec JOB``.

Pure: text and job definitions in, values and text out.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from cronwell.schedules import (
    CronSchedule,
    DailySchedule,
    IntervalSchedule,
    MonthlySchedule,
    Schedule,
    ScheduleError,
    WeeklySchedule,
    parse_schedule,
)
from cronwell.schedules.cron import DAY_NAMES, MONTH_NAMES, NICKNAMES
from cronwell.schedules.zones import load_zone
from cronwell.spec import ENV_NAME, JobSpec

_ENV_LINE = re.compile(r"([^\s=]+)\s*=(.*)")
_SPACES = re.compile(r"[ \t]+")
_FIELD_ITEM = re.compile(r"(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?")
_FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
_POSIX_SHELLS = frozenset({"sh", "bash", "dash", "ash", "ksh", "mksh", "zsh"})
_WRAPPERS = frozenset({"env", "nohup", "exec", "time", "chronic", "command"})
_NOT_THE_PROGRAM = frozenset({"cd", "test", "[", "true", ":"})  # guards: `test -x X || ...`
_INTERPRETERS = re.compile(r"(python|perl|ruby|node|php|bash|sh|dash|zsh)[0-9.]*")
_SCRIPT_SUFFIX = re.compile(r"\.(sh|bash|py|pl|rb|php|js)$")
_DEFAULT_SHELL = "/bin/sh"


@dataclass(frozen=True, slots=True)
class CrontabLine:
    """A crontab line that became no job, and why; or a note on a line translated."""

    number: int
    line: str
    reason: str


@dataclass(frozen=True, slots=True)
class Crontab:
    """A crontab read: the job definitions (as a jobs file holds them), the lines that became
    none, and notes on lines translated with a difference the reader should know of."""

    jobs: list[dict[str, Any]] = field(default_factory=list)
    untranslated: list[CrontabLine] = field(default_factory=list)
    notes: list[CrontabLine] = field(default_factory=list)


@dataclass(slots=True)
class _State:
    """What the environment lines read so far say to the job lines after them."""

    timezone: str
    prefix: str = ""
    env: dict[str, str] = field(default_factory=dict)
    mailto: str | None = None


class _Skip(Exception):
    """A line that cannot be translated, with the reason."""


def read_crontab(
    text: str, *, system: bool = False, timezone: str = "UTC", prefix: str = ""
) -> Crontab:
    """The jobs of a crontab. ``system``: lines carry a user column (``/etc/crontab``).
    ``timezone``: the zone the jobs run in until a ``CRON_TZ`` line says otherwise (the
    zone the system cron ran them in). ``prefix`` starts every job's name."""
    load_zone(timezone or "UTC")  # an unknown zone is the caller's mistake
    result = Crontab()
    state = _State(timezone, prefix)
    names: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            if _ENV_LINE.fullmatch(line) and not line[0].isdigit() and line[0] not in "*@":
                _read_env(line, state)
                continue
            job = _job(line, number, state, system=system, names=names)
        except _Skip as skip:
            result.untranslated.append(CrontabLine(number, line, str(skip)))
            continue
        result.jobs.append(job)
        why = _note(job, system=system)
        if why is not None:
            result.notes.append(CrontabLine(number, line, why))
    return result


def _note(job: dict[str, Any], *, system: bool) -> str | None:
    """What the reader of a translated line should know."""
    user = job["metadata"].get("crontab_user")
    if user is not None:
        return f"cron ran it as {user}; cronwell runs it as the worker's user"
    command = job["command"] if isinstance(job["command"], str) else job["command"][-1]
    if not system and command.split()[:1] == ["root"]:
        return "the command starts with 'root': is this a system crontab (--system)?"
    return None


def _read_env(line: str, state: _State) -> None:
    match = _ENV_LINE.fullmatch(line)
    assert match is not None
    name, value = match.group(1), _unquoted(match.group(2).strip())
    if not ENV_NAME.fullmatch(name):
        raise _Skip(f"{name!r} is not a valid environment variable name")
    if name in ("CRON_TZ", "TZ"):
        try:
            load_zone(value or "UTC")  # empty: UTC, as a job's schedule reads it
        except ScheduleError:
            raise _Skip(f"{name}: {value!r} is not a known time zone") from None
        state.timezone = value
        if name == "CRON_TZ":
            return  # cron's own setting: the command never sees it
    if name == "MAILTO":
        state.mailto = value
        return
    state.env = state.env | {name: value}


def _unquoted(value: str) -> str:
    """A value with the one pair of quotes around it taken off, as cron does."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _job(line: str, number: int, state: _State, *, system: bool, names: set[str]) -> dict[str, Any]:
    schedule, user, command_text = _split(line, system=system)
    _check_schedule(schedule, state.timezone)
    command = _command(command_text, state.env.get("SHELL", _DEFAULT_SHELL))
    name = unique_name(state.prefix + job_name(_cut_at_percent(command_text)[0]), names)
    names.add(name)
    metadata: dict[str, Any] = {"crontab_line": line, "crontab_line_number": number}
    if user is not None:
        metadata["crontab_user"] = user
    if state.mailto is not None:
        metadata["mailto"] = state.mailto
    job: dict[str, Any] = {
        "name": name,
        "description": f"crontab line {number}",
        "schedule": schedule,
        "timezone": state.timezone,
        "command": command,
    }
    if state.env:
        job["env"] = dict(state.env)
    # As cron runs it: one attempt, missed times not caught up, a run beside a running one.
    job |= {"retry": {"max_attempts": 1}, "misfire": "skip", "overlap": "allow"}
    job["tags"] = ["crontab"]
    return job | {"metadata": metadata}


def _split(line: str, *, system: bool) -> tuple[str, str | None, str]:
    """The schedule, the user (system format) and the command of a job line."""
    if line.startswith("@"):
        nickname, *rest = _SPACES.split(line, maxsplit=2 if system else 1)
        if nickname.lower() == "@reboot":
            raise _Skip("@reboot is not supported: cronwell fires jobs on a clock, not at boot")
        if nickname.lower() not in NICKNAMES:
            raise _Skip(f"unknown nickname {nickname!r}")
        schedule, count = nickname.lower(), 1
    else:
        rest = _SPACES.split(line, maxsplit=6 if system else 5)
        schedule, count = " ".join(rest[:5]), 5
        rest = rest[5:]
    wanted = 2 if system else 1
    if len(rest) < wanted:
        what = "a user and a command" if system else "a command"
        raise _Skip(f"expected {'a nickname' if count == 1 else '5 time fields'} then {what}")
    return schedule, rest[0] if system else None, rest[-1]


def _check_schedule(schedule: str, timezone: str) -> None:
    """A schedule cron itself takes, which cronwell reads the same way."""
    if not schedule.startswith("@"):
        for text, field_name in zip(schedule.split(), _FIELD_NAMES, strict=True):
            _check_field(text, field_name)
    try:
        parse_schedule(schedule, timezone=timezone)
    except ScheduleError as error:
        raise _Skip(str(error)) from None


def _check_field(text: str, field_name: str) -> None:
    """Only cron's own items: cronwell also takes Quartz's ``L``, ``W``, ``#`` and ``?``,
    which cron refuses, so a line cron never ran must not start running now."""
    names = {"month": MONTH_NAMES, "day-of-week": DAY_NAMES}.get(field_name, ())
    for item in text.split(","):
        if not _FIELD_ITEM.fullmatch(item):
            raise _Skip(f"{field_name} field: {item!r} is not cron syntax")
        base, slash, _ = item.partition("/")
        if slash and base != "*" and "-" not in base:
            # Vixie cron refuses a step after one value; cronwell would read it as base-max.
            raise _Skip(f"{field_name} field: {item!r}: cron takes a step after * or a range only")
        for part in base.split("-"):
            if part == "*" or part.isdigit():
                continue
            if not part.isalpha() or not names:
                raise _Skip(f"{field_name} field: {item!r} is not cron syntax")
            if part.upper() not in names:
                raise _Skip(f"{field_name} field: {part!r} is not a name this field takes")


def _command(text: str, shell: str) -> str | list[str]:
    """The command as cron runs it: by ``$SHELL -c``, its standard input the text after the
    first unescaped ``%``, each further ``%`` a newline, ``\\%`` a literal ``%``."""
    command, stdin = _cut_at_percent(text)
    if not command.strip():
        raise _Skip("no command before the %")
    if stdin is not None:
        if shell.rsplit("/", 1)[-1] not in _POSIX_SHELLS:
            raise _Skip(f"a % (standard input) under SHELL={shell} cannot be translated")
        # A subshell on lines of its own: the command may end with a comment or an &.
        command = f"printf '%s' {shlex.quote(stdin)} | (\n{command}\n)"
    if shell == _DEFAULT_SHELL:
        return command
    return [shell, "-c", command]


def _cut_at_percent(text: str) -> tuple[str, str | None]:
    """Cron's reading of ``%``: the command, and the standard input if there is one."""
    command: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and text[index + 1 : index + 2] == "%":
            command.append("%")
            index += 2
            continue
        if char == "%":
            return "".join(command), _stdin(text[index + 1 :])
        command.append(char)
        index += 1
    return "".join(command), None


def _stdin(text: str) -> str:
    return re.sub(r"\\%|%", lambda match: "%" if match.group() == "\\%" else "\n", text)


def job_name(command: str) -> str:
    """A job name from a command: the program it runs (the script, for an interpreter; the
    directory, for run-parts), as a slug. Guards and ``cd`` before it are passed over."""
    for part in re.split(r"&&|\|\||;|\|", command):
        program = _program(part)
        if program and program not in _NOT_THE_PROGRAM:
            return slug(program)
    return "job"


def _program(command: str) -> str:
    try:
        words = shlex.split(command.strip(" \t(){}"), comments=True)
    except ValueError:
        words = command.split()
    words = [word for word in words if not re.fullmatch(r"[A-Za-z_]\w*=.*", word)]
    while words and words[0] in _WRAPPERS:
        words = words[1:]
    if not words:
        return ""
    program = words[0].rsplit("/", 1)[-1]
    operands = [word for word in words[1:] if not word.startswith("-")]
    if (_INTERPRETERS.fullmatch(program) or program == "run-parts") and operands:
        program = operands[-1 if program == "run-parts" else 0].rstrip("/").rsplit("/", 1)[-1]
    return _SCRIPT_SUFFIX.sub("", program)


def slug(text: str) -> str:
    """Lower-case letters, digits and single dashes, at most 60 characters; "job" if none."""
    found = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].strip("-")
    return found or "job"


def unique_name(name: str, taken: Iterable[str]) -> str:
    """``name``, or ``name-2``, ``name-3``... : the first not taken."""
    used = set(taken)
    if name not in used:
        return name
    number = 2
    while f"{name}-{number}" in used:
        number += 1
    return f"{name}-{number}"


def jobs_document(crontab: Crontab, *, source: str = "") -> str:
    """The jobs file ``cronwell apply`` takes, with a header and every untranslated line
    listed as a comment."""
    header = [f"# Jobs translated from the crontab {source}".rstrip(), "#"]
    if crontab.untranslated:
        header.append("# Lines not translated:")
        for item in crontab.untranslated:
            header += [f"#   line {item.number}: {item.line}", f"#     {item.reason}"]
        header.append("#")
    body = yaml.dump(
        {"jobs": crontab.jobs},
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1000,
    )
    return "\n".join(header) + "\n" + body


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (a command with standard input) as literal blocks, as people
    write them."""


def _string(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _string)


# --- out: cron lines for stored jobs ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CronLines:
    """The cron schedule lines of a job (five fields each), or why it has none."""

    fields: list[str]
    timezone: str
    reason: str | None = None


def cron_lines(schedule: Schedule) -> CronLines:
    """The cron lines that fire when ``schedule`` is due, in its zone, if cron can say it."""
    zone = schedule.timezone.key
    window = getattr(schedule, "window", None)
    if window is not None and (window.start or window.end or window.jitter):
        return CronLines([], zone, "a start, end or jitter cron has no word for")
    if isinstance(schedule, CronSchedule):
        return _from_cron(schedule, zone)
    if isinstance(schedule, DailySchedule | WeeklySchedule | MonthlySchedule):
        return _from_times(schedule, zone)
    if isinstance(schedule, IntervalSchedule):
        return _from_interval(schedule)
    reason = _NO_CRON_FORM.get(type(schedule).__name__, "a schedule cron has no form for")
    return CronLines([], zone, reason)


_NO_CRON_FORM = {
    "ManualSchedule": "no schedule of its own: run by hand, or by the jobs it depends on",
    "EventSchedule": "fired by an event, not by a clock",
    "OnceSchedule": "due once only: run it by hand at that time",
}


def _from_cron(schedule: CronSchedule, zone: str) -> CronLines:
    expression = schedule.expression
    if expression.text.startswith("@"):
        return CronLines([expression.text], zone)
    seconds, *five = expression.fields
    if seconds != "0":
        return CronLines([], zone, "a seconds field: cron fires on whole minutes")
    days = expression.days
    if (
        days.is_last_day
        or days.is_last_weekday
        or days.nearest_weekdays
        or days.last_weekdays
        or days.nth_weekdays
    ):
        return CronLines([], zone, "L, W or #: extensions cron does not take")
    return CronLines([" ".join(map(_cron_field, five, _FIELD_HIGHS))], zone)


_FIELD_HIGHS = (59, 23, 31, 12, 7)


def _cron_field(text: str, high: int) -> str:
    """A field of ours in words cron takes: '?' (Quartz for '*') as '*', a step after one
    value (``5/10``, which cronwell reads to the field's end) as a range (``5-59/10``)."""
    if text == "?":
        return "*"
    items = []
    for item in text.split(","):
        base, slash, step = item.partition("/")
        is_open = slash and base != "*" and "-" not in base
        items.append(f"{base}-{high}/{step}" if is_open else item)
    return ",".join(items)


def _from_times(schedule: DailySchedule | WeeklySchedule | MonthlySchedule, zone: str) -> CronLines:
    if any(second % 60 for second in schedule.times):
        return CronLines([], zone, "a time with seconds: cron fires on whole minutes")
    days, weekdays = "*", "*"
    if isinstance(schedule, WeeklySchedule):
        weekdays = ",".join(str((day + 1) % 7) for day in sorted(schedule.weekdays))
    if isinstance(schedule, MonthlySchedule):
        if schedule.is_last_day:
            return CronLines([], zone, "the last day of the month: cron has no word for it")
        days = ",".join(str(day) for day in sorted(schedule.days))
    by_minute: dict[int, list[int]] = {}
    for second in schedule.times:
        hour, minute = divmod(second // 60, 60)
        by_minute.setdefault(minute, []).append(hour)
    lines = [
        f"{minute} {','.join(map(str, hours))} {days} * {weekdays}"
        for minute, hours in sorted(by_minute.items())
    ]
    return CronLines(lines, zone)


def _from_interval(schedule: IntervalSchedule) -> CronLines:
    # Intervals count from the Unix epoch in UTC: on the clock's round minutes and hours.
    minutes, rest = divmod(int(schedule.every.total_seconds()), 60)
    if rest == 0 and minutes and 60 % minutes == 0:
        return CronLines(["* * * * *" if minutes == 1 else f"*/{minutes} * * * *"], "UTC")
    hours, rest = divmod(minutes, 60)
    if rest == 0 and hours and 24 % hours == 0:
        return CronLines([f"0 {'*' if hours == 1 else f'*/{hours}'} * * *"], "UTC")
    return CronLines([], "UTC", f"every {schedule.every}: cron steps cannot count it")


def crontab_text(specs: Sequence[JobSpec], *, exec_command: Sequence[str]) -> str:
    """A crontab whose lines call ``exec_command JOB`` when each job is due; jobs cron
    cannot schedule, and disabled jobs, as comments saying why."""
    lines = [
        "# Crontab written by `cronwell crontab export`: each line runs one cronwell job",
        "# with `cronwell exec`, which records the run in cronwell's store. Lines follow",
        "# CRON_TZ (cronie and other crons that take it); elsewhere they run in the",
        "# system's zone. Do not also run a cronwell scheduler for these jobs.",
    ]
    zone: str | None = None
    left: list[str] = []
    for spec in specs:
        found = cron_lines(spec.schedule)
        command = _escape_percent(shlex.join([*exec_command, spec.name]))
        if found.reason is not None:
            left.append(f"# {spec.name}: not exported: {found.reason}")
            continue
        if found.timezone != zone:
            zone = found.timezone
            lines += ["", f"CRON_TZ={zone}"]
        prefix = "" if spec.is_enabled else "# (disabled) "
        lines += [f"{prefix}{when} {command}" for when in found.fields]
    if left:
        lines += ["", *left]
    return "\n".join(lines) + "\n"


def _escape_percent(text: str) -> str:
    """Cron reads an unescaped ``%`` as the end of the command."""
    return text.replace("%", "\\%")
