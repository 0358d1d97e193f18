"""The scheduler's loop on a scripted clock over real stores: it sleeps until due times, not
for spans; it renews its lease a third of the lease apart however often it wakes; a wake-up
that changed nothing costs a read, never a tick."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import select

from cronwell.engine.clock import ManualClock
from cronwell.engine.leader import LeaderLease
from cronwell.engine.scheduler import LEAD, Scheduler
from cronwell.spec import JobSpec
from cronwell.store.database import Database
from cronwell.store.jobs import insert_jobs
from cronwell.store.tables import runs

START = datetime(2026, 6, 1, 10, 0, 0, 500000, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def add_jobs(database: Database, count: int, **definition: Any) -> None:
    specs = [
        JobSpec.parse({"name": f"job-{n}", "command": "true", **definition}) for n in range(count)
    ]
    with database.transaction() as connection:
        insert_jobs(connection, specs, START)


class ScriptedClock(ManualClock):
    """A manual clock whose sleeps are recorded and move it on; ``between`` acts after each."""

    def __init__(self, between: Callable[[ScriptedClock, threading.Event], None]) -> None:
        super().__init__(START)
        self.between = between
        self.sleeps: list[tuple[datetime, float]] = []

    def sleep(self, seconds: float, wake: threading.Event) -> None:
        self.sleeps.append((self.now(), seconds))
        self.advance(timedelta(seconds=seconds))
        self.between(self, wake)


class SlowScheduler(Scheduler):
    """Each tick takes ``took`` of the clock's time, as a real one takes time."""

    took = timedelta(milliseconds=40)
    ticks = 0

    def tick(self, now: datetime | None = None) -> timedelta:
        self.ticks += 1
        wait = super().tick(now)
        assert isinstance(self.clock, ManualClock)
        self.clock.advance(self.took)
        return wait


def until(
    moment: datetime, stop: threading.Event
) -> Callable[[ScriptedClock, threading.Event], None]:
    def between(clock: ScriptedClock, _wake: threading.Event) -> None:
        if clock.now() >= moment:
            stop.set()

    return between


def test_due_times_are_slept_until_so_a_slow_tick_makes_nothing_late(database: Database) -> None:
    add_jobs(database, 1, schedule="* * * * *", overlap="allow")
    stop = threading.Event()
    clock = ScriptedClock(until(START + 3 * MINUTE, stop))
    SlowScheduler(database, clock).run(stop)
    with database.transaction(write=False) as connection:
        made = connection.execute(select(runs.c.scheduled_for, runs.c.created_at)).all()
    assert [row.scheduled_for.minute for row in made] == [1, 2, 3]
    assert all(row.created_at == row.scheduled_for for row in made), "made on the dot"


def test_a_due_time_is_planned_a_lead_before_it_comes_for_its_own_instant(
    database: Database,
) -> None:
    add_jobs(database, 1, schedule="* * * * *", overlap="allow")
    stop = threading.Event()
    clock = ScriptedClock(until(START + 2 * MINUTE, stop))
    ticked: list[tuple[datetime, datetime | None]] = []

    class Recording(SlowScheduler):
        def tick(self, now: datetime | None = None) -> timedelta:
            ticked.append((self.clock.now(), now))
            return super().tick(now)

    Recording(database, clock).run(stop)
    due = START.replace(microsecond=0) + MINUTE
    assert ticked == [(due - LEAD, due), (due + MINUTE - LEAD, due + MINUTE)]


def test_workers_are_signalled_again_when_runs_planned_ahead_become_claimable(
    database: Database,
) -> None:
    add_jobs(database, 1, schedule="* * * * *", overlap="allow")
    stop = threading.Event()
    clock = ScriptedClock(until(START + 2 * MINUTE, stop))
    scheduler = SlowScheduler(database, clock)
    scheduler.took = timedelta(milliseconds=1)
    signalled: list[datetime] = []
    scheduler.on_new_runs = lambda: signalled.append(clock.now())
    scheduler.run(stop)
    due = START.replace(microsecond=0) + MINUTE
    assert signalled == [due - LEAD, due, due + MINUTE - LEAD, due + MINUTE]


