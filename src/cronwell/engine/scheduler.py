"""The scheduler: turns due jobs into runs and advances each job's next due time.

One tick plans every due job in one transaction: the runs it inserts and the cursor it moves
commit together, so a crash between them loses nothing and repeats nothing. Two schedulers
ticking at once cannot fire a due time twice: PostgreSQL hands each due job to one of them
(row locks, SKIP LOCKED), SQLite lets one writer in at a time, and the unique (job, due time)
constraint stands behind both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial

from cronwell.dag import WAITING_FOR_UPSTREAM
from cronwell.engine.clock import Clock, SystemClock
from cronwell.engine.leader import LeaderLease
from cronwell.engine.loops import Backoff, survive
from cronwell.engine.specs import Planning, PlanningCache
from cronwell.lifecycle import RunStatus, SkipReason, Trigger
from cronwell.policies import (
    ActiveRun,
    DuePlan,
    OverlapAction,
    Overlaps,
    plan_due_times,
)
from cronwell.store.database import Database
from cronwell.store.gates import gate_waiting, hold_for_upstreams
from cronwell.store.plans import DueJob, due_jobs, earliest_due_at, store_plans
from cronwell.store.runs import NewRun, active_runs, cancel_runs, promote_waiting
from cronwell.store.signals import RUNS, notify_now

IDLE = timedelta(minutes=1)  # the longest sleep with nothing due: a safety net, not a poll
# How long before a due time the loop plans it: longer than a tick and a worker's wake-up
# take, so the run waits, stored, for its due time; short enough that the state it is
# planned on (the job's unfinished runs) is the state at its due time to within a tick.
LEAD = timedelta(milliseconds=10)
REPLACED = "replaced by a newer run"


@dataclass(frozen=True, slots=True)
class JobPlan:
    """What one tick does for one job: runs to create, runs to cancel, the next due time."""

    runs: tuple[NewRun, ...]
    cancel: tuple[int, ...]
    next_due_at: datetime | None


def plan_runs(
    job: DueJob,
    spec: Planning,
    active: Sequence[ActiveRun],
    now: datetime,
    *,
    due_plan: DuePlan | None = None,
) -> JobPlan:
    """The runs for ``job``'s due times in (planned_until, now], by its misfire and overlap
    policies; ``due_plan``, when given, is those due times as ``plan_due_times`` disposes of
    them. Pure: the caller holds the job's row and persists the plan."""
    plan = due_plan
    if plan is None:
        plan = plan_due_times(spec.schedule, job.planned_until, now, spec.misfire)
    make = partial(_new_run, job, spec.max_attempts)
    runs: list[NewRun] = []
    if (span := plan.missed_span) is not None:
        missed = make(span.last_at, Trigger.MISFIRE, RunStatus.SKIPPED, reason=SkipReason.MISSED)
        runs.append(replace(missed, covers=span.count, covers_from=span.first_at))
    overlaps = Overlaps(spec.overlap, active)
    for due in plan.due_times:
        if not due.is_run:
            runs.append(make(due.scheduled_for, due.trigger, RunStatus.SKIPPED, reason=due.reason))
            continue
        decision, status = overlaps.decide()
        if decision.action is OverlapAction.REPLACE:
            # Runs planned earlier in this tick are replaced too, before they are ever stored.
            runs = [replaced(run) for run in runs]
        runs.append(make(due.scheduled_for, due.trigger, status, reason=decision.reason))
    return JobPlan(tuple(runs), tuple(overlaps.cancel), plan.next_due_at)


def _new_run(
    job: DueJob,
    max_attempts: int,
    due: datetime,
    trigger: Trigger,
    status: RunStatus,
    *,
    reason: str | None = None,
) -> NewRun:
    return NewRun.of_job(job, due, trigger, max_attempts=max_attempts, status=status, reason=reason)


def _first(*instants: datetime | None) -> datetime | None:
    return min((at for at in instants if at is not None), default=None)


def _until(upcoming: datetime | None, now: datetime) -> timedelta:
    """How long to sleep until ``upcoming``: at most IDLE, never less than nothing."""
    return IDLE if upcoming is None else min(IDLE, max(timedelta(0), upcoming - now))


