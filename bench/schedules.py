"""Next-due computations per second: cronwell's schedules beside croniter and cronsim.

Run ``.venv/bin/python bench/schedules.py`` (about a minute); ``--quick`` is a smoke run of a few
seconds; ``--check`` exits 1 when a row costs more than ``LIMIT`` times the faster peer.
bench/README.md explains every figure.

Every library does the same work from the same input instants, in two modes:

- chain: from one start instant, a chain of successive next due times. Each library's best
  documented usage: ``t = schedule.next_after(t)`` for ours, one ``croniter`` object asked
  ``get_next(datetime)`` repeatedly, one ``CronSim`` iterator advanced with ``next()``.
- cold: one next due time from each of many random instants. The peers build a new object per
  call; ours reuses the parsed schedule, as the engine does.
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import partial
from importlib.metadata import version
from itertools import zip_longest
from zoneinfo import ZoneInfo

from croniter import croniter
from cronsim import CronSim

from cronwell.schedules import Schedule, parse_schedule

LIMIT = 1.3
OURS = "cronwell"
PEERS = ("croniter", "cronsim")
LIBRARIES = (OURS, *PEERS)
MODES = ("chain", "cold")
NEW_YORK = "America/New_York"
CRON_EXPRESSIONS = (
    "*/5 * * * *",
    "0 9 * * 1-5",
    "30 2 * * *",
    "0 0 1 * *",
    "*/15 9-17 * * MON-FRI",
    "0 0 L * *",
)
# A wall time, read in each case's zone. A 5-minute chain from here reaches New York's
# spring-forward gap (02:00 on 8 March 2026) after 168 steps, so zone rows cross a DST transition.
CHAIN_START = datetime(2026, 3, 7, 12, 0)
COLD_FROM = datetime(2026, 1, 1, tzinfo=UTC)
COLD_SPAN = timedelta(days=5 * 365)
SEED = 2026

Instants = Sequence[datetime | None]
Runner = Callable[[], Instants]


@dataclass(frozen=True, slots=True)
class Case:
    """One schedule, in our syntax and as the cron expression the peers run."""

    ours: str
    peer: str
    zone: str
    marker: str = ""
    is_exact: bool = True  # False: the peers' expression is only the closest to ours

    @property
    def label(self) -> str:
        return f"{self.ours} {self.marker}".rstrip()

    @property
    def tz(self) -> tzinfo:
        # datetime.UTC, not ZoneInfo("UTC"): it is the zone croniter and cronsim take fast paths on.
        return UTC if self.zone == "UTC" else ZoneInfo(self.zone)

    @property
    def is_compared(self) -> bool:
        """Instants are compared only in UTC: in other zones each library has its DST rules."""
        return self.zone == "UTC" and self.is_exact


CASES = (
    *(Case(expr, expr, zone) for expr in CRON_EXPRESSIONS for zone in ("UTC", NEW_YORK)),
    Case("every 5m", "*/5 * * * *", "UTC", marker="[i]"),
    *(Case("daily 09:00", "0 9 * * *", zone) for zone in ("UTC", NEW_YORK)),
    *(
        Case("daily 09:00,13:30", "0 9,13 * * *", zone, marker="[d]", is_exact=False)
        for zone in ("UTC", NEW_YORK)
    ),
)
NOTES = (
    "[i] every 5m: the peers run */5 * * * *; with no start, ours is anchored at the Unix epoch,"
    " so the instants are the same. Intervals are absolute time, so there is no zone row.",
    "[d] daily 09:00,13:30: no single cron expression fires at exactly 09:00 and 13:30; the peers"
    " run the closest one, 0 9,13 * * * (two fires a day, 13:00 for 13:30). Timed, not compared.",
    "America/New_York rows are timed, not compared: each library has its own DST rules.",
)


@dataclass(frozen=True, slots=True)
class Profile:
    """How much work each measurement does."""

    chain_length: int  # successive next times in one chain
    cold_count: int  # random instants in one cold pass
    repeat_seconds: float  # target duration of one timed repeat
    repeats: int  # timed repeats per library; the best one counts


# 34 rows x 3 libraries x 5 repeats must fit in about a minute; 500 computations per call keep
# the slowest call (croniter, cold) under the repeat target, so the target holds.
FULL = Profile(chain_length=500, cold_count=500, repeat_seconds=0.08, repeats=5)
QUICK = Profile(chain_length=50, cold_count=50, repeat_seconds=0.002, repeats=3)


@dataclass(frozen=True, slots=True)
class Row:
    """One case in one mode: next-due computations per second for each library."""

    case: Case
    mode: str
    rates: dict[str, float]

    @property
    def ratio(self) -> float:
        """Our time per computation over the faster peer's."""
        return max(self.rates[peer] for peer in PEERS) / self.rates[OURS]

    @property
    def is_pass(self) -> bool:
        return self.ratio <= LIMIT


