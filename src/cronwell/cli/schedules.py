"""``cronwell next`` and ``cronwell explain``: a schedule's due times, for people and scripts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.table import Table

from cronwell.cli.errors import InputError
from cronwell.schedules import Schedule, ScheduleError, parse_schedule
from cronwell.schedules.zones import fixed_time_instant, load_zone

MAX_COUNT = 10_000
# Wall times a day either side of an instant must stay representable in every zone.
MIN_YEAR, MAX_YEAR = 2, 9998

SCHEDULE_HELP = (
    "SCHEDULE is a cron expression or nickname, a compact form (every 5m, daily 09:00, "
    "weekly mon,thu 10:00, monthly 1,last 12:00, once 2026-12-01T10:00), or a JSON mapping "
    '({"cron": "0 9 * * *", "timezone": "Europe/London"}).'
)
zone_option = click.option(
    "--tz",
    metavar="ZONE",
    help="IANA zone the schedule is read in and times are shown in; overrides a mapping's own "
    "timezone [the mapping's, else UTC].",
)


@click.command("next", epilog=SCHEDULE_HELP)
@click.argument("schedule")
@zone_option
@click.option(
    "--after",
    metavar="ISO8601",
    help="Start after this instant; without an offset, a wall time in the zone [now].",
)
@click.option("--count", default=10, show_default=True, help="How many due times.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of instants.")
def next_due(schedule: str, tz: str | None, after: str | None, count: int, as_json: bool) -> None:
    """The next due instants of SCHEDULE, strictly after --after."""
    if not 1 <= count <= MAX_COUNT:
        raise InputError(f"--count: {count} is out of range 1-{MAX_COUNT}")
    parsed = _parse(schedule, tz)
    start = _after(after, parsed.timezone)
    times = upcoming(parsed, start, count)
    if as_json:
        click.echo(json.dumps([moment.isoformat() for moment in times]))
    else:
        _print_table(parsed, start, times)


@click.command(epilog=SCHEDULE_HELP)
@click.argument("schedule")
@zone_option
def explain(schedule: str, tz: str | None) -> None:
    """SCHEDULE in plain English, with its next 5 due instants."""
    parsed = _parse(schedule, tz)
    start = datetime.now(UTC)
    _print_table(parsed, start, upcoming(parsed, start, 5))


def upcoming(schedule: Schedule, after: datetime, count: int) -> list[datetime]:
    """Up to ``count`` due instants after ``after``, in the schedule's zone."""
    times: list[datetime] = []
    moment: datetime | None = after
    while len(times) < count and moment is not None:
        moment = schedule.next_after(moment)
        if moment is not None:
            times.append(moment.astimezone(schedule.timezone))
    return times


def _parse(text: str, tz: str | None) -> Schedule:
    """The schedule, read in --tz when given (over a mapping's own zone), else its own or UTC."""
    spec = _spec(text)
    try:
        if tz is None:
            return parse_schedule(spec)
        zone = load_zone(tz, "--tz")
        if isinstance(spec, dict):
            spec = {**spec, "timezone": zone}
        return parse_schedule(spec, timezone=zone)
    except ScheduleError as error:
        raise InputError(str(error)) from None


def _spec(text: str) -> str | dict[str, Any]:
    if not text.lstrip().startswith("{"):
        return text
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            f"schedule: not valid JSON ({error.msg} at column {error.colno})"
        ) from None
    if not isinstance(spec, dict):
        raise InputError("schedule: a JSON schedule must be an object")
    return spec


def _after(text: str | None, zone: ZoneInfo) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"--after: {text!r} is not an ISO-8601 date and time") from None
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise InputError(f"--after: {text!r} is outside the years {MIN_YEAR}-{MAX_YEAR}")
    if moment.tzinfo is None:
        return fixed_time_instant(moment, zone)
    return moment.astimezone(UTC)


def _print_table(schedule: Schedule, after: datetime, times: list[datetime]) -> None:
    console = Console(highlight=False)
    console.print(schedule.describe())
    if not times:
        console.print("No due times: the schedule is never due by the clock after this instant.")
        return
    table = Table(box=None, pad_edge=False)
    table.add_column("#", justify="right")
    table.add_column(f"due ({schedule.timezone.key})")
    table.add_column("UTC")
    table.add_column("in", justify="right")
    for index, moment in enumerate(times, start=1):
        utc = moment.astimezone(UTC)
        table.add_row(
            str(index), moment.isoformat(), f"{utc:%Y-%m-%d %H:%M:%S}Z", _span(moment - after)
        )
    console.print(table)


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{hours:02}:{minutes:02}:{seconds:02}"
    return f"{days}d {text}" if days else text
