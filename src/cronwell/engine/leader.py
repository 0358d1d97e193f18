"""The leader lease: of many schedulers, one ticks; the others stand by and take over within
the lease time when it stops renewing. The unique (job, due time) constraint stays the safety
net underneath: even two leaders could not fire a due time twice."""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta

from cronwell.engine.clock import Clock, SystemClock
from cronwell.engine.loops import try_once
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
        self.holder = f"{socket.gethostname()} pid {os.getpid()}"
        self.is_leader = False
        self._tried_at: datetime | None = None

    def tick(self, now: datetime | None = None) -> timedelta:
        """Acquire or renew; returns when to try again (a third of the lease while leading)."""
        now = now or self.clock.now()
        try:
            with self.database.transaction() as connection:
                self.is_leader = hold(
                    connection, NAME, owner=self.owner, now=now, ttl=self.ttl, holder=self.holder
                )
        except BaseException:
            # Not renewed: past what the last try vouches for, this owner no longer leads
            # (another may have taken the lease over by now).
            self.is_leader = self.is_held(now)
            raise
        self._tried_at = now
        return self.ttl / 3

    def keep(self, now: datetime | None = None, *, has_worked: bool = False) -> timedelta:
        """``tick`` when a third of the lease has passed since the last try; after a pass that
        did work (``has_worked``: a tick), already when a tenth has. So the lease outlasts
        the last tick by about its whole length, as when every pass renewed it, while a
        loop that passes often (a burst of batches, a busy store) renews no more often for
        it. Returns how long until the next try is due."""
        now = now or self.clock.now()
        since = None if self._tried_at is None else now - self._tried_at
        if since is None or since >= self.ttl / 3 or (has_worked and since >= self.ttl / 10):
            return self.tick(now)
        return self.ttl / 3 - since

    def is_held(self, now: datetime | None = None) -> bool:
        """Whether this owner leads with a third of the lease or more still to run, as of its
        last try: then it may act before renewing."""
        now = now or self.clock.now()
        return (
            self.is_leader
            and self._tried_at is not None
            and now - self._tried_at < self.ttl * 2 / 3
        )

    def resign(self) -> None:
        """Give the lease up, so a stand-by takes over at once. Never raises: when the
        database fails, the lease simply expires."""
        if not self.is_leader:
            return
        self.is_leader = False
        try_once(self._release, "the leader lease, resigning")

    def _release(self) -> None:
        with self.database.transaction() as connection:
            release(connection, NAME, owner=self.owner)