def _with_waiting(
    due: Sequence[DueJob],
    active: Mapping[int, Sequence[tuple[int, str]]],
    plans: Sequence[JobPlan],
) -> list[int]:
    """The due jobs that have a waiting run once the plans are stored: one found active, or
    one just planned. Only the scheduler makes waiting runs, under the job's row lock, so no
    other job can have one."""
    return [
        job.id
        for job, plan in zip(due, plans, strict=True)
        if any(status == RunStatus.WAITING for _, status in active.get(job.id, ()))
        or any(run.status is RunStatus.WAITING for run in plan.runs)
    ]


def replaced(run: NewRun) -> NewRun:
    """``run``, cancelled before it was ever stored if a newer run replaces it."""
    if run.status in (RunStatus.PENDING, RunStatus.WAITING):
        return replace(run, status=RunStatus.CANCELLED, reason=REPLACED)
    return run


class Scheduler:
    """The loop that fires due jobs. ``tick`` does one pass; ``run`` repeats it until stopped,
    sleeping until the next due time or until ``wake`` is set."""

    def __init__(
        self,
        database: Database,
        clock: Clock | None = None,
        *,
        batch: int = 500,
        cache_size: int = 10_000,
        lead: timedelta = LEAD,
    ) -> None:
        self.database = database
        self.clock = clock or SystemClock()
        self.batch = batch
        self.wake = threading.Event()
        self.on_new_runs: Callable[[], None] | None = None  # e.g. wake a worker in-process
        self.lead = lead
        self._due_at: datetime | None = None  # when the next job is due, as last read
        self._made_for: datetime | None = None  # the instant the last tick made runs for
        self._claimable_at: list[datetime] = []  # when runs planned ahead become claimable
        self._plannings = PlanningCache(cache_size)

    def tick(self, now: datetime | None = None) -> timedelta:
        """Plan every job due at ``now``; returns how long until the next one is due."""
        now = now or self.clock.now()
        self._made_for = None
        with self.database.transaction() as connection:
            look_at = gate_waiting(connection, now)  # runs held for their upstreams
            due = due_jobs(connection, now, self.batch)
            if not due:  # nothing due (or the global pause): when is something?
                return _until(_first(earliest_due_at(connection, now), look_at), now)
            active = active_runs(connection, [job.id for job in due if job.has_active_runs])
            dues: dict[tuple[int, datetime], DuePlan] = {}
            plans = [self._plan(job, active.get(job.id, []), now, dues) for job in due]
            cursors = [(job.id, p.next_due_at) for job, p in zip(due, plans, strict=True)]
            new_runs = [run for plan in plans for run in plan.runs]
            stored = store_plans(connection, new_runs, cursors, now=now)
            held = {run.job_id for run in new_runs if run.reason == WAITING_FOR_UPSTREAM}
            if held:  # decide the runs just held, for their jobs only
                look_at = _first(look_at, gate_waiting(connection, now, held))
            cancel_runs(connection, [rid for plan in plans for rid in plan.cancel], now, REPLACED)
            # A waiting run left with nothing to wait for (its job's overlap policy changed
            # while it waited) starts here at the latest.
            promote_waiting(connection, _with_waiting(due, active, plans))
        if stored.created:
            self._made_for = now
        if stored.created and self.on_new_runs is not None:
            self.on_new_runs()  # after the commit, so the runs are there to claim
        if len(due) == self.batch:
            return timedelta(0)  # more are due: go again at once
        upcoming = [stored.later_due_at, look_at, *(plan.next_due_at for plan in plans)]
        return _until(_first(*upcoming), now)

    def run(self, stop: threading.Event, leader: LeaderLease | None = None) -> None:
        """Tick until ``stop`` is set. With a ``leader`` lease, tick only while holding it, and
        renew it every third of the lease; resign on the way out.

        The loop sleeps until an instant, not for a span, so what a tick takes is not added
        to every due time. It plans a due time ``lead`` before it comes, for that instant:
        the run is stored (claimable from its due time, never before) and workers are
        signalled again when it comes, so one starts it then. A wake-up says only that job
        definitions changed: the loop reads when the next job is due and ticks only if one
        is due within ``lead``; so a wake-up that changed nothing costs a read, never the
        write lock. The lease is renewed after a tick, never in front of it.

        A pass the database fails is logged and tried again after a growing pause (cut short
        by ``wake`` too), from what the database says then: nothing read before is trusted.
        """
        backoff = Backoff()
        try:
            is_woken = False
            while not stop.is_set():
                # Clear before looking: a wake-up arriving meanwhile must not be lost.
                self.wake.clear()
                step = partial(self._pause_after_pass, leader, is_woken)
                pause = survive(step, backoff, "the scheduler")
                self.clock.sleep(max(0.0, pause.total_seconds()), self.wake)
                is_woken = self.wake.is_set()
        finally:
            if leader is not None:
                leader.resign()

    def _pause_after_pass(self, leader: LeaderLease | None, is_woken: bool) -> timedelta:
        """One pass; how long until the next. A pass that fails forgets when the next job is
        due: a job may have changed meanwhile, and its wake-up was lost with the database."""
        try:
            until = self._pass(leader, is_woken)
        except BaseException:
            self._due_at = None
            raise
        return until - self.clock.now()

    def _pass(self, leader: LeaderLease | None, is_woken: bool) -> datetime:
        """One pass of the loop: signal, tick, renew, as each is due; returns when the next
        pass is."""
        now = self.clock.now()
        self._signal_claimable(now)
        if leader is not None and leader.is_leader and not leader.is_held(now):
            leader.keep(now)  # the loop was held up: renew before acting as leader
        is_leading = leader is None or leader.is_leader
        until, has_ticked = now + IDLE, False
        if is_leading:
            due_at, has_ticked = self._next(now, is_woken)
            until = due_at - self.lead
        if leader is not None:
            renew = leader.keep(self.clock.now(), has_worked=has_ticked)
            until = min(until, self.clock.now() + renew)
            if leader.is_leader and not is_leading:
                self._due_at, until = None, now  # just took over: read and look at once
        return min([until, *self._claimable_at[:1]])

    def _signal_claimable(self, now: datetime) -> None:
        """Signal workers, in this process and others, that runs planned ahead have become
        claimable: the signal at their commit came before they were."""
        if not self._claimable_at or self._claimable_at[0] > now:
            return
        self._claimable_at = [at for at in self._claimable_at if at > now]
        if self.on_new_runs is not None:
            self.on_new_runs()
        notify_now(self.database, RUNS)

    def _next(self, now: datetime, is_woken: bool) -> tuple[datetime, bool]:
        """Tick if a job is due within ``lead``, for when it is due. Returns when the next one
        is due (at most IDLE ahead), and whether it ticked."""
        if is_woken or self._due_at is None:
            with self.database.transaction(write=False) as connection:
                upcoming = earliest_due_at(connection, now)
            self._due_at = now + IDLE if upcoming is None else min(upcoming, now + IDLE)
        if self._due_at - now > self.lead:
            return self._due_at, False
        at = max(now, self._due_at)
        self._due_at = at + self.tick(at)
        if self._made_for is not None and self._made_for > self.clock.now():
            self._claimable_at = sorted({*self._claimable_at, self._made_for})
        return self._due_at, True

    def _plan(
        self,
        job: DueJob,
        active: Sequence[tuple[int, str]],
        now: datetime,
        dues: dict[tuple[int, datetime], DuePlan],
    ) -> JobPlan:
        spec = self._plannings.get(job.id, job.version, job.spec)
        # Jobs that share a planning view and a cursor share their due times: ten thousand
        # jobs on one schedule whose cursors last moved together are worked out once.
        key = (id(spec), job.planned_until)
        due = dues.get(key)
        if due is None:
            due = dues[key] = plan_due_times(spec.schedule, job.planned_until, now, spec.misfire)
        runs = [ActiveRun(run_id, status) for run_id, status in active]
        plan = plan_runs(job, spec, runs, now, due_plan=due)
        return replace(plan, runs=tuple(hold_for_upstreams(job.spec, plan.runs)))
