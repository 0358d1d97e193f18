"""Real cronwell processes for the end-to-end tests, and a read-only look at the store they share.

A ``Process`` is one ``cronwell ...`` command run as a child of the test, its output kept in a
file (a pipe nobody reads could fill up and stall it). ``Store`` reads the tables directly:
assertions come from what the store says, never from what a process printed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select

from cronwell.lifecycle import ACTIVE
from cronwell.policies.misfire import DEFAULT_ON_TIME_TOLERANCE
from cronwell.schedules import parse_schedule
from cronwell.store.database import Database
from cronwell.store.tables import attempts, jobs, leases, runs, workers

T = TypeVar("T")
CRONWELL = [sys.executable, "-c", "from cronwell.cli import entry_point; entry_point()"]
SECOND = timedelta(seconds=1)


def environment() -> dict[str, str]:
    """This environment without a database URL: each command names its own."""
    return {key: value for key, value in os.environ.items() if key != "CRONWELL_DATABASE_URL"}


def cronwell(cwd: Path, *args: str, timeout: float = 60) -> str:
    """Run a ``cronwell`` command to its end; its stdout. It must succeed."""
    done = subprocess.run(
        [*CRONWELL, *args],
        cwd=cwd,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"cronwell {' '.join(args)}: {done.stderr}"
    return done.stdout


def apply_job(cwd: Path, database: str, **job: Any) -> None:
    """Define one job with ``cronwell apply`` (a jobs file in JSON, which YAML reads)."""
    path = cwd / f"{job['name']}.yaml"
    path.write_text(json.dumps({"jobs": [job]}))
    cronwell(cwd, "apply", str(path), "--database", database)


def now() -> datetime:
    return datetime.now(UTC)


def eventually(
    check: Callable[[], T | None],
    timeout: float,
    what: str,
    *,
    state: Callable[[], str] | None = None,
) -> T:
    """Poll ``check`` until it returns something truthy, and return that; fail after
    ``timeout`` seconds, saying ``what`` was awaited and, with ``state``, what was found."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            found_state = "" if state is None else f"\n{state()}"
            raise AssertionError(f"not within {timeout} s: {what}{found_state}")
        time.sleep(0.1)


class Process:
    """``cronwell ARGS`` running in the background, e.g. a scheduler or a worker."""

    def __init__(self, cwd: Path, name: str, *args: str) -> None:
        self.name = name
        self.log = cwd / f"{name}.log"
        with self.log.open("w") as log:
            self.popen = subprocess.Popen(
                [*CRONWELL, *args],
                cwd=cwd,
                env=environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text()

    def is_up(self) -> bool:
        """Its loops have started (``_serve`` says so right after ``start()``)."""
        return "is running on" in self.output()

    def wait_up(self, timeout: float = 30) -> None:
        def up() -> bool:
            assert self.popen.poll() is None, f"{self.name} exited:\n{self.output()}"
            return self.is_up()

        eventually(up, timeout, f"{self.name} started")

    def terminate(self, timeout: float = 60) -> float:
        """SIGTERM, then wait for a clean exit; how many seconds it took."""
        sent = time.monotonic()
        self.popen.send_signal(signal.SIGTERM)
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            raise AssertionError(f"{self.name} did not stop:\n{self.output()}") from None
        took = time.monotonic() - sent
        assert code == 0, f"{self.name} exited {code}:\n{self.output()}"
        assert self.output().rstrip().endswith("stopped."), self.output()
        return took

    def kill(self) -> datetime:
        """SIGKILL: no clean-up of any kind; the instant it was sent."""
        at = now()
        self.popen.kill()
        self.popen.wait(10)
        return at

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *_: object) -> None:
        if self.popen.poll() is None:  # a test that failed half-way leaves nothing behind
            self.popen.kill()
            self.popen.wait(10)


