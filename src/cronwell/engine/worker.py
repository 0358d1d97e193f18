"""The worker: claims runs from its queues and executes them, each under a lease it renews.

A worker is known by a fresh random token, never by a host or pod name that a successor could
reuse: every transition it makes names that token, so after its lease is taken back nothing it
does can overwrite the run's new attempt.
"""

from __future__ import annotations

import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta

from cronwell.engine.clock import Clock, SystemClock
from cronwell.engine.execute import AttemptContext, Command, Target, TaskPath, execute
from cronwell.engine.specs import SpecCache
from cronwell.lifecycle import AttemptStatus, RunStatus
from cronwell.policies import OverlapPolicy, settle
from cronwell.spec import JobSpec, OnDead
from cronwell.store.database import Database
from cronwell.store.jobs import disable_dead, specs_of
from cronwell.store.runs import (
    ClaimedRun,
    Outcome,
    cancel_requested,
    claim_runs,
    finish_attempt,
    hand_back,
    next_claimable_at,
    renew_leases,
)
from cronwell.store.workers import beat_worker, register_worker, stop_worker

LEASE = timedelta(seconds=30)
GRACE = timedelta(seconds=30)
IDLE = timedelta(seconds=1)  # the longest wait for work without a wake-up: the fallback poll
CANCEL_CHECK_GAP = 0.05  # seconds: cancel requests are looked for at most this often