# The work. Each runner returns what it computed, so the same call serves timing and checking.


def ours_chain(case: Case, start_at: datetime, length: int) -> Instants:
    schedule = parse_schedule(case.ours, timezone=case.zone)
    found: list[datetime | None] = []
    due_at: datetime | None = start_at
    while due_at is not None and len(found) < length:
        due_at = schedule.next_after(due_at)
        found.append(due_at)
    return found


def croniter_chain(expr: str, start_at: datetime, length: int) -> Instants:
    it = croniter(expr, start_at)
    return [it.get_next(datetime) for _ in range(length)]


def cronsim_chain(expr: str, start_at: datetime, length: int) -> Instants:
    it = CronSim(expr, start_at)
    return [next(it) for _ in range(length)]


def ours_cold(schedule: Schedule, instants: Sequence[datetime]) -> Instants:
    return [schedule.next_after(instant) for instant in instants]


def croniter_cold(expr: str, instants: Sequence[datetime]) -> Instants:
    return [croniter(expr, instant).get_next(datetime) for instant in instants]


def cronsim_cold(expr: str, instants: Sequence[datetime]) -> Instants:
    return [next(CronSim(expr, instant)) for instant in instants]


def random_instants(zone: tzinfo, count: int) -> list[datetime]:
    """The same instants for every case (one seed), expressed in the case's zone."""
    rng = random.Random(SEED)
    span = int(COLD_SPAN.total_seconds())
    return [
        (COLD_FROM + timedelta(seconds=rng.randrange(span))).astimezone(zone) for _ in range(count)
    ]


@dataclass(frozen=True, slots=True)
class Workload:
    """One row's work: a runner per library, each making ``ops`` next-due computations."""

    runners: dict[str, Runner]
    ops: int
    inputs: Sequence[datetime] = ()  # cold mode: the instant each computation starts after


def chain_workload(case: Case, profile: Profile) -> Workload:
    start_at, length = CHAIN_START.replace(tzinfo=case.tz), profile.chain_length
    runners: dict[str, Runner] = {
        OURS: partial(ours_chain, case, start_at, length),
        "croniter": partial(croniter_chain, case.peer, start_at, length),
        "cronsim": partial(cronsim_chain, case.peer, start_at, length),
    }
    return Workload(runners, length)


def cold_workload(case: Case, profile: Profile) -> Workload:
    instants = random_instants(case.tz, profile.cold_count)
    schedule = parse_schedule(case.ours, timezone=case.zone)  # parsed once, outside the timing
    runners: dict[str, Runner] = {
        OURS: partial(ours_cold, schedule, instants),
        "croniter": partial(croniter_cold, case.peer, instants),
        "cronsim": partial(cronsim_cold, case.peer, instants),
    }
    return Workload(runners, len(instants), instants)


# Timing.


def time_calls(run: Runner, calls: int) -> float:
    began = time.perf_counter()
    for _ in range(calls):
        run()
    return time.perf_counter() - began


def measure(runners: dict[str, Runner], ops: int, profile: Profile) -> dict[str, float]:
    """Computations per second for each library, best of ``profile.repeats``.

    The repeats are interleaved across libraries, so a slow spell of the machine hits all three.
    """
    calls = {
        name: max(1, round(profile.repeat_seconds / time_calls(run, 1)))
        for name, run in runners.items()
    }
    best = dict.fromkeys(runners, math.inf)
    for _ in range(profile.repeats):
        for name, run in runners.items():
            best[name] = min(best[name], time_calls(run, calls[name]) / calls[name])
    return {name: ops / seconds for name, seconds in best.items()}


