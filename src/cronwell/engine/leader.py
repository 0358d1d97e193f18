"""The leader lease: of many schedulers, one ticks; the others stand by and take over within
the lease time when it stops renewing. The unique (job, due time) constraint stays the safety
net underneath: even two leaders could not fire a due time twice."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from cronwell.engine.clock import Clock, SystemClock
from cronwell.store.database import Database
from cronwell.store.leases import hold, release

NAME = "scheduler"
TTL = timedelta(seconds=15)


class LeaderLease:
    def __init__(
        self, database: Database, clock: Clock | None = None, *, ttl: timedelta = TTL
    ) -> None:
        self.database = database
        self.clock = clock or SystemClock()
        self.ttl = ttl
        self.owner = secrets.token_hex(16)
        self.is_leader = False
        self._next_try_at: datetime | None = None

    def tick(self, now: datetime | None = None) -> timedelta:
        """Acquire or renew; returns when to try again (a third of the lease while leading)."""
        now = now or self.clock.now()
        with self.database.transaction() as connection:
            self.is_leader = hold(connection, NAME, owner=self.owner, now=now, ttl=self.ttl)
        self._next_try_at = now + self.ttl / 3
        return self.ttl / 3

    def keep(self, now: datetime | None = None) -> timedelta:
        """``tick`` once a third of the lease has passed since the last try, and only then: a
        loop that wakes often (a burst of due jobs, a busy store) renews no more often for it.
        Returns how long until the next try is due."""
        now = now or self.clock.now()
        if self._next_try_at is None or now >= self._next_try_at:
            return self.tick(now)
        return self._next_try_at - now

    def resign(self) -> None:
        if self.is_leader:
            with self.database.transaction() as connection:
                release(connection, NAME, owner=self.owner)
            self.is_leader = False
