"""The worker: claims runs from its queues and executes them, each under a lease it renews.

A worker is known by a fresh random token, never by a host or pod name that a successor could
reuse: every transition it makes names that token, so after its lease is taken back nothing it
does can overwrite the run's new attempt.

Attempts of commands and of callables in mode process run on a thread pool, each waiting for
its process; callables in mode thread run on the task threads of ``execute`` and say
themselves how they ended. How each attempt ended is queued, and the worker's loop settles the
queue and claims for the freed slots in one tick. Under load one tick settles and claims many
runs (after a tick that filled every free slot, the loop gives the runs a moment to end);
an idle worker settles a run as soon as it ends.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from cronwell.engine.child import TaskEvent
from cronwell.engine.clock import Clock, SystemClock
from cronwell.engine.execute import (
    AttemptContext,
    Command,
    Heartbeat,
    Pulse,
    Target,
    TaskPath,
    execute,
    start_in_thread,
)
from cronwell.engine.loops import Backoff, survive, try_once
from cronwell.engine.masking import masked_outcome, secret_keys_from_env
from cronwell.engine.specs import SpecCache
from cronwell.lifecycle import AttemptStatus, RunStatus, Trigger
from cronwell.policies import OverlapPolicy, Settlement, settle
from cronwell.policies.secrets import SecretKeys
from cronwell.spec import JobSpec, Mode, OnDead
from cronwell.store.database import Database
from cronwell.store.events import events_of_runs
from cronwell.store.jobs import disable_dead, specs_of
from cronwell.store.runs import (
    AttemptBeat,
    ClaimedRun,
    Finish,
    Outcome,
    cancel_requested,
    claim_runs,
    finish_attempts,
    hand_back,
    next_claimable_at,
    record_heartbeats,
    renew_leases,
)
from cronwell.store.workers import beat_worker, register_worker, stop_worker

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=30)
GRACE = timedelta(seconds=30)
IDLE = timedelta(seconds=1)  # the longest wait for work without a wake-up: the fallback poll
GATHER = 0.001  # seconds: after a claim that filled every free slot, the wait for more to free
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
        secret_keys: SecretKeys | None = None,
    ) -> None:
        self.id = secrets.token_hex(16)
        # Which keys' values are masked in a task's output and error before they are stored.
        self.secret_keys = secret_keys or secret_keys_from_env()
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
        # Claimed and not yet settled: executing, or ended and waiting in _ended.
        self._running: dict[int, tuple[ClaimedRun, threading.Event, Future[None]]] = {}
        self._ended: list[tuple[Finish, JobSpec]] = []
        self._lock = threading.Lock()
        self._all_ended = threading.Condition(self._lock)  # every run in flight has ended
        self._specs = SpecCache()
        # The pulse of each attempt (run id, number), as long as the attempt's context lives.
        self._pulses: weakref.WeakValueDictionary[tuple[int, int], Pulse] = (
            weakref.WeakValueDictionary()
        )
        # The event each claimed run an event made carries, until its attempt starts.
        self._events: dict[int, TaskEvent] = {}
        self._interrupted = False
        self._is_registered = False

    def tick(self, now: datetime | None = None) -> timedelta:
        """Settle the runs that ended, claim as many runs as there are free slots and start
        them, all in one transaction; returns how long to wait next."""
        with self._lock:
            ended, self._ended = self._ended, []
            free = self._slots - len(self._running) + len(ended)
        if free <= 0 and not ended:
            return IDLE
        given, now = now, now or self.clock.now()
        try:
            with self._session(ended) as connection:
                self._settle(connection, ended)
                claimed = self._claim(connection, now, free)
                upcoming = None
                if len(claimed) < free:  # nothing more to claim now: when is the next?
                    upcoming = next_claimable_at(connection, self.queues, now)
        except BaseException:
            self._requeue(ended)
            raise
        self._forget(ended)
        for run, spec in claimed:
            self._start(run, spec)
        if len(claimed) == free:
            return timedelta(0)  # maybe more: claim again as soon as a slot is free
        # Sleep until a retry delay ends, not a fallback poll later; from the end of this
        # tick, which took time of its own.
        return IDLE if upcoming is None else min(IDLE, upcoming - (given or self.clock.now()))

    def _session(self, ended: list[tuple[Finish, JobSpec]]) -> AbstractContextManager[Connection]:
        """Where a tick's statements run. When a run's end changes more than the run (a
        waiting run starts, a dead job is disabled), one transaction, so that all of it
        commits together. Otherwise each guarded statement may commit on its own, which on
        PostgreSQL spares the round trips of BEGIN and COMMIT."""
        if any(_changes_more(finish, spec) for finish, spec in ended):
            return self.database.transaction()
        return self.database.statements()

    def _claim(
        self, connection: Connection, now: datetime, free: int
    ) -> list[tuple[ClaimedRun, JobSpec]]:
        if free <= 0:
            return []
        claimed = claim_runs(
            connection, owner=self.id, queues=self.queues, now=now, lease=self.lease, limit=free
        )
        # Only a job version this worker has not parsed yet is read.
        unknown = [
            run.job_id for run in claimed if not self._specs.has(run.job_id, run.job_version)
        ]
        specs = specs_of(connection, unknown)
        self._read_events(connection, claimed)
        found = []
        for run in claimed:
            version, canonical = specs.get(run.job_id, (run.job_version, {}))
            found.append((run, self._specs.get(run.job_id, version, canonical)))
        return found

    def _read_events(self, connection: Connection, claimed: Sequence[ClaimedRun]) -> None:
        """Keep the events of the claimed runs that may have one: runs an event made, and
        runs retried by hand, which carry on their event. Other runs cost no read."""
        maybe = [run.id for run in claimed if run.trigger in _MAY_HAVE_EVENT]
        found = {
            run_id: TaskEvent(row.id, row.name, row.payload, row.fired_at, row.fired_by)
            for run_id, row in events_of_runs(connection, maybe).items()
        }
        if found:
            with self._lock:
                self._events.update(found)

    def settle_ended(self) -> None:
        """Settle the runs that ended and were not settled yet, in one transaction."""
        with self._lock:
            ended, self._ended = self._ended, []
        if not ended:
            return
        try:
            with self.database.transaction() as connection:
                self._settle(connection, ended)
        except BaseException:
            self._requeue(ended)
            raise
        self._forget(ended)

    def _settle(self, connection: Connection, ended: list[tuple[Finish, JobSpec]]) -> None:
        """Finish the attempts that ended; a run whose lease was taken back changes nothing:
        the reaper already settled it."""
        moved = finish_attempts(connection, self.id, [finish for finish, _ in ended])
        specs = {finish.run.id: spec for finish, spec in ended}
        for finish in moved:
            spec = specs[finish.run.id]
            if finish.run_status is RunStatus.DEAD and spec.on_dead is OnDead.DISABLE:
                reason = finish.reason or "dead"
                disable_dead(
                    connection, finish.run.job_id, reason=reason, now=finish.outcome.finished_at
                )

    def _requeue(self, ended: list[tuple[Finish, JobSpec]]) -> None:
        with self._lock:
            self._ended[:0] = ended

    def _forget(self, ended: list[tuple[Finish, JobSpec]]) -> None:
        """Free the slots of settled runs; their leases are no longer renewed."""
        if not ended:
            return
        with self._lock:
            for finish, _ in ended:
                self._running.pop(finish.run.id, None)
                self._events.pop(finish.run.id, None)  # an attempt that never started

    def heartbeat(self, now: datetime | None = None) -> None:
        """Renew the leases of runs in flight and record their tasks' last heartbeats, in one
        transaction; stop those cancelled or no longer ours."""
        now = now or self.clock.now()
        with self._lock:
            in_flight = {run_id: cancel for run_id, (_, cancel, _) in self._running.items()}
            numbers = {run_id: run.attempt for run_id, (run, _, _) in self._running.items()}
            pulses = dict(self._pulses)
        beats = _unrecorded(pulses, numbers, self.secret_keys)
        with self.database.transaction() as connection:
            beat_worker(connection, self.id, now)
            held = renew_leases(
                connection, owner=self.id, run_ids=list(in_flight), until=now + self.lease
            )
            record_heartbeats(connection, self.id, [beat for beat, _, _ in beats])
            to_cancel = cancel_requested(connection, list(held))
        for _, pulse, last in beats:  # committed: later renewals need not write them again
            pulse.recorded = last
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
        """Wait up to ``timeout`` seconds for every run in flight to end, and settle them;
        True if all did."""
        with self._lock:
            futures = [future for _, _, future in self._running.values()]
        is_done = not wait(futures, timeout=timeout).not_done
        self.settle_ended()
        return is_done

    def close(self) -> None:
        self._pool.shutdown(wait=not self._interrupted)

    def run(self, stop: threading.Event) -> None:
        """Claim and execute until ``stop`` is set; then let runs in flight finish within the
        grace period and hand back the rest, so another worker takes them at once.

        A tick the database fails is logged and tried again after a growing pause; the runs
        that ended meanwhile stay queued to be settled. Nothing on the way out raises: what
        cannot be handed back is stopped, and its lease left to expire."""
        # Leases are renewed through the grace period too: until every run is settled.
        settled = threading.Event()
        beat = threading.Thread(target=self._beat, args=(settled,), daemon=True)
        beat.start()
        backoff = Backoff()
        try:
            while not stop.is_set():
                # Clear before the tick: a wake-up arriving during it must not be lost.
                self.wake.clear()
                pause = survive(self._pass, backoff, "the worker")
                if pause > timedelta(0):
                    self.clock.sleep(pause.total_seconds(), self.wake)
                else:
                    self._gather()
        finally:
            if not try_once(self._wind_down, "the worker, stopping"):
                self._abandon()
            settled.set()
            self.look_for_cancels.set()
            beat.join()
            try_once(self._stop, "the worker, saying it stopped")

    def execute_claimed(self, run: ClaimedRun, spec: JobSpec) -> None:
        """Execute one run claimed outside ``tick`` (``cronwell exec``) to its end and settle
        it, renewing its lease meanwhile: as ``run`` executes the runs it claims, so
        timeouts, cancels and retry decisions are the same. Interrupted, it hands the run
        back."""
        if not self._is_registered:
            self._register()
        settled = threading.Event()
        beat = threading.Thread(target=self._beat, args=(settled,), daemon=True)
        beat.start()
        try:
            self._start(run, spec)
            while not self.join(self.lease.total_seconds()):
                pass
        except BaseException:
            try_once(self.interrupt, "the worker, handing its run back")
            raise
        finally:
            settled.set()
            self.look_for_cancels.set()
            beat.join()
            try_once(self._stop, "the worker, saying it stopped")
            self.close()

    def _pass(self) -> timedelta:
        """A tick, registered first: a worker the database refused at its start registers
        once it is back."""
        if not self._is_registered:
            self._register()
        return self.tick()

    def _wind_down(self) -> None:
        if not self.join(self.grace.total_seconds()):
            self.interrupt()

    def _abandon(self) -> None:
        """Stop every execution in flight without handing its run back (the database failed):
        its lease expires, and the reaper takes it back."""
        with self._lock:
            cancels = [cancel for _, cancel, _ in self._running.values()]
        for cancel in cancels:
            cancel.set()
        self._interrupted = True
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _stop(self) -> None:
        with self.database.transaction() as connection:
            stop_worker(connection, self.id, self.clock.now())

    def _gather(self) -> None:
        """Wait up to GATHER until every run in flight has ended: a busy worker then settles
        and claims many runs per tick, rather than a tick for each run or two that ended
        meanwhile. It still claims no more runs than it has free slots."""
        with self._all_ended:
            self._all_ended.wait_for(self._is_all_ended, GATHER)

    def _is_all_ended(self) -> bool:
        return len(self._ended) == len(self._running)

    def interrupt(self) -> list[int]:
        """Hand back every run still in flight and stop its execution; the runs handed back.

        The hand-back commits first: from then on this worker's lease is gone, so whatever
        the stopped attempt reports is refused by the store."""
        self.settle_ended()  # what already ended is settled, not handed back
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
        with self._lock:  # attempts that never started end nowhere: forget them here
            for run_id in [i for i, (_, _, future) in self._running.items() if future.cancelled()]:
                del self._running[run_id]
        return handed

    def _register(self) -> None:
        try:
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
        except IntegrityError:
            # The id is a fresh random token: only an earlier try whose commit went through,
            # though its answer was lost with the connection, can have taken it.
            pass
        self._is_registered = True

    def _beat(self, done: threading.Event) -> None:
        """Renew leases every third of a lease; between renewals, look for cancel requests
        whenever a signal says there may be one. A renewal the database fails is tried
        again after a growing pause, never later than the next one was due; if they fail
        for longer than the lease, the runs' leases are lost, and the store refuses what
        their attempts report."""
        interval = self.lease / 3
        backoff = Backoff()
        renew_at = time.monotonic() + interval.total_seconds()
        while not done.is_set():
            signalled = self.look_for_cancels.wait(max(0.0, renew_at - time.monotonic()))
            if done.is_set():
                return
            if time.monotonic() >= renew_at:
                pause = survive(partial(self._renew, interval), backoff, "the worker's heartbeat")
                renew_at = time.monotonic() + min(pause, interval).total_seconds()
            elif signalled:
                self.look_for_cancels.clear()
                # A hint only: the next renewal looks for cancel requests too.
                try_once(self.stop_cancelled, "the worker, looking for cancel requests")
                time.sleep(CANCEL_CHECK_GAP)  # signals can come in floods on SQLite

    def _renew(self, interval: timedelta) -> timedelta:
        self.heartbeat()
        return interval

    def _start(self, run: ClaimedRun, spec: JobSpec) -> None:
        cancel = threading.Event()
        if spec.mode is Mode.THREAD and spec.task is not None and spec.command is None:
            self._start_in_thread(run, spec, cancel, spec.task)
            return
        with self._lock:
            future = self._pool.submit(self._attempt, run, spec, cancel)
            self._running[run.id] = (run, cancel, future)

    def _start_in_thread(
        self, run: ClaimedRun, spec: JobSpec, cancel: threading.Event, task: str
    ) -> None:
        """Mode thread: the task's own thread says how it ended; no pool thread waits on it."""
        future: Future[None] = Future()
        future.set_running_or_notify_cancel()
        with self._lock:
            self._running[run.id] = (run, cancel, future)
        # Once: a start that failed half way may still end by the shared watch's timeout.
        on_end = _once(partial(self._record_end, run, spec, future))
        try:
            target = TaskPath(task)
        except ValueError as error:  # a task the worker cannot even start
            on_end(Outcome(AttemptStatus.FAILED, self.clock.now(), error=str(error)))
            return
        try:
            start_in_thread(
                target,
                context=self._context(run),
                cancel=cancel,
                now=self.clock.now,
                on_end=on_end,
                args=run.args or spec.args,
                kwargs=run.kwargs or spec.kwargs,
                timeout=spec.timeout,
                heartbeat_timeout=spec.heartbeat_timeout,
            )
        except Exception:
            on_end(self._broken(run, "could not start"))

    def _attempt(self, run: ClaimedRun, spec: JobSpec, cancel: threading.Event) -> None:
        """One attempt on a pool thread. Whatever goes wrong, the attempt ends and is queued:
        an attempt left unrecorded would keep its run running, its lease renewed by this
        live worker, for ever. Nothing is left for its future to hold unseen."""
        try:
            try:
                outcome = execute(
                    target_of(spec),
                    context=self._context(run),
                    cancel=cancel,
                    now=self.clock.now,
                    args=run.args or spec.args,
                    kwargs=run.kwargs or spec.kwargs,
                    timeout=spec.timeout,
                    mode=spec.mode,
                    heartbeat_timeout=spec.heartbeat_timeout,
                    env=spec.env,
                )
            except ValueError as error:  # a task the worker cannot even start
                outcome = Outcome(AttemptStatus.FAILED, self.clock.now(), error=str(error))
            except Exception:
                outcome = self._broken(run, "failed")
            self._record_end(run, spec, None, outcome)
        except BaseException:
            log.exception(
                "run %s: its attempt's end was not recorded",
                run.id,
                extra={"event": "attempt.lost", "run_id": run.id},
            )
            raise

    def _context(self, run: ClaimedRun) -> AttemptContext:
        """The context of the run's attempt, starting now; ``heartbeat`` finds its pulse."""
        pulse = Pulse()
        with self._lock:
            self._pulses[run.id, run.attempt] = pulse
            event = self._events.pop(run.id, None)
        return AttemptContext(run.id, run.attempt, run.scheduled_for, pulse=pulse, event=event)

    def _broken(self, run: ClaimedRun, what: str) -> Outcome:
        """A failed attempt for an error of the worker's own, not of the task: the traceback
        of the exception being handled is its error."""
        log.exception(
            "run %s: the worker %s its attempt",
            run.id,
            what,
            extra={"event": "attempt.broken", "run_id": run.id},
        )
        error = f"the worker {what} the attempt:\n{traceback.format_exc()}"
        return Outcome(AttemptStatus.FAILED, self.clock.now(), error=error)

    def _record_end(
        self, run: ClaimedRun, spec: JobSpec, future: Future[None] | None, outcome: Outcome
    ) -> None:
        """Queue how an attempt ended, with what becomes of its run, for the loop to settle."""
        outcome = masked_outcome(outcome, self.secret_keys)
        try:
            settled = settle(
                spec.retry,
                outcome.status,
                run.attempt,
                outcome.finished_at,
                self._rand(),
                max_attempts=run.max_attempts,
            )
        except Exception:
            # No retry time can be had: the run goes to the dead letters, where it is seen
            # and can be tried again, rather than stay running.
            broken = self._broken(run, "could not settle")
            error = "\n".join(part for part in (outcome.error, broken.error) if part)
            outcome = replace(outcome, status=AttemptStatus.FAILED, error=error)
            settled = Settlement(RunStatus.DEAD, reason="the worker could not settle the run")
        # A backfill's runs wait for each other whatever the job's own policy.
        has_queue = spec.overlap is OverlapPolicy.QUEUE or run.trigger is Trigger.BACKFILL
        finish = Finish(run, outcome, settled.status, settled.not_before, settled.reason, has_queue)
        with self._lock:
            self._ended.append((finish, spec))
            if self._is_all_ended():
                self._all_ended.notify()
        if future is not None:
            future.set_result(None)
        self.wake.set()  # the loop settles it and fills the slot