class Worker:
    """Runs claimed runs on ``concurrency`` threads; ``tick`` claims, ``heartbeat`` renews."""

    def __init__(
        self,
        database: Database,
        clock: Clock | None = None,
        *,
        queues: Sequence[str] = ("default",),
        concurrency: int = 4,
        lease: timedelta = LEASE,
        grace: timedelta = GRACE,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.id = secrets.token_hex(16)
        self.database = database
        self.clock = clock or SystemClock()
        self.queues = tuple(queues)
        self.lease = lease
        self.grace = grace
        self.wake = threading.Event()
        self.look_for_cancels = threading.Event()  # set by a cancel signal
        self._rand = rand
        self._slots = concurrency
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix=f"cronwell-{self.id[:6]}")
        self._running: dict[int, tuple[ClaimedRun, threading.Event, Future[None]]] = {}
        self._lock = threading.Lock()
        self._specs = SpecCache()
        self._interrupted = False

    def tick(self, now: datetime | None = None) -> timedelta:
        """Claim as many runs as there are free slots and start them; how long to wait next."""
        free = self._slots - self.in_flight
        if free <= 0:
            return IDLE
        now = now or self.clock.now()
        with self.database.transaction() as connection:
            claimed = claim_runs(
                connection,
                owner=self.id,
                queues=self.queues,
                now=now,
                lease=self.lease,
                limit=free,
            )
            specs = specs_of(connection, [run.job_id for run in claimed])
        for run in claimed:
            version, canonical = specs[run.job_id]
            self._start(run, self._specs.get(run.job_id, version, canonical))
        if len(claimed) == free:
            return timedelta(0)  # maybe more: claim again as soon as a slot is free
        return self._until_next_claimable(now)

    def _until_next_claimable(self, now: datetime) -> timedelta:
        """Sleep until a retry delay ends, not a fallback poll later."""
        with self.database.transaction(write=False) as connection:
            upcoming = next_claimable_at(connection, self.queues, now)
        return IDLE if upcoming is None else min(IDLE, upcoming - now)

    def heartbeat(self, now: datetime | None = None) -> None:
        """Renew the leases of runs in flight; stop those cancelled or no longer ours."""
        now = now or self.clock.now()
        with self._lock:
            in_flight = {run_id: cancel for run_id, (_, cancel, _) in self._running.items()}
        with self.database.transaction() as connection:
            beat_worker(connection, self.id, now)
            held = renew_leases(
                connection, owner=self.id, run_ids=list(in_flight), until=now + self.lease
            )
            to_cancel = cancel_requested(connection, list(held))
        for run_id, cancel in in_flight.items():
            if run_id not in held or run_id in to_cancel:
                cancel.set()

    def stop_cancelled(self) -> None:
        """Stop the runs in flight that someone asked to cancel (a read: no lease renewed)."""
        with self._lock:
            in_flight = {run_id: cancel for run_id, (_, cancel, _) in self._running.items()}
        if not in_flight:
            return
        with self.database.transaction(write=False) as connection:
            to_cancel = cancel_requested(connection, list(in_flight))
        for run_id in to_cancel:
            in_flight[run_id].set()

    @property
    def in_flight(self) -> int:
        with self._lock:
            return len(self._running)

    def join(self, timeout: float = 60.0) -> bool:
        """Wait up to ``timeout`` seconds for every run in flight to settle; True if all did."""
        with self._lock:
            futures = [future for _, _, future in self._running.values()]
        return not wait(futures, timeout=timeout).not_done

    def close(self) -> None:
        self._pool.shutdown(wait=not self._interrupted)

    def run(self, stop: threading.Event) -> None:
        """Claim and execute until ``stop`` is set; then let runs in flight finish within the
        grace period and hand back the rest, so another worker takes them at once."""
        self._register()
        # Leases are renewed through the grace period too: until every run is settled.
        settled = threading.Event()
        beat = threading.Thread(target=self._beat, args=(settled,), daemon=True)
        beat.start()
        while not stop.is_set():
            # Clear before the tick: a wake-up arriving during it must not be lost.
            self.wake.clear()
            pause = self.tick()
            self.clock.sleep(pause.total_seconds(), self.wake)
        if not self.join(self.grace.total_seconds()):
            self.interrupt()
        settled.set()
        self.look_for_cancels.set()
        beat.join()
        with self.database.transaction() as connection:
            stop_worker(connection, self.id, self.clock.now())

    def interrupt(self) -> list[int]:
        """Hand back every run still in flight and stop its execution; the runs handed back.

        The hand-back commits first: from then on this worker's lease is gone, so whatever
        the stopped attempt reports is refused by the store."""
        with self._lock:
            in_flight = {run_id: cancel for run_id, (_, cancel, _) in self._running.items()}
        with self.database.transaction() as connection:
            handed = hand_back(
                connection, owner=self.id, run_ids=list(in_flight), now=self.clock.now()
            )
        for cancel in in_flight.values():
            cancel.set()
        # A thread-mode task cannot be killed: do not wait on it any longer.
        self._interrupted = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        return handed

    def _register(self) -> None:
        with self.database.transaction() as connection:
            register_worker(
                connection,
                self.id,
                hostname=socket.gethostname(),
                pid=os.getpid(),
                queues=self.queues,
                concurrency=self._slots,
                lease=self.lease,
                now=self.clock.now(),
            )

    def _beat(self, done: threading.Event) -> None:
        """Renew leases every third of a lease; between renewals, look for cancel requests
        whenever a signal says there may be one."""
        interval = self.lease.total_seconds() / 3
        renew_at = time.monotonic() + interval
        while not done.is_set():
            signalled = self.look_for_cancels.wait(max(0.0, renew_at - time.monotonic()))
            if done.is_set():
                return
            if time.monotonic() >= renew_at:
                self.heartbeat()
                renew_at = time.monotonic() + interval
            elif signalled:
                self.look_for_cancels.clear()
                self.stop_cancelled()
                time.sleep(CANCEL_CHECK_GAP)  # signals can come in floods on SQLite

    def _start(self, run: ClaimedRun, spec: JobSpec) -> None:
        cancel = threading.Event()
        with self._lock:
            future = self._pool.submit(self._attempt, run, spec, cancel)
            self._running[run.id] = (run, cancel, future)

    def _attempt(self, run: ClaimedRun, spec: JobSpec, cancel: threading.Event) -> None:
        try:
            outcome = execute(
                target_of(spec),
                context=AttemptContext(run.id, run.attempt, run.scheduled_for),
                cancel=cancel,
                now=self.clock.now,
                args=run.args or spec.args,
                kwargs=run.kwargs or spec.kwargs,
                timeout=spec.timeout,
                mode=spec.mode,
            )
        except ValueError as error:  # a task the worker cannot even start
            outcome = Outcome(AttemptStatus.FAILED, self.clock.now(), error=str(error))
        self._settle(run, spec, outcome)
        with self._lock:
            del self._running[run.id]
        self.wake.set()  # a slot is free

    def _settle(self, run: ClaimedRun, spec: JobSpec, outcome: Outcome) -> None:
        settled = settle(spec.retry, outcome.status, run.attempt, outcome.finished_at, self._rand())
        with self.database.transaction() as connection:
            moved = finish_attempt(
                connection,
                run,
                self.id,
                outcome,
                run_status=settled.status,
                not_before=settled.not_before,
                reason=settled.reason,
                has_queue=spec.overlap is OverlapPolicy.QUEUE,
            )
            # A worker whose lease was taken back settles nothing: the reaper already did.
            if moved and settled.status is RunStatus.DEAD and spec.on_dead is OnDead.DISABLE:
                reason = settled.reason or "dead"
                disable_dead(connection, run.job_id, reason=reason, now=outcome.finished_at)


def target_of(spec: JobSpec) -> Target:
    """What to execute for a job. Registered task names need the registry, which comes later:
    until then only dotted paths (``pkg.module:function``) and commands run."""
    if spec.command is not None:
        return Command(spec.command)
    assert spec.task is not None
    return TaskPath(spec.task)