def keep_running(seconds: float, *processes: Process) -> None:
    """Let ``processes`` work for ``seconds``; each must stay alive meanwhile."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for process in processes:
            assert process.popen.poll() is None, f"{process.name} died:\n{process.output()}"
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))


@dataclass(frozen=True, slots=True)
class Run:
    id: int
    job: str
    scheduled_for: datetime
    trigger: str
    status: str
    reason: str | None
    attempts: int
    max_attempts: int
    not_before: datetime
    lease_owner: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class Attempt:
    run_id: int
    number: int
    worker_id: str | None
    status: str
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class Worker:
    id: str
    pid: int
    started_at: datetime
    stopped_at: datetime | None


@dataclass(frozen=True, slots=True)
class Lease:
    owner: str
    acquired_at: datetime
    expires_at: datetime
    takeovers: int
    holder: str | None  # "host pid N"


class Store:
    """Reads of the store the processes share (a connection only while reading)."""

    def __init__(self, url: str) -> None:
        self.database = Database(url)

    def close(self) -> None:
        self.database.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def runs(self, job: str | None = None) -> list[Run]:
        """Runs (of ``job``), by due time."""
        columns = [column for column in runs.c if column.name in Run.__slots__]
        query = select(*columns, jobs.c.name.label("job")).join(jobs, jobs.c.id == runs.c.job_id)
        if job is not None:
            query = query.where(jobs.c.name == job)
        rows = self._all(query.order_by(runs.c.scheduled_for, runs.c.id))
        return [Run(**row._mapping) for row in rows]

    def all_ended(self) -> bool:
        """No run is waiting, pending, running or retrying."""
        return not any(run.status in ACTIVE for run in self.runs())

    def dump(self) -> str:
        """Every run and attempt, one a line: what a failed wait prints."""
        lines = [f"{run}" for run in self.runs()]
        return "\n".join([*lines, *(f"{attempt}" for attempt in self.attempts())])

    def attempts(self, run_id: int | None = None) -> list[Attempt]:
        """Attempts (of one run), by run and number."""
        columns = [column for column in attempts.c if column.name in Attempt.__slots__]
        query = select(*columns).order_by(attempts.c.run_id, attempts.c.number)
        if run_id is not None:
            query = query.where(attempts.c.run_id == run_id)
        return [Attempt(**row._mapping) for row in self._all(query)]

    def workers(self) -> dict[int, Worker]:
        """Registered workers by pid."""
        columns = [column for column in workers.c if column.name in Worker.__slots__]
        found = [Worker(**row._mapping) for row in self._all(select(*columns))]
        return {worker.pid: worker for worker in found}

    def leader(self) -> Lease | None:
        """The scheduler's leader lease, if anyone holds it."""
        columns = [column for column in leases.c if column.name in Lease.__slots__]
        rows = self._all(select(*columns).where(leases.c.name == "scheduler"))
        return Lease(**rows[0]._mapping) if rows else None

    def job_created_at(self, name: str) -> datetime:
        rows = self._all(select(jobs.c.created_at).where(jobs.c.name == name))
        created: datetime = rows[0].created_at
        return created

    def _all(self, query: Any) -> list[Any]:
        with self.database.transaction(write=False) as connection:
            return list(connection.execute(query).all())


def first_due(schedule: str, created_at: datetime) -> datetime:
    """The first due time of a job on ``schedule`` defined at ``created_at``."""
    due = parse_schedule(schedule).next_after(created_at)
    assert due is not None
    return due


def assert_each_due_once(
    due: list[datetime], *, first: datetime, last_at_least: datetime, every: timedelta = SECOND
) -> None:
    """``due`` holds each due time from ``first`` on, ``every`` apart, exactly once, up to
    ``last_at_least`` or later: nothing fired twice, nothing left out."""
    duplicates = sorted({at for at in due if due.count(at) > 1})
    assert not duplicates, f"fired twice: {duplicates}"
    ordered = sorted(due)
    gaps = [(a, b) for a, b in pairwise(ordered) if b - a != every]
    assert not gaps, f"due times left out between: {gaps}"
    assert ordered, "something fired"
    assert ordered[0] == first, f"the first due time {first} fired first, not {ordered[0]}"
    assert ordered[-1] >= last_at_least, f"still firing at {last_at_least}, last {ordered[-1]}"


def assert_planned_by_policy(runs: list[Run], every: timedelta = SECOND) -> None:
    """Each scheduler tick (the runs created at one instant) planned every due time up to
    it by the default misfire policy: the newest on time (within the tolerance) runs as
    scheduled, the newest late one is caught up once, older late ones are skipped as missed.
    So a due time is late, or skipped, only where the store shows its tick came late."""
    ticks: dict[datetime, list[Run]] = {}
    for run in runs:
        ticks.setdefault(run.created_at, []).append(run)
    for at, planned in ticks.items():
        planned.sort(key=lambda run: run.scheduled_for)
        assert at - planned[-1].scheduled_for < every, f"a tick left a due time: {planned}"
        is_on_time = at - planned[-1].scheduled_for <= DEFAULT_ON_TIME_TOLERANCE
        late = planned[:-1] if is_on_time else planned
        if is_on_time:
            assert (planned[-1].trigger, planned[-1].reason) == ("schedule", None), planned
        if late:
            *missed, caught_up = late
            assert caught_up.trigger == "misfire" and caught_up.status != "skipped", planned
            assert {(run.trigger, run.status, run.reason) for run in missed} <= {
                ("misfire", "skipped", "missed")
            }, planned


def on_time_share(runs: list[Run]) -> float:
    """The share of due times fired by a tick that was on time for them."""
    return sum(run.trigger == "schedule" for run in runs) / max(1, len(runs))
