"""The peers in the same run: huey, procrastinate, oban and APScheduler measured on the
figures of ``bench/engine.py``, beside cronwell's, with ratios. See bench/README.md.

    .venv/bin/python bench/peers.py [--quick] [--only enqueue,drain,latency,precision]
                                    [--peers huey,procrastinate,oban,apscheduler]
                                    [--postgres-url URL] [--no-cronwell]

The peers never load into this process: they are installed, at pinned versions, in a
bench-only virtualenv (``bench/.peers-venv``, made on the first run and kept), and each
figure runs them as child processes of that virtualenv (the modules of ``bench/peertasks``).
Their tasks append ``key time.time()`` to a marks file when they begin; the figures are
counted from those marks, not from logs. Every figure gets a fresh database: a temporary
SQLite file, or a new database on the PostgreSQL server, dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

import engine
from engine import FULL, POSTGRES_ENV, QUICK, Figure, Size, medians, number, percentile

BENCH = Path(__file__).resolve().parent
VENV = BENCH / ".peers-venv"
GROUPS = ("enqueue", "drain", "latency", "precision")
CONSUMER_CONCURRENCY = 16
LATENCY_GAP = 0.02


@dataclass(frozen=True, slots=True)
class Peer:
    """A peer library: what to install, where it keeps its queue and which figures it has."""

    name: str
    pins: tuple[str, ...]
    module: str
    stores: tuple[str, ...]
    groups: tuple[str, ...]
    min_python: tuple[int, int] = (3, 8)
    variant: str = ""  # PEER_VARIANT for the module: another way of running the same peer


PEERS = (
    Peer(
        "huey",
        ("huey==3.5.4",),
        "peertasks.huey_peer",
        ("sqlite",),
        ("enqueue", "drain", "latency"),
    ),
    Peer(
        "procrastinate",
        ("procrastinate==3.10.0", "psycopg[binary]==3.3.9", "psycopg-pool==3.3.3"),
        "peertasks.procrastinate_peer",
        ("postgresql",),
        ("enqueue", "drain", "latency"),
    ),
    Peer(
        "procrastinate-async",
        ("procrastinate==3.10.0", "psycopg[binary]==3.3.9", "psycopg-pool==3.3.3"),
        "peertasks.procrastinate_peer",
        ("postgresql",),
        ("drain", "latency"),
        variant="async",
    ),
    Peer(
        "oban",
        ("oban==0.7.0", "psycopg[binary]==3.3.9", "psycopg-pool==3.3.3"),
        "peertasks.oban_peer",
        ("postgresql",),
        ("enqueue", "drain", "latency"),
        min_python=(3, 12),
    ),
    Peer(
        "apscheduler",
        ("APScheduler==3.11.3", "SQLAlchemy==2.1.9"),
        "peertasks.apscheduler_peer",
        ("memory", "sqlite"),
        ("precision",),
    ),
)


@dataclass(frozen=True, slots=True)
class Row:
    """One figure of one peer, beside cronwell's same figure when this run measured it."""

    store: str
    name: str
    peer: str
    value: float
    unit: str
    note: str = ""
    cronwell: float | None = None


class PeerError(RuntimeError):
    """A peer's child process failed; the message ends with its stderr's last lines."""


# --- the bench-only virtualenv ---------------------------------------------------------------


def peers_python(asked: str | None) -> str:
    """The interpreter for the peers' virtualenv: the one asked for, else the oldest Python
    3.12 or newer that pyenv or PATH offers (oban needs 3.12), else this one."""
    if asked:
        return asked
    found: list[tuple[tuple[int, int], str]] = []
    candidates = sorted(Path.home().glob(".pyenv/versions/3.*/bin/python3"))
    candidates += [Path(f"/usr/bin/python3.{minor}") for minor in range(12, 16)]
    for candidate in candidates:
        version = _version_of(str(candidate))
        if version and version >= (3, 12):
            found.append((version, str(candidate)))
    return min(found)[1] if found else sys.executable


