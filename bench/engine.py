"""The engine's figures: enqueue, drain, latency, firing precision and scale, on SQLite and
PostgreSQL, each beside its target. See bench/README.md for the method.

    .venv/bin/python bench/engine.py [--quick] [--store sqlite|postgresql|both]
                                     [--postgres-url URL] [--check]

Every figure runs on a fresh database. Workers, schedulers and the one-process engine run
as child processes of this script (``--serve``), as ``cronwell worker``, ``cronwell scheduler``
and ``cronwell run`` would; the tasks are the no-ops of ``bench/benchtasks.py``.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

import psycopg
from sqlalchemy import bindparam, create_engine, func, select, text, update
from sqlalchemy.engine import make_url

from cronwell.app import Cronwell
from cronwell.spec import JobSpec
from cronwell.store.database import Database
from cronwell.store.jobs import insert_jobs
from cronwell.store.migrate import upgrade
from cronwell.store.signals import JOBS, notify
from cronwell.store.tables import attempts, jobs, runs

BENCH = Path(__file__).resolve().parent
POSTGRES_ENV = "CRONWELL_TEST_POSTGRES_URL"
FINISHED = ("succeeded", "dead", "cancelled", "skipped")
DRAIN_CONCURRENCY = 16


@dataclass(frozen=True, slots=True)
class Size:
    """How much each figure does: the full run, or a smoke run of a few seconds."""

    enqueue_one: int
    enqueue_bulk: int
    drain_thread: int
    drain_process: int
    latency_triggers: int
    precision_seconds: int
    scale_jobs: int
    scale_due: int
    # Rounds of the short figures (enqueue, drain, latency, floor), each on a fresh
    # database; the median is reported, as the peers' figures are medians of 3 runs.
    rounds: int = 1


FULL = Size(2000, 20_000, 5000, 300, 200, 60, 100_000, 10_000, rounds=3)
QUICK = Size(100, 1000, 200, 5, 10, 2, 500, 50)


@dataclass(frozen=True, slots=True)
class Figure:
    store: str
    name: str
    value: float
    unit: str
    target: str
    is_met: bool | None  # None: reported, no target
    note: str = ""


# --- databases ------------------------------------------------------------------------------


@contextmanager
def fresh_database(store: str, postgres_url: str | None) -> Iterator[str]:
    """The URL of a new, migrated database; dropped (or deleted) afterwards."""
    if store == "sqlite":
        with tempfile.TemporaryDirectory(prefix="cronwell-bench-") as folder:
            url = f"sqlite:///{folder}/bench.db"
            _migrate(url)
            yield url
        return
    assert postgres_url is not None
    name = f"cronwell_bench_{uuid.uuid4().hex[:10]}"
    _admin(postgres_url, f'CREATE DATABASE "{name}"')
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url)
        yield url
    finally:
        _admin(postgres_url, f'DROP DATABASE "{name}" WITH (FORCE)')


def _migrate(url: str) -> None:
    database = Database(url)
    upgrade(database)
    database.dispose()


def _admin(url: str, statement: str) -> None:
    engine = create_engine(
        make_url(url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


# --- child processes ------------------------------------------------------------------------


def serve(url: str, parts: str, concurrency: int) -> None:
    """The child side of ``spawn``: run the named parts until SIGTERM or stdin closes."""
    sys.path.insert(0, str(BENCH))
    app = Cronwell(url, migrate=False, concurrency=concurrency)
    app.start(scheduler="scheduler" in parts, worker="worker" in parts)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    threading.Thread(target=_until_stdin_closes, args=(done,), daemon=True).start()
    print("ready", flush=True)
    done.wait()
    app.shutdown()


def _until_stdin_closes(done: threading.Event) -> None:
    sys.stdin.read()
    done.set()


@contextmanager
def spawn(url: str, parts: str, concurrency: int = 4) -> Iterator[subprocess.Popen[str]]:
    """A child process running ``parts`` (scheduler, worker or both) on ``url``."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(BENCH), os.environ.get("PYTHONPATH", "")]),
    }
    argv = [sys.executable, __file__, "--serve", url, parts, str(concurrency)]
    child = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the {parts} process did not start")
        time.sleep(0.2)  # its loops take their first turn
        yield child
    finally:
        assert child.stdin is not None
        child.stdin.close()
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def peak_rss(pid: int) -> int:
    """Bytes: the peak resident memory of a live process (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


# --- the figures ----------------------------------------------------------------------------


def noop_job(app: Cronwell, name: str = "noop", mode: str = "thread", **options: Any) -> int:
    return app.schedule(
        "benchtasks:noop", name=name, mode=mode, retry={"strategy": "none"}, **options
    )


def bench_enqueue(store: str, url: str, size: Size) -> list[Figure]:
    sys.path.insert(0, str(BENCH))
    app = Cronwell(url, migrate=False)
    job_id = noop_job(app)
    app.trigger_now(job_id)  # warm: connections, statement caches
    started = time.perf_counter()
    for _ in range(size.enqueue_one):
        app.trigger_now(job_id)
    one = size.enqueue_one / (time.perf_counter() - started)
    started = time.perf_counter()
    app.trigger_many(job_id, size.enqueue_bulk)
    bulk = size.enqueue_bulk / (time.perf_counter() - started)
    app.database.dispose()
    return [
        Figure(store, "enqueue one by one", one, "runs/s", ">= 2,000", one >= 2000),
        Figure(store, "enqueue in bulk", bulk, "runs/s", ">= 20,000", bulk >= 20_000),
    ]


def bench_drain(store: str, url: str, count: int, mode: str) -> Figure:
    """Insert ``count`` runs, then let one worker process drain them; runs per second from
    the first attempt's start to the last attempt's end, as the store recorded them."""
    app = Cronwell(url, migrate=False)
    job_id = noop_job(app, name=f"drain-{mode}", mode=mode)
    app.trigger_many(job_id, count)
    with spawn(url, "worker", DRAIN_CONCURRENCY):
        wait_until(lambda: finished_runs(app, job_id) >= count, timeout=count / 5 + 60)
    with app.database.transaction(write=False) as connection:
        first, last = connection.execute(
            select(func.min(attempts.c.started_at), func.max(attempts.c.finished_at))
            .join(runs, runs.c.id == attempts.c.run_id)
            .where(runs.c.job_id == job_id)
        ).one()
    app.database.dispose()
    rate = count / (last - first).total_seconds()
    name = f"drain, {mode} mode"
    note = f"{count} runs, concurrency {DRAIN_CONCURRENCY}"
    if mode == "thread":
        return Figure(store, name, rate, "runs/s", ">= 3,000", rate >= 3000, note)
    return Figure(store, name, rate, "runs/s", "(reported)", None, note)


def bench_latency(store: str, url: str, count: int) -> Figure:
    """An idle worker process; ``count`` triggers 20 ms apart; trigger to the attempt's start
    (the worker's claim), p99."""
    app = Cronwell(url, migrate=False)
    job_id = noop_job(app, name="latency")
    asked: dict[int, datetime] = {}
    with spawn(url, "worker", 4):
        for _ in range(count):
            at = datetime.now(UTC)
            asked[app.trigger_now(job_id)] = at
            time.sleep(0.02)
        wait_until(lambda: finished_runs(app, job_id) >= count, timeout=60)
    started = attempt_starts(app, job_id)
    app.database.dispose()
    waits = [(started[run_id] - at).total_seconds() * 1000 for run_id, at in asked.items()]
    p99 = percentile(waits, 99)
    note = f"{count} triggers; median {statistics.median(waits):.2f} ms, max {max(waits):.2f} ms"
    return Figure(store, "latency trigger -> start p99", p99, "ms", "<= 5", p99 <= 5, note)


def bench_precision(store: str, url: str, seconds: int) -> list[Figure]:
    """A job due every second for ``seconds`` s: how late each run was made and started.
    SQLite: scheduler and worker in one process; PostgreSQL: one process each."""
    app = Cronwell(url, migrate=False)
    job_id = noop_job(app, name="every-second", schedule="every 1s", overlap="allow")
    app.database.dispose()
    parts = ["scheduler,worker"] if store == "sqlite" else ["scheduler", "worker"]
    with _all(spawn(url, part) for part in parts):
        begin = datetime.now(UTC) + timedelta(seconds=1)
        time.sleep(seconds + 1.5)
    app = Cronwell(url, migrate=False)
    with app.database.transaction(write=False) as connection:
        rows = connection.execute(
            select(runs.c.id, runs.c.scheduled_for, runs.c.created_at, runs.c.started_at)
            .where(runs.c.job_id == job_id, runs.c.scheduled_for >= begin)
            .where(runs.c.scheduled_for <= begin + timedelta(seconds=seconds))
        ).all()
    app.database.dispose()
    made = [(row.created_at - row.scheduled_for).total_seconds() * 1000 for row in rows]
    late = [
        (row.started_at - row.scheduled_for).total_seconds() * 1000
        for row in rows
        if row.started_at is not None
    ]
    limit, how = (
        (2.0, "one process") if store == "sqlite" else (5.0, "scheduler + worker processes")
    )
    missing = seconds - len(late)
    note = f"{len(late)} runs in {seconds} s, {how}; made p99 {percentile(made, 99):.2f} ms"
    if missing > 0:
        note += f"; {missing} due times without a started run"
    p99 = percentile(late, 99) if late else float("inf")
    is_met = p99 <= limit and missing <= 0
    return [Figure(store, "firing lateness p99", p99, "ms", f"<= {limit:g}", is_met, note)]


def bench_scale(store: str, postgres_url: str | None, size: Size) -> list[Figure]:
    """``scale_jobs`` jobs stored, ``scale_due`` of them due in the same second: how long a
    scheduler process takes to make their runs, and its peak memory, beside a store that
    holds only the due jobs."""
    with fresh_database(store, postgres_url) as url:
        took, rss_all = _scale_once(url, size.scale_jobs, size.scale_due)
    made = Figure(
        store,
        f"scale: {size.scale_due:,} due runs made",
        took,
        "s",
        "<= 2",
        took <= 2,
        f"{size.scale_jobs:,} jobs stored",
    )
    if size is QUICK:
        return [made]  # the memory comparison needs a second store: full runs only
    with fresh_database(store, postgres_url) as url:
        _, rss_due = _scale_once(url, size.scale_due, size.scale_due)
    growth = rss_all / rss_due - 1
    return [
        made,
        Figure(
            store,
            "scale: scheduler peak memory growth",
            growth * 100,
            "%",
            "<= 10",
            growth <= 0.10,
            f"{rss_all / 2**20:.0f} MiB with {size.scale_jobs:,} jobs, "
            f"{rss_due / 2**20:.0f} MiB with {size.scale_due:,}",
        ),
    ]


def _scale_once(url: str, stored: int, due: int) -> tuple[float, int]:
    """Seconds from the due second until ``due`` runs exist, and the scheduler's peak RSS.

    Storing ``stored`` jobs takes this script far longer than the figure, so the jobs are
    stored first, all due hours ahead, and the scheduler process starts and goes idle on
    them. Then ``due`` of them are re-defined, in one transaction as ``cronwell apply``
    would commit them, to be due at a whole second a little ahead; the figure runs from
    that second."""
    database = Database(url)
    now = datetime.now(UTC)
    later = JobSpec.parse(
        {
            "name": "job",
            "task": "benchtasks:noop",
            "schedule": _daily_cron(now + timedelta(hours=12)),
        }
    )
    with database.transaction() as connection:
        for first in range(0, stored, 5000):
            names = range(first, min(stored, first + 5000))
            insert_jobs(connection, [replace(later, name=f"job-{n}") for n in names], now)
    with spawn(url, "scheduler") as child:
        time.sleep(1)  # the scheduler reads its first due time and goes to sleep on it
        due_at = _make_due(database, due)
        if datetime.now(UTC) > due_at - timedelta(milliseconds=100):
            print(f"warning: re-defining {due:,} jobs ended too close to their due time")
        wait_until(lambda: datetime.now(UTC) >= due_at, timeout=30)
        wait_until(lambda: _count_runs(database) >= due, timeout=60, every=0.005)
        took = (datetime.now(UTC) - due_at).total_seconds()
        rss = peak_rss(child.pid)
    database.dispose()
    return took, rss


def _make_due(database: Database, count: int) -> datetime:
    """Re-define jobs 0..count-1 to be due at a whole second 2-3 s ahead, in one transaction
    that signals the scheduler as a job change does; returns that second."""
    now = datetime.now(UTC)
    due_at = (now + timedelta(seconds=3)).replace(microsecond=0)
    spec = JobSpec.parse(
        {"name": "job", "task": "benchtasks:noop", "schedule": _daily_cron(due_at)}
    )
    canonical = spec.canonical()
    rows = [
        {"job_name": f"job-{n}", "spec": canonical | {"name": f"job-{n}"}} for n in range(count)
    ]
    statement = (
        update(jobs)
        .where(jobs.c.name == bindparam("job_name"), jobs.c.deleted_at.is_(None))
        .values(
            spec=bindparam("spec"),
            version=jobs.c.version + 1,
            next_due_at=due_at,
            planned_until=now,
            updated_at=now,
        )
    )
    with database.transaction() as connection:
        connection.execute(statement, rows)
        notify(connection, JOBS)
    return due_at


def _daily_cron(at: datetime) -> str:
    return f"{at.second} {at.minute} {at.hour} * * *"


def _count_runs(database: Database) -> int:
    with database.transaction(write=False) as connection:
        return int(connection.execute(select(func.count()).select_from(runs)).scalar_one())


def bench_floor(postgres_url: str, count: int) -> Figure:
    """The floor for one-by-one enqueue on PostgreSQL: a bare psycopg INSERT + COMMIT loop."""
    with (
        fresh_database("postgresql", postgres_url) as url,
        psycopg.connect(make_url(url).render_as_string(hide_password=False)) as connection,
    ):
        connection.execute("CREATE TABLE floor (id bigserial primary key, body text)")
        connection.commit()
        started = time.perf_counter()
        for _ in range(count):
            connection.execute("INSERT INTO floor (body) VALUES (%s)", ("x",))
            connection.commit()
        rate = count / (time.perf_counter() - started)
    return Figure("postgresql", "peer: bare psycopg INSERT+COMMIT", rate, "rows/s", "", None)


# --- helpers --------------------------------------------------------------------------------


def finished_runs(app: Cronwell, job_id: int) -> int:
    with app.database.transaction(write=False) as connection:
        query = select(func.count()).where(runs.c.job_id == job_id, runs.c.status.in_(FINISHED))
        return int(connection.execute(query).scalar_one())


def attempt_starts(app: Cronwell, job_id: int) -> dict[int, datetime]:
    with app.database.transaction(write=False) as connection:
        rows = connection.execute(
            select(runs.c.id, runs.c.started_at).where(runs.c.job_id == job_id)
        ).all()
    return {row.id: row.started_at for row in rows}


def wait_until(check: Callable[[], bool], timeout: float, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark waited too long")
        time.sleep(every)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


@contextmanager
def _all(managers: Any) -> Iterator[None]:
    with ExitStack() as stack:
        for manager in managers:
            stack.enter_context(manager)
        yield


# --- the run --------------------------------------------------------------------------------


GROUPS = ("enqueue", "drain", "process", "latency", "precision", "scale", "floor")


def run_store(
    store: str, postgres_url: str | None, size: Size, only: Sequence[str] = GROUPS
) -> list[Figure]:
    figures: list[Figure] = []
    steps: dict[str, Callable[[str], list[Figure]]] = {
        "enqueue": lambda url: bench_enqueue(store, url, size),
        "drain": lambda url: [bench_drain(store, url, size.drain_thread, "thread")],
        "process": lambda url: [bench_drain(store, url, size.drain_process, "process")],
        "latency": lambda url: [bench_latency(store, url, size.latency_triggers)],
        "precision": lambda url: bench_precision(store, url, size.precision_seconds),
    }
    for name, step in steps.items():
        if name in only:
            rounds = []
            for _ in range(size.rounds if name in ROUNDED else 1):
                with fresh_database(store, postgres_url) as url:
                    rounds.append(step(url))
            figures += medians(rounds)
    if "scale" in only:
        figures += bench_scale(store, postgres_url, size)
    if "floor" in only and store == "postgresql" and postgres_url is not None:
        floors = [[bench_floor(postgres_url, size.enqueue_one)] for _ in range(size.rounds)]
        figures += medians(floors)
    return figures


ROUNDED = ("enqueue", "drain", "latency")  # short enough to run size.rounds times


class Measured(Protocol):
    """A figure of one round: ours (``Figure``) or a peer's (``peers.Row``)."""

    @property
    def value(self) -> float: ...

    @property
    def note(self) -> str: ...


M = TypeVar("M", bound=Measured)


def medians(rounds: list[list[M]]) -> list[M]:
    """Each figure of the round whose value is the median of all rounds (its note is that
    round's), with every round's value in the note. The figures are dataclasses."""
    if len(rounds) == 1:
        return rounds[0]
    found = []
    for same in zip(*rounds, strict=True):
        middle = sorted(same, key=lambda figure: figure.value)[len(same) // 2]
        values = ", ".join(number(figure.value) for figure in same)
        note = "; ".join(part for part in (middle.note, f"median of {values}") if part)
        found.append(replace(middle, note=note))
    return found


def table(figures: list[Figure]) -> str:
    lines = [f"{'store':<11} {'figure':<38} {'value':>12} {'unit':<7} {'target':<9} result  note"]
    for figure in figures:
        result = {True: "PASS", False: "FAIL", None: ""}[figure.is_met]
        value = number(figure.value)
        lines.append(
            f"{figure.store:<11} {figure.name:<38} {value:>12} {figure.unit:<7} "
            f"{figure.target:<9} {result:<6}  {figure.note}".rstrip()
        )
    return "\n".join(lines)


def number(value: float) -> str:
    """A figure as the tables print it."""
    return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run; its figures are noise")
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres-url", default=os.environ.get(POSTGRES_ENV))
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument(
        "--only",
        default=",".join(GROUPS),
        help=f"comma-separated figures to run, of {','.join(GROUPS)} (default: all)",
    )
    args = parser.parse_args(argv)
    only = args.only.split(",")
    if unknown := set(only) - set(GROUPS):
        parser.error(f"--only: unknown figure(s) {', '.join(sorted(unknown))}")
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    if "postgresql" in stores and not args.postgres_url:
        parser.error(f"PostgreSQL needs --postgres-url or {POSTGRES_ENV}")
    size = QUICK if args.quick else FULL
    started = time.perf_counter()
    print(
        f"cronwell engine benchmark{' (quick: figures are noise)' if args.quick else ''}; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    figures: list[Figure] = []
    for store in stores:
        figures += run_store(store, args.postgres_url, size, only)
    print(table(figures))
    missed = [figure for figure in figures if figure.is_met is False]
    print(f"\nsummary: {sum(f.is_met is True for f in figures)} targets met, {len(missed)} missed")
    print(f"wall {time.perf_counter() - started:.1f} s")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        raise SystemExit(main())
