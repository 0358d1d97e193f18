"""The maintenance loop: prunes history by the retention policy, shortly after start and then
every ``interval``, on the scheduler side of a process.

Several scheduler processes may each prune: a delete of what is already gone deletes nothing,
so no lease is needed, and each batch is a short transaction of its own.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from cronwell.engine.clock import Clock, SystemClock
from cronwell.engine.loops import Backoff, survive
from cronwell.policies.retention import Retention
from cronwell.store.database import Database
from cronwell.store.retention import Pruned, prune

log = logging.getLogger(__name__)

FIRST_DELAY = timedelta(minutes=1)  # after start: not in the way of the first due runs
INTERVAL = timedelta(hours=1)


class Pruner:
    def __init__(
        self,
        database: Database,
        retention: Retention,
        clock: Clock | None = None,
        *,
        interval: timedelta = INTERVAL,
        first_delay: timedelta = FIRST_DELAY,
    ) -> None:
        self.database = database
        self.retention = retention
        self.clock = clock or SystemClock()
        self.interval = interval
        self.next_at = self.clock.now() + first_delay
        self.passed = threading.Event()  # set after each pass: what a watcher waits on

    def pass_once(self, now: datetime | None = None) -> Pruned:
        """Prune now, whatever the time of the next pass."""
        now = now or self.clock.now()
        pruned = prune(self.database, self.retention, now, dry_run=False)
        if pruned != Pruned():
            log.info(
                "pruned %d runs, %d attempts, %d events and %d audit records",
                pruned.runs,
                pruned.attempts,
                pruned.events,
                pruned.audit,
                extra={"event": "retention.pruned"},
            )
        self.passed.set()
        return pruned

    def tick(self) -> timedelta:
        """Prune when the next pass is due; how long until it is."""
        now = self.clock.now()
        if now >= self.next_at:
            self.pass_once(now)
            self.next_at = now + self.interval
        return self.next_at - now

    def run(self, stop: threading.Event) -> None:
        backoff = Backoff()
        while not stop.is_set():
            pause = survive(self.tick, backoff, "the pruner")
            self.clock.sleep(pause.total_seconds(), stop)