_MAY_HAVE_EVENT = frozenset({Trigger.EVENT, Trigger.RETRY})


def _once(function: Callable[[Outcome], None]) -> Callable[[Outcome], None]:
    """``function``, called the first time only."""
    lock = threading.Lock()
    is_called = False

    def once(outcome: Outcome) -> None:
        nonlocal is_called
        with lock:
            if is_called:
                return
            is_called = True
        function(outcome)

    return once


def _unrecorded(
    pulses: Mapping[tuple[int, int], Pulse], numbers: Mapping[int, int], keys: SecretKeys
) -> list[tuple[AttemptBeat, Pulse, Heartbeat]]:
    """The last heartbeats of the attempts in flight (``numbers``: run id to attempt number)
    that the store does not have yet, each with its pulse; their progress is masked by
    ``keys`` as the attempt's end masks it, since people read it while the task runs."""
    found = []
    for (run_id, number), pulse in pulses.items():
        last = pulse.last
        if last is not None and last is not pulse.recorded and numbers.get(run_id) == number:
            progress = keys.mask_text(last.progress) if last.progress else last.progress
            found.append((AttemptBeat(run_id, number, last.at, progress), pulse, last))
    return found


def _changes_more(finish: Finish, spec: JobSpec) -> bool:
    """Whether settling this run changes more than the run and its attempt."""
    if finish.has_queue and finish.run_status.is_finished:
        return True  # the job's oldest waiting run starts
    if finish.makes_runs:
        return True  # downstream jobs' runs: made with the end, or not at all
    return finish.run_status is RunStatus.DEAD and spec.on_dead is OnDead.DISABLE


def target_of(spec: JobSpec) -> Target:
    """What to execute for a job. Registered task names need the registry, which comes later:
    until then only dotted paths (``pkg.module:function``) and commands run."""
    if spec.command is not None:
        return Command(spec.command)
    assert spec.task is not None
    return TaskPath(spec.task)