def _version_of(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    if out.returncode != 0:
        return None
    major, minor = out.stdout.split()
    return int(major), int(minor)


def ensure_venv(peers: Sequence[Peer], python: str | None) -> dict[str, str | None]:
    """Make (once) the bench-only virtualenv and install each peer's pins in it. Returns,
    per peer, None when it is ready or why it is not. A peer's pins are installed on their
    own, so one that fails leaves the others usable; what installed is remembered in
    ``installed-<peer>.txt`` and not asked of the registry again."""
    venv_python = VENV / "bin" / "python"
    if not venv_python.exists():
        base = peers_python(python)
        print(f"making the peers' virtualenv {VENV} with {base}", flush=True)
        subprocess.run([base, "-m", "venv", str(VENV)], check=True)
    version = _version_of(str(venv_python))
    assert version is not None
    status: dict[str, str | None] = {}
    for peer in peers:
        status[peer.name] = _install(peer, str(venv_python), version)
    return status


def _install(peer: Peer, venv_python: str, version: tuple[int, int]) -> str | None:
    if version < peer.min_python:
        wanted = ".".join(map(str, peer.min_python))
        return f"needs Python >= {wanted}; the peers' virtualenv has {version[0]}.{version[1]}"
    stamp = VENV / f"installed-{peer.name}.txt"
    wanted_pins = "\n".join(peer.pins)
    if stamp.exists() and stamp.read_text() == wanted_pins:
        return None
    print(f"installing {' '.join(peer.pins)} in the peers' virtualenv", flush=True)
    out = subprocess.run(
        [venv_python, "-m", "pip", "install", "--quiet", *peer.pins],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        lines = [line for line in out.stderr.splitlines() if "ERROR" in line]
        return "pip install failed: " + (lines[-1] if lines else out.stderr.strip()[-300:])
    stamp.write_text(wanted_pins)
    return None


# --- child processes and databases ---------------------------------------------------------


def child_env(peer: Peer, database: str, marks: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return {
        **keep,
        "PYTHONPATH": str(BENCH),
        "PEER_DB": database,
        "PEER_MARKS": str(marks),
        "PEER_VARIANT": peer.variant,
    }


def ask(peer: Peer, env: dict[str, str], action: str, *args: object, timeout: float = 600) -> Any:
    """Run one action of the peer's module in the peers' virtualenv; its JSON answer."""
    argv = [str(VENV / "bin" / "python"), "-m", peer.module, action, *map(str, args)]
    out = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if out.returncode != 0:
        tail = "\n".join(out.stderr.strip().splitlines()[-5:])
        raise PeerError(f"{peer.name} {action} exited {out.returncode}: {tail}")
    return json.loads(out.stdout.strip().splitlines()[-1])


@contextmanager
def consumer(peer: Peer, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The peer's consumer (worker) process, stopped with SIGTERM afterwards."""
    argv = [str(VENV / "bin" / "python"), "-m", peer.module, "consume", CONSUMER_CONCURRENCY]
    with log.open("wb") as out:
        child = subprocess.Popen(list(map(str, argv)), env=env, stdout=out, stderr=out)
    try:
        yield child
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@contextmanager
def peer_database(peer: Peer, store: str, postgres_url: str | None) -> Iterator[str]:
    """A fresh database for one figure, set up with the peer's schema; removed afterwards."""
    if store != "postgresql":
        with tempfile.TemporaryDirectory(prefix=f"peer-{peer.name}-") as folder:
            yield "memory" if store == "memory" else f"{folder}/{peer.name}.db"
        return
    assert postgres_url is not None
    name = f"peer_bench_{peer.name}_{uuid.uuid4().hex[:8]}"
    _admin(postgres_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(postgres_url, f'DROP DATABASE "{name}" WITH (FORCE)')


def _admin(url: str, statement: str) -> None:
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(statement.encode())


def read_marks(path: Path) -> dict[int, float]:
    """key -> when its task began, from the marks file (a key marked twice keeps its first)."""
    marks: dict[int, float] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            key, at = line.split()
            marks.setdefault(int(key), float(at))
    return marks


def count_marks(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


# --- the figures -----------------------------------------------------------------------------


@contextmanager
def workspace(
    peer: Peer, store: str, postgres_url: str | None
) -> Iterator[tuple[dict[str, str], Path]]:
    """A fresh database with the peer's schema, a marks file, and the children's env."""
    with (
        peer_database(peer, store, postgres_url) as database,
        tempfile.TemporaryDirectory(prefix="peer-marks-") as folder,
    ):
        marks = Path(folder) / "marks.txt"
        env = child_env(peer, database, marks)
        if store != "memory" and "precision" not in peer.groups:
            ask(peer, env, "setup")
        yield env, marks


def peer_enqueue(peer: Peer, store: str, url: str | None, size: Size) -> list[Row]:
    with workspace(peer, store, url) as (env, _):
        rates = ask(peer, env, "enqueue", size.enqueue_one, size.enqueue_bulk)
    rows = [
        Row(
            store,
            "enqueue one by one",
            peer.name,
            rates["one"],
            "runs/s",
            f"{size.enqueue_one:,} one by one; {load()}",
        )
    ]
    if rates["bulk"] is None:
        print(f"note: {peer.name} has no bulk enqueue; no 'enqueue in bulk' figure")
    else:
        rows.append(
            Row(
                store,
                "enqueue in bulk",
                peer.name,
                rates["bulk"],
                "runs/s",
                f"{size.enqueue_bulk:,} in one call; {load()}",
            )
        )
    return rows


def peer_drain(peer: Peer, store: str, url: str | None, size: Size) -> list[Row]:
    """``drain_thread`` no-op tasks enqueued first; then one consumer process drains them;
    tasks / (the last task's start - the first task's start), from the marks."""
    count = size.drain_thread
    with workspace(peer, store, url) as (env, marks):
        ask(peer, env, "fill", count)
        with consumer(peer, env, marks.with_name("consumer.log")):
            engine.wait_until(lambda: count_marks(marks) >= count, timeout=count / 5 + 120)
        starts = sorted(read_marks(marks).values())
    rate = (len(starts) - 1) / (starts[-1] - starts[0])
    note = f"{count} tasks, concurrency {CONSUMER_CONCURRENCY}; {load()}"
    return [Row(store, "drain, thread mode", peer.name, rate, "runs/s", note)]


def peer_latency(peer: Peer, store: str, url: str | None, size: Size) -> list[Row]:
    """An idle consumer; ``latency_triggers`` enqueues 20 ms apart from another process;
    from just before each enqueue call to its task's start, p99."""
    count = size.latency_triggers
    with workspace(peer, store, url) as (env, marks):
        with consumer(peer, env, marks.with_name("consumer.log")):
            ask(peer, env, "fill", 1)  # the consumer is up once this task has run
            engine.wait_until(lambda: count_marks(marks) >= 1, timeout=60)
            marks.write_text("")
            time.sleep(1)  # idle
            asked = ask(peer, env, "trigger", count, LATENCY_GAP)
            with suppress(TimeoutError):  # reported as missing below
                engine.wait_until(lambda: count_marks(marks) >= count, timeout=60)
        started = read_marks(marks)
    waits = [(started[int(k)] - at) * 1000 for k, at in asked.items() if int(k) in started]
    note = (
        f"{count} enqueues; median {statistics.median(waits):.2f} ms, "
        f"max {max(waits):.2f} ms; {load()}"
    )
    if len(waits) < count:
        note += f"; {count - len(waits)} never started"
    return [
        Row(store, "latency trigger -> start p99", peer.name, percentile(waits, 99), "ms", note)
    ]


def peer_precision(peer: Peer, store: str, url: str | None, size: Size) -> list[Row]:
    """A job due every second for ``precision_seconds`` s; its start - its due time, p99."""
    seconds = size.precision_seconds
    with workspace(peer, store, url) as (env, marks):
        answer = ask(peer, env, "precision", seconds, timeout=seconds + 120)
        first = answer["first"]
        late = []
        for line in marks.read_text().splitlines():
            at = float(line.split()[1])
            due = first + round(at - first)
            if first <= due < first + seconds:
                late.append((at - due) * 1000)
    where = "in memory" if store == "memory" else "SQLAlchemyJobStore on SQLite"
    note = f"{len(late)} runs in {seconds} s, {where}; median {statistics.median(late):.2f} ms"
    if len(late) < seconds:
        note += f"; {seconds - len(late)} due times without a run"
    return [
        Row(
            store, "firing lateness p99", peer.name, percentile(late, 99), "ms", f"{note}; {load()}"
        )
    ]


STEPS: dict[str, Callable[[Peer, str, str | None, Size], list[Row]]] = {
    "enqueue": peer_enqueue,
    "drain": peer_drain,
    "latency": peer_latency,
    "precision": peer_precision,
}


# --- the run ---------------------------------------------------------------------------------


def cronwell_figures(
    group: str, stores: Sequence[str], url: str | None, size: Size
) -> list[Figure]:
    figures: list[Figure] = []
    for store in stores:
        figures += engine.run_store(store, url, size, [group])
    return figures


def table(rows: list[Row]) -> str:
    lines = [
        f"{'store':<11} {'figure':<30} {'peer':<19} {'value':>10} {'unit':<7} "
        f"{'cronwell':>10} {'ratio':>6}  note"
    ]
    for row in rows:
        ours = "" if row.cronwell is None else number(row.cronwell)
        ratio = "" if row.cronwell is None else f"{row.cronwell / row.value:.2f}"
        lines.append(
            f"{row.store:<11} {row.name:<30} {row.peer:<19} {number(row.value):>10} "
            f"{row.unit:<7} {ours:>10} {ratio:>6}  {row.note}".rstrip()
        )
    return "\n".join(lines)


def versions(status: dict[str, str | None]) -> str:
    ready = [peer for peer in PEERS if status.get(peer.name) is None and peer.name in status]
    pins = sorted({pin for peer in ready for pin in peer.pins if "==" in pin})
    python = subprocess.run(
        [str(VENV / "bin" / "python"), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return f"peers (Python {python}): {', '.join(pins)}"


def run(args: argparse.Namespace, peers: list[Peer], size: Size) -> tuple[list[Row], list[Figure]]:
    stores = ["sqlite"] + (["postgresql"] if args.postgres_url else [])
    rows: list[Row] = []
    measured: list[Figure] = []
    for group in args.only:
        ours: dict[tuple[str, str], float] = {}
        if not args.no_cronwell:
            for figure in cronwell_figures(group, stores, args.postgres_url, size):
                ours[(figure.store, figure.name)] = figure.value
                measured.append(figure)
        for peer in peers:
            if group not in peer.groups:
                continue
            for store in peer.stores:
                if store == "postgresql" and not args.postgres_url:
                    print(f"skipped: {peer.name} needs PostgreSQL (--postgres-url, {POSTGRES_ENV})")
                    continue
                print(f"running {peer.name} {group} ({store}), {load()}", flush=True)
                try:
                    rounds = size.rounds if group in engine.ROUNDED else 1
                    found = medians(
                        [STEPS[group](peer, store, args.postgres_url, size) for _ in range(rounds)]
                    )
                except (PeerError, TimeoutError, subprocess.TimeoutExpired) as error:
                    print(f"FAILED: {peer.name} {group} ({store}): {error}")
                    continue
                for row in found:
                    # cronwell has no in-memory store: the in-memory peer is set beside SQLite
                    key = ("sqlite" if row.store == "memory" else row.store, row.name)
                    rows.append(Row(**{**_fields(row), "cronwell": ours.get(key)}))
    return rows, measured


def _fields(row: Row) -> dict[str, Any]:
    return {name: getattr(row, name) for name in Row.__slots__}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run; its figures are noise")
    parser.add_argument("--postgres-url", default=os.environ.get(POSTGRES_ENV))
    parser.add_argument("--only", default=",".join(GROUPS), help="comma-separated figures")
    parser.add_argument("--peers", default=",".join(peer.name for peer in PEERS))
    parser.add_argument("--no-cronwell", action="store_true", help="the peers' figures only")
    parser.add_argument("--peers-python", help="the interpreter for the peers' virtualenv")
    args = parser.parse_args(argv)
    args.only = args.only.split(",")
    if unknown := set(args.only) - set(GROUPS):
        parser.error(f"--only: unknown figure(s) {', '.join(sorted(unknown))}")
    wanted = args.peers.split(",")
    if unknown := set(wanted) - {peer.name for peer in PEERS}:
        parser.error(f"--peers: unknown peer(s) {', '.join(sorted(unknown))}")
    size = QUICK if args.quick else FULL
    started = time.perf_counter()
    status = ensure_venv([peer for peer in PEERS if peer.name in wanted], args.peers_python)
    for name, reason in status.items():
        if reason is not None:
            print(f"skipped: {name}: {reason}")
    peers = [peer for peer in PEERS if status.get(peer.name, "") is None]
    print(
        f"cronwell peers benchmark{' (quick: figures are noise)' if args.quick else ''}; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs; {load()} at the start"
    )
    print(versions(status))
    rows, ours = run(args, peers, size)
    if ours:
        print("\ncronwell, in this run (bench/engine.py's figures and targets):")
        print(engine.table(ours))
    print("\nthe peers, beside cronwell's same figure:")
    print(table(rows))
    print(
        "\nratio: cronwell / peer. runs/s: above 1 cronwell is faster; ms: below 1 cronwell "
        "is quicker. memory rows are set beside cronwell on SQLite."
    )
    print(f"{load()} at the end; wall {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
