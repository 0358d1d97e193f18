"""The reaper: takes back runs whose worker died or stalled, and retries them by their policy.

Guarantee 2 (at-least-once): a run whose lease expired is never left running; it comes back
as retrying after its job's retry delay, or dead when its attempts are exhausted.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from cronwell.engine.clock import Clock, SystemClock
from cronwell.engine.loops import Backoff, survive
from cronwell.engine.specs import SpecCache
from cronwell.lifecycle import AttemptStatus, RunStatus
from cronwell.policies import settle
from cronwell.spec import OnDead
from cronwell.store.database import Database
from cronwell.store.edges import fire_downstreams
from cronwell.store.jobs import disable_dead, specs_of
from cronwell.store.runs import earliest_lease_expiry, retry_taken_back, take_back_expired

BATCH = 500
INTERVAL = timedelta(seconds=5)  # the longest sleep: runs claimed meanwhile have later leases


class Reaper:
    def __init__(
        self,
        database: Database,
        clock: Clock | None = None,
        *,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.database = database
        self.clock = clock or SystemClock()
        self._rand = rand
        self._specs = SpecCache()

    def tick(self, now: datetime | None = None) -> timedelta:
        """Take back every run whose lease expired before ``now``; how long until next time."""
        now = now or self.clock.now()
        with self.database.transaction() as connection:
            taken = take_back_expired(connection, now, BATCH)
            lost = [run for run in taken if not run.is_cancelled]
            specs = specs_of(connection, [run.job_id for run in lost])
            dead: list[int] = []
            disabled: list[int] = []
            for run in lost:
                version, canonical = specs[run.job_id]
                spec = self._specs.get(run.job_id, version, canonical)
                settled = settle(
                    spec.retry,
                    AttemptStatus.LOST,
                    run.attempt,
                    now,
                    self._rand(),
                    max_attempts=run.max_attempts,
                )
                is_moved = retry_taken_back(
                    connection, run.id, not_before=settled.not_before, now=now
                )
                if is_moved and settled.status is RunStatus.DEAD:
                    dead.append(run.id)
                if settled.status is RunStatus.DEAD and spec.on_dead is OnDead.DISABLE:
                    disabled.append(run.job_id)
            # Every dead run fires at once, each before its job is disabled, as one at a time.
            fire_downstreams(connection, dead, now)  # fallbacks, on-failure edges
            for job_id in disabled:
                disable_dead(connection, job_id, reason="the lease expired", now=now)
            expiry = earliest_lease_expiry(connection)
        # Wake just after the first lease left runs out: a lost run is retried promptly.
        if len(taken) == BATCH:
            return timedelta(0)
        if expiry is None:
            return INTERVAL
        return min(INTERVAL, max(timedelta(0), expiry - now) + timedelta(milliseconds=10))

    def run(self, stop: threading.Event) -> None:
        backoff = Backoff()
        while not stop.is_set():
            pause = survive(self.tick, backoff, "the reaper")
            self.clock.sleep(pause.total_seconds(), stop)