# Checking.


def as_utc(instants: Instants) -> list[datetime | None]:
    return [None if instant is None else instant.astimezone(UTC) for instant in instants]


def disagreement(peer: str, ours: Instants, theirs: Instants, work: Workload) -> str | None:
    """What differs when the peer's instants are not ours, else None."""
    pairs = list(zip_longest(as_utc(ours), as_utc(theirs)))
    differing = [index for index, (mine, its) in enumerate(pairs) if mine != its]
    if not differing:
        return None
    first = differing[0]
    mine, its = pairs[first]
    after = f" after {work.inputs[first]}" if first < len(work.inputs) else ""
    return (
        f"{peer} differs from {OURS} at {len(differing)} of {len(pairs)} instants;"
        f" first at #{first}{after}: {OURS} {mine}, {peer} {its}"
    )


def compare(row_name: str, work: Workload) -> list[str]:
    ours = work.runners[OURS]()
    found = (disagreement(peer, ours, work.runners[peer](), work) for peer in PEERS)
    return [f"WARNING {row_name}: {line}" for line in found if line is not None]


# Output.

HEADER = (
    f"{'case':<24} {'zone':<16} {'mode':<5} {'cronwell/s':>11} {'croniter/s':>11}"
    f" {'cronsim/s':>11} {'ratio':>6}  result"
)


def format_row(row: Row) -> str:
    rates = " ".join(f"{row.rates[name]:>11,.0f}" for name in LIBRARIES)
    verdict = "PASS" if row.is_pass else "FAIL"
    return (
        f"{row.case.label:<24} {row.case.zone:<16} {row.mode:<5} {rates}"
        f" {row.ratio:>6.2f}  {verdict}"
    )


def preamble(profile: Profile) -> list[str]:
    versions = ", ".join(f"{name} {version(name)}" for name in LIBRARIES)
    return [
        f"{versions}; Python {platform.python_version()}",
        f"figures: next-due computations per second, best of {profile.repeats} repeats"
        f" of ~{profile.repeat_seconds:g} s",
        f"chain: {profile.chain_length} successive next times from {CHAIN_START:%Y-%m-%d %H:%M}"
        " wall time in the zone; each library builds its schedule or iterator once per chain",
        f"cold: one next time from each of {profile.cold_count} random instants (whole seconds,"
        f" {COLD_SPAN.days} days from {COLD_FROM:%Y-%m-%d}); croniter and cronsim build a new"
        f" object per call, {OURS} reuses the parsed schedule, as the engine does",
        f"ratio: {OURS}'s time per computation / the faster peer's; PASS when <= {LIMIT}",
    ]


def summary(rows: Sequence[Row]) -> str:
    failed = [row for row in rows if not row.is_pass]
    worst = max(rows, key=lambda row: row.ratio)
    return (
        f"summary: {len(rows) - len(failed)} of {len(rows)} rows pass (limit {LIMIT}x the faster"
        f" peer), {len(failed)} fail; worst: {worst.case.label} {worst.case.zone} {worst.mode}"
        f" at {worst.ratio:.2f}x"
    )


# The run.


def run_row(case: Case, mode: str, profile: Profile) -> tuple[Row, list[str]]:
    work = chain_workload(case, profile) if mode == "chain" else cold_workload(case, profile)
    row_name = f"{case.label} ({case.zone}, {mode})"
    warnings = compare(row_name, work) if case.is_compared else []
    return Row(case, mode, measure(work.runners, work.ops, profile)), warnings


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument(
        "--check", action="store_true", help=f"exit 1 if any row's ratio exceeds {LIMIT}"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    profile = QUICK if args.quick else FULL
    print(*preamble(profile), "", HEADER, sep="\n", flush=True)
    rows: list[Row] = []
    warnings: list[str] = []
    for mode in MODES:
        for case in CASES:
            row, found = run_row(case, mode, profile)
            print(format_row(row), flush=True)
            rows.append(row)
            warnings += found
    print("", *NOTES, *warnings, "", summary(rows), sep="\n")
    return 1 if args.check and not all(row.is_pass for row in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