def test_the_lease_is_renewed_after_ticks_not_per_batch_nor_in_front_of_them(
    database: Database,
) -> None:
    add_jobs(database, 12, schedule="* * * * *", overlap="allow")
    stop = threading.Event()
    clock = ScriptedClock(until(START + 2 * MINUTE, stop))
    ticks: list[datetime] = []
    renewals: list[datetime] = []

    class CountingLease(LeaderLease):
        def tick(self, now: datetime | None = None) -> timedelta:
            renewals.append(self.clock.now())
            return super().tick(now)

    class Recording(SlowScheduler):
        def tick(self, now: datetime | None = None) -> timedelta:
            ticks.append(self.clock.now())
            return super().tick(now)

    ttl = timedelta(seconds=15)
    Recording(database, clock, batch=5).run(stop, CountingLease(database, clock, ttl=ttl))
    gaps = [later - earlier for earlier, later in pairwise(renewals)]
    assert gaps and min(gaps) >= ttl / 10, "a burst of batches renews once"
    assert max(gaps) <= ttl / 3 + SlowScheduler.took, "and idle, a third of the lease apart"
    for due in (START.replace(microsecond=0) + n * MINUTE for n in (1, 2)):
        burst = [at for at in ticks if due - LEAD <= at < due + timedelta(seconds=1)]
        assert len(burst) == 3, "three batches"
        assert not [at for at in renewals if burst[0] - timedelta(seconds=1) < at < burst[0]]
        assert [at for at in renewals if burst[0] < at < burst[-1] + timedelta(seconds=1)]
    with database.transaction(write=False) as connection:
        assert len(connection.execute(select(runs.c.id)).all()) == 24


def test_a_leader_held_up_past_its_lease_renews_before_it_ticks(database: Database) -> None:
    add_jobs(database, 1, schedule="every 1s", overlap="allow")
    stop = threading.Event()
    ttl = timedelta(seconds=6)
    other = LeaderLease(database, ManualClock(START), ttl=ttl)

    def between(clock: ScriptedClock, _wake: threading.Event) -> None:
        if len(clock.sleeps) == 1:  # held up (a stopped process) until the lease ran out
            clock.advance(ttl + timedelta(seconds=1))
            assert other.tick(clock.now()) == ttl / 3 and other.is_leader
        else:
            stop.set()

    clock = ScriptedClock(between)
    lease = LeaderLease(database, clock, ttl=ttl)
    SlowScheduler(database, clock).run(stop, lease)
    assert not lease.is_leader
    with database.transaction(write=False) as connection:
        assert connection.execute(select(runs.c.id)).all() == [], "the new leader's to fire"


def test_a_wake_up_that_changed_nothing_does_not_tick(database: Database) -> None:
    add_jobs(database, 1, schedule="* * * * *", overlap="allow")
    stop = threading.Event()

    def between(clock: ScriptedClock, wake: threading.Event) -> None:
        if len(clock.sleeps) < 4:
            clock.set(clock.now() - timedelta(seconds=clock.sleeps[-1][1] - 1))
            wake.set()  # woken a second into each sleep: a signal, nothing due
        else:
            stop.set()

    clock = ScriptedClock(between)
    scheduler = SlowScheduler(database, clock)
    scheduler.run(stop)
    assert scheduler.ticks == 0, "nothing was due: every pass only read"
    first = 59.5 - LEAD.total_seconds()
    assert [round(seconds, 3) for _, seconds in clock.sleeps] == [first - n for n in range(4)]


def test_a_wake_up_that_made_a_job_due_ticks_at_once(database: Database) -> None:
    add_jobs(database, 1, schedule="0 0 * * *", overlap="allow")
    stop = threading.Event()

    def between(clock: ScriptedClock, wake: threading.Event) -> None:
        if len(clock.sleeps) == 1:
            clock.set(START + timedelta(seconds=1))
            add_jobs(database, 1, name="soon", schedule="every 1s", overlap="allow")
            wake.set()
        elif clock.now() >= START + timedelta(seconds=3):
            stop.set()

    clock = ScriptedClock(between)
    SlowScheduler(database, clock).run(stop)
    with database.transaction(write=False) as connection:
        made = connection.execute(select(runs.c.scheduled_for).order_by(runs.c.id)).scalars().all()
    assert made[0] == START.replace(microsecond=0) + timedelta(seconds=1)
