"""Cronwell: the facade that ties settings, the store, the registry and the loops together.

``Cronwell(database_url)`` is what Python users hold: register tasks with ``@app.task``,
define jobs with ``app.schedule(...)``, inspect and control them, and ``start()`` the
scheduler, worker and reaper in this process. The CLI and the web API call the same methods.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from cronwell.audit import Actor, AuditAction, acting_as, current_actor
from cronwell.auth import AuthError, Role, parse_role, verify_password
from cronwell.dag import Graph, build_graph
from cronwell.engine import controls
from cronwell.engine.clock import Clock, SystemClock
from cronwell.engine.controls import Backfill
from cronwell.engine.direct import Executed, execute_job
from cronwell.engine.events import FiredEvent, fire_event
from cronwell.engine.leader import NAME as LEADER_LEASE
from cronwell.engine.leader import LeaderLease
from cronwell.engine.masking import secret_keys_from_env
from cronwell.engine.pruner import Pruner
from cronwell.engine.reaper import Reaper
from cronwell.engine.scheduler import REPLACED, Scheduler, replaced
from cronwell.engine.specs import SpecCache
from cronwell.engine.wakeup import Wakeup
from cronwell.engine.worker import GRACE, LEASE, Worker
from cronwell.lifecycle import RunStatus, Trigger
from cronwell.policies import ActiveRun, OverlapAction, OverlapPolicy, Overlaps
from cronwell.policies.controls import next_due_from
from cronwell.policies.retention import Retention
from cronwell.policies.secrets import SecretKeys
from cronwell.registry import Registry, UnknownTask
from cronwell.spec import JobSpec, SpecError
from cronwell.store import audit as store_audit
from cronwell.store import auth as store_auth
from cronwell.store import flags as store_flags
from cronwell.store import jobs as store_jobs
from cronwell.store import leases as store_leases
from cronwell.store import logins as store_logins
from cronwell.store import pages as store_pages
from cronwell.store import retention as store_retention
from cronwell.store import stats as store_stats
from cronwell.store import templates as store_templates
from cronwell.store import versions as store_versions
from cronwell.store import workers as store_workers
from cronwell.store.audit import AuditRecord
from cronwell.store.auth import NewToken, Principal, TokenRow, UserRow
from cronwell.store.database import DEFAULT_URL, Database
from cronwell.store.edges import check_change, keep_edges, live_specs
from cronwell.store.events import EventRow, link_runs
from cronwell.store.history import RunLease, RunRow, get_run, list_runs, run_leases
from cronwell.store.jobs import JobNotFound, JobRow
from cronwell.store.leases import Lease
from cronwell.store.migrate import upgrade
from cronwell.store.pages import Page, RunDetail, RunFilter
from cronwell.store.runs import (
    Call,
    InstantTaken,
    NewRun,
    active_runs,
    cancel_runs,
    insert_asked_run,
    insert_asked_runs,
)
from cronwell.store.signals import CANCELS, JOBS, RUNS, notify
from cronwell.store.versions import JobRef, Version, VersionAction, VersionNotFound
from cronwell.store.workers import WorkerRow
from cronwell.templates import Template, joining, own_fields, resolve
from cronwell.versions import author_or_default, diff_definitions

ENV_DATABASE = "CRONWELL_DATABASE_URL"
F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "Cronwell",
    "Executed",
    "Job",
    "JobExists",
    "JobNotFound",
    "LoginFailed",
    "Plan",
    "RunEnded",
    "RunNotFound",
    "TemplateExists",
    "TemplateInUse",
    "TemplateNotFound",
    "Version",
    "VersionConflict",
    "VersionNotFound",
]


class JobExists(ValueError):
    """A live job has that name already."""


class RunNotFound(LookupError):
    """No run with that id."""


class RunEnded(ValueError):
    """The run has already ended: there is nothing to cancel."""


class VersionConflict(RuntimeError):
    """The job changed since the version the caller read (optimistic concurrency)."""


class TemplateExists(ValueError):
    """A template has that name already."""


class TemplateNotFound(LookupError):
    """No template by that name."""


class TemplateInUse(ValueError):
    """Live jobs use the template: it cannot be deleted."""


class LoginFailed(PermissionError):
    """The name or the password is wrong; which one is not said, so a guess learns nothing."""


@dataclass(frozen=True, slots=True)
class _AskedJob:
    """What asking for a run of a job needs to know of it, as read at ``version``."""

    id: int
    version: int
    spec: JobSpec
    queue: str
    priority: int

    def template(self, now: datetime, trigger: Trigger) -> NewRun:
        return NewRun.of_job(self, now, trigger, max_attempts=self.spec.retry.max_attempts)


_ASKED_JOBS = 1000  # for how many jobs an _AskedJob is kept at most


@dataclass(frozen=True, slots=True)
class _AskRecord:
    """What the audit trail says of runs asked for, recorded with them with ``after``
    ``{"run_ids": [...]}``: ``action`` on the job asked of, or on ``object_id`` of
    ``object_type`` (the run a retry repeats)."""

    action: AuditAction
    object_type: str = "job"
    object_id: str | int | None = None
    detail: Any = None


@dataclass(frozen=True, slots=True)
class Job:
    """A stored job: its definition, its version and when it is next due."""

    id: int
    name: str
    spec: JobSpec
    version: int
    is_enabled: bool
    next_due_at: datetime | None
    dead_reason: str | None
    paused_until: datetime | None = None  # ``pause_until``: not due before then

    @classmethod
    def from_row(cls, row: JobRow) -> Job:
        return cls(
            id=row.id,
            name=row.name,
            spec=JobSpec.from_canonical(row.spec),
            version=row.version,
            is_enabled=row.is_enabled,
            next_due_at=row.next_due_at,
            dead_reason=row.dead_reason,
            paused_until=row.paused_until,
        )


class Cronwell:
    def __init__(
        self,
        database_url: str | None = None,
        *,
        clock: Clock | None = None,
        queues: tuple[str, ...] = ("default",),
        concurrency: int = 4,
        lease: timedelta = LEASE,
        grace: timedelta = GRACE,
        migrate: bool = True,
        retention: Retention | None = None,
        secret_keys: SecretKeys | None = None,
    ) -> None:
        """``lease``: how long a silent worker keeps its runs (and, halved, how long a silent
        leader keeps the scheduler's lease). ``grace``: how long a stopping worker lets its
        runs finish before it hands them back. ``retention``: what history the scheduler
        side prunes, hourly (the defaults unless given; ``Retention.off()`` keeps all).
        ``secret_keys``: the keys whose values are masked where secrets are stored for
        display and shown (else $CRONWELL_SECRET_KEYS, else the defaults)."""
        self.database = Database(database_url or os.environ.get(ENV_DATABASE) or DEFAULT_URL)
        self.clock = clock or SystemClock()
        self.registry = Registry()
        self.queues = queues
        self.concurrency = concurrency
        self.lease = lease
        self.grace = grace
        self.retention = Retention() if retention is None else retention
        self.secret_keys = secret_keys or secret_keys_from_env()
        self.started_at = self.clock.now()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._worker: Worker | None = None
        self._scheduler: Scheduler | None = None
        self._wakeup: Wakeup | None = None
        self._specs = SpecCache()
        self._asked: dict[int | str, _AskedJob] = {}  # jobs runs were asked of, by reference
        self._asked_lock = threading.Lock()  # API calls may come from many threads
        if migrate:
            upgrade(self.database)

    # --- tasks ---------------------------------------------------------------------------

    def task(self, function: F | None = None, *, name: str | None = None) -> Any:
        """Register a task: ``@app.task`` or ``@app.task(name="report")``."""

        def register(function: F) -> F:
            self.registry.add(function, name)
            return function

        return register(function) if function is not None else register

    # --- jobs ----------------------------------------------------------------------------

    def schedule(
        self,
        task: str | Callable[..., Any] | None = None,
        schedule: str | Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        author: str | None = None,
        message: str | None = None,
        **options: Any,
    ) -> int:
        """Define a job; returns its id. ``options`` are JobSpec fields (retry, timeout, ...);
        ``template`` names a template whose fields the job starts from. Without a schedule
        (its own or its template's) the job is ``manual``. Its first version is by
        ``author`` (default: the user running this), with ``message``."""
        definition = self._definition(task, schedule, name, options)
        now = self.clock.now()
        with self.database.transaction() as connection:
            spec = JobSpec.parse(_templated(connection, definition))
            if _exists(connection, spec.name):
                raise JobExists(f"name: a job named {spec.name!r} exists already")
            graph = check_change(connection, changed=[spec])
            notify(connection, JOBS)
            job_id = store_jobs.insert_job(connection, spec, now)
            keep_edges(connection, graph)
            _record(connection, {VersionAction.CREATE: [job_id]}, author, message, now)
            self._audit_job(connection, AuditAction.JOB_CREATE, spec.name, after=spec)
            return job_id

    def get_schedule(self, job: int | str) -> Job:
        with self.database.transaction(write=False) as connection:
            return Job.from_row(store_jobs.get_job(connection, job))

    def get_schedule_by_name(self, name: str) -> Job:
        return self.get_schedule(name)

    def list_schedules(self, status: str | None = None, tags: tuple[str, ...] = ()) -> list[Job]:
        """Jobs by name; ``status`` is 'active' or 'paused'; ``tags`` must all be present."""
        if status not in _STATUSES:
            raise ValueError(f"status: {status!r} is not one of active, paused")
        is_enabled = _STATUSES[status]
        with self.database.transaction(write=False) as connection:
            rows = store_jobs.list_jobs(connection, is_enabled=is_enabled)
        found = [Job.from_row(row) for row in rows]
        return [job for job in found if set(tags) <= set(job.spec.tags)]

    def update_schedule(
        self,
        job: int | str,
        *,
        expected_version: int | None = None,
        author: str | None = None,
        message: str | None = None,
        **changes: Any,
    ) -> Job:
        """Change fields of a job's definition; the job gets a new version, by ``author``
        (default: the user running this), with ``message``. A change that changes nothing
        makes no version. With ``expected_version``, fail with VersionConflict if the job is
        at another version (someone changed it since it was read), changing nothing. A job
        with a template keeps it: ``changes`` are its own fields (see ``templates``)."""

        resolved = _resolved(self.registry, changes)  # imports, if any, before the lock

        def changed(connection: Any, current: Job) -> JobSpec:
            if changes.get("name", current.name) != current.name:
                problem = "a job keeps its name; define a new job and delete this one to rename it"
                raise SpecError([("name", problem)])
            return JobSpec.parse(_templated(connection, _changed(current.spec, resolved)))

        return self._redefine(
            job, changed, VersionAction.UPDATE, expected_version, author=author, message=message
        )

    def pause_schedule(self, job: int | str, *, until: datetime | None = None) -> None:
        """Pause until resumed; with ``until``, until then (see ``pause_until``)."""
        if until is not None:
            self.pause_until(job, until)
            return
        self._set_enabled(job, is_enabled=False, action=AuditAction.JOB_PAUSE)

    def resume_schedule(self, job: int | str, *, catch_up: bool = False) -> None:
        """Resume from now: due times missed while paused are not caught up. With
        ``catch_up``, they are, by the job's misfire policy (see ``resume_catching_up``)."""
        if catch_up:
            self.resume_catching_up(job)
            return
        self._set_enabled(job, is_enabled=True, action=AuditAction.JOB_RESUME)

    def delete_schedule(
        self,
        job: int | str,
        *,
        author: str | None = None,
        message: str | None = None,
        check: Callable[[JobSpec], None] | None = None,
    ) -> None:
        """Delete the job; its history and versions stay, the last one a ``delete``.
        ``check(current)`` sees the definition in the deleting transaction, and refuses by
        raising."""
        now = self.clock.now()
        with self.database.transaction() as connection:
            found = store_jobs.get_job(connection, job, lock=True)
            if check is not None:
                check(Job.from_row(found).spec)
            graph = check_change(connection, deleted=[found.name])
            notify(connection, JOBS)
            store_jobs.delete_job(connection, found.id, now)
            keep_edges(connection, graph)
            _record(connection, {VersionAction.DELETE: [found.id]}, author, message, now)
            self._audit_job(connection, AuditAction.JOB_DELETE, found.name, before=found.spec)

    def trigger_now(
        self,
        job: int | str,
        args: list[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        *,
        respect_overlap: bool = False,
    ) -> int:
        """A run of the job right away, whatever its schedule; returns the run id.

        A run asked for by hand starts at once, beside any unfinished run of the job. With
        ``respect_overlap`` the job's overlap policy decides it as it decides a scheduled
        run: beside an unfinished run of a ``forbid`` job it is recorded skipped (reason
        ``overlap``), a ``queue`` job's waits, a ``replace`` job's cancels the other."""
        audit = _AskRecord(AuditAction.JOB_TRIGGER, detail={"args": args, "kwargs": kwargs})
        (run_id,) = self._ask(
            job, Trigger.MANUAL, [(args, kwargs)], respect_overlap=respect_overlap, audit=audit
        )
        return run_id

    def trigger_many(
        self,
        job: int | str,
        count: int | None = None,
        *,
        kwargs: Sequence[dict[str, Any] | None] | None = None,
        respect_overlap: bool = False,
    ) -> list[int]:
        """Many runs of the job right away, made in one transaction; returns their ids in
        order. Either ``count`` runs with the job's own arguments, or one run per entry of
        ``kwargs`` (None: the job's own). With ``respect_overlap`` the job's overlap policy
        decides them one after another, as ``trigger_now`` decides one."""
        if (count is None) == (kwargs is None):
            raise ValueError("trigger_many: give either count or kwargs")
        calls: list[Call] = [(None, each) for each in kwargs or [None] * (count or 0)]
        if not calls:
            return []
        detail = {"count": len(calls), "kwargs": kwargs}
        audit = _AskRecord(AuditAction.JOB_TRIGGER, detail=detail)
        return self._ask(job, Trigger.MANUAL, calls, respect_overlap=respect_overlap, audit=audit)

    def _run_now(
        self,
        job: Job,
        trigger: Trigger,
        args: list[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        *,
        audit: _AskRecord,
    ) -> int:
        (run_id,) = self._ask(job.id, trigger, [(args, kwargs)], audit=audit)
        return run_id

    _ASK_TRIES = 20

    def _ask(
        self,
        job: int | str,
        trigger: Trigger,
        calls: Sequence[Call],
        *,
        respect_overlap: bool = False,
        audit: _AskRecord,
    ) -> list[int]:
        """Runs of a live job, asked for now; returns their ids in the order of ``calls``.

        One run of a job asked for before goes in by one statement that checks the job is
        still at the version seen then (``insert_asked_run``), unless its overlap policy is
        to be respected and is not ``allow``. Otherwise, or when that check fails, one
        transaction locks the job's row, decides the runs (by the overlap policy, when it
        is respected, against the job's unfinished runs) and makes them, each at its own
        instant (``_insert_asked``); when another transaction took an instant meanwhile,
        that transaction is tried again, looking first. ``audit`` records the runs made in
        the transaction that makes them."""
        now = self.clock.now()
        known = self._asked.get(job)
        is_free = known is not None and (
            not respect_overlap or known.spec.overlap is OverlapPolicy.ALLOW
        )
        if known is not None and is_free and len(calls) == 1:
            record = store_audit.record_row(
                actor=current_actor(),
                action=audit.action,
                object_type=audit.object_type,
                object_id=_asked_of(audit, known),
                at=now,
                detail=audit.detail,
                secret_keys=self.secret_keys,
            )
            with self.database.statements() as connection:  # the run and record together
                run_id = insert_asked_run(
                    connection,
                    known.template(now, trigger),
                    calls[0],
                    job_version=known.version,
                    next_due=known.spec.schedule.next_after,
                    record=record,
                )
            if run_id is not None:
                return self._made([run_id])
        # Each try that loses a race is beaten by a transaction that committed: with N
        # racing at once, N tries are enough.
        for attempt in range(self._ASK_TRIES):
            look = attempt > 0
            try:
                with self.database.transaction() as connection:
                    known = self._read_job(connection, job, lock=True)
                    policy = known.spec.overlap if respect_overlap else OverlapPolicy.ALLOW
                    ids = _insert_asked(
                        connection, known, policy, calls, now=now, trigger=trigger, look=look
                    )
                    self._audit_asked(connection, audit, known, ids)
                    notify(connection, RUNS)
                return self._made(ids)
            except InstantTaken:
                continue
        raise InstantTaken(f"job {job!r}: no free instant for {len(calls)} run(s) from {now}")

    def _made(self, run_ids: list[int]) -> list[int]:
        """Runs were committed: this process's worker, if any, claims them without waiting
        for the store's signal to come round."""
        if self._worker is not None:
            self._worker.wake.set()
        return run_ids

    def _read_job(self, connection: Any, job: int | str, *, lock: bool = False) -> _AskedJob:
        row = store_jobs.get_job(connection, job, lock=lock)
        with self._asked_lock:
            spec = self._specs.get(row.id, row.version, row.spec)
            known = _AskedJob(row.id, row.version, spec, row.queue, row.priority)
            if len(self._asked) >= _ASKED_JOBS:  # bounded: start afresh
                self._asked.clear()
            self._asked[job] = known
        return known

    def get_next_run_times(self, job: int | str, count: int = 5) -> list[datetime]:
        found = self.get_schedule(job)
        times: list[datetime] = []
        moment: datetime | None = self.clock.now()
        while moment is not None and len(times) < count:
            moment = found.spec.schedule.next_after(moment)
            if moment is not None:
                times.append(moment)
        return times

    def get_schedule_status(self, job: int | str) -> dict[str, Any]:
        found = self.get_schedule(job)
        with self.database.transaction(write=False) as connection:
            status = store_stats.job_status(connection, found.id)
        return {"next_run": found.next_due_at, **_asdict(status)}

    def get_statistics(self) -> dict[str, Any]:
        now = self.clock.now()
        with self.database.transaction(write=False) as connection:
            figures = store_stats.statistics(connection, now)
            is_paused = bool(store_flags.get_flag(connection, store_flags.PAUSED, False))
        return {**_asdict(figures), "uptime": now - self.started_at, "is_paused": is_paused}

    def apply(
        self,
        specs: list[JobSpec],
        *,
        templates: Sequence[Template] = (),
        prune: bool = False,
        dry_run: bool = False,
        author: str | None = None,
        message: str | None = None,
    ) -> Plan:
        """Make the store's jobs match ``specs`` (like ``kubectl apply``): create what is new,
        update what changed, leave the rest; with ``prune`` delete live jobs not in ``specs``.
        ``templates`` are stored too, and a live job not in ``specs`` that uses a changed one
        is made again from it. One transaction: all of it or nothing. ``dry_run`` only says
        what would change. Registered task names become the dotted paths workers import;
        every task must import. Each job created, updated or deleted gets a version by
        ``author`` with ``message``."""
        specs = resolve_tasks(self.registry, specs)
        templates = [self._resolved_template(template) for template in templates]
        now = self.clock.now()
        with self.database.transaction() as connection:
            specs = self._templated_specs(connection, specs, templates)
            current = {row.name: row for row in store_jobs.list_jobs(connection)}
            changed_templates, stored_templates = _changed_templates(connection, templates)
            named = {spec.name for spec in specs}
            followers = [] if prune else _followers(changed_templates, current, skip=named)
            plan = plan_apply(current, [*specs, *followers], prune=prune)
            plan = replace(plan, templates=tuple(t.name for t in changed_templates))
            places = {spec.name: f"jobs[{index}]" for index, spec in enumerate(specs)}
            graph = check_change(
                connection,
                changed=[*plan.create, *plan.update],
                deleted=plan.delete,
                places=places,
            )
            if not dry_run:
                for template in changed_templates:
                    before = stored_templates.get(template.name)
                    self._audit_template(connection, template, before)
                    store_templates.put_template(connection, template.name, template.as_dict(), now)
                changed = _carry_out(connection, plan, current, now)
                keep_edges(connection, graph)
                _record(connection, changed, author, message, now)
                self._audit_plan(connection, plan, current)
                notify(connection, JOBS)
        return plan

    def cancel_run(self, run_id: int) -> None:
        """Cancel a run: one not started ends at once; a running one is stopped by its worker
        within a heartbeat."""
        with self.database.transaction() as connection:
            row = get_run(connection, run_id)
            if row is None:
                raise RunNotFound(f"run {run_id} does not exist")
            if RunStatus(row.status).is_finished:
                raise RunEnded(f"run {run_id} has already ended ({row.status})")
            cancel_runs(connection, [run_id], self.clock.now(), "cancelled by hand")
            after = get_run(connection, run_id)
            self._audit(
                connection,
                AuditAction.RUN_CANCEL,
                "run",
                run_id,
                before={"status": row.status},
                after={"status": None if after is None else after.status},
            )

    def retry_run(self, run_id: int) -> int:
        """Run a finished run's job again with the same arguments (trigger ``retry``)."""
        with self.database.transaction(write=False) as connection:
            row = get_run(connection, run_id)
        if row is None:
            raise RunNotFound(f"run {run_id} does not exist")
        job = self.get_schedule(row.job_id)
        return self._rerun(job, row, AuditAction.RUN_RETRY)

    def recover(self, job: int | str, *, retry: bool = False) -> int | None:
        """Take a job out of the dead-letter queue: enable it again if a dead run took it out
        of service (``on_dead: disable``), and, with ``retry``, run its latest dead run once
        more (a new run, trigger ``retry``). Returns that run's id. A job paused by hand
        stays paused: recovering is not resuming."""
        found = self._set_enabled(
            job, is_enabled=True, only_if_dead=True, action=AuditAction.DLQ_RECOVER
        )
        if not retry:
            return None
        with self.database.transaction(write=False) as connection:
            dead = list_runs(connection, job=found.name, status="dead", limit=1)
            row = get_run(connection, dead[0].id) if dead else None
        if row is None:
            return None
        return self._rerun(found, row, AuditAction.DLQ_RECOVER)

    # --- everything at once --------------------------------------------------------------

    def pause(self) -> None:
        """Stop firing every job (runs in flight finish)."""
        self._set_paused(True)

    def resume(self) -> None:
        """Fire again, from now on: what came due while paused is not caught up. The pause
        ends and every enabled job is planned from now in one transaction, so no scheduler
        ticks between the two and catches the paused hours up."""
        now = self.clock.now()
        with self.database.transaction() as connection:
            enabled = [
                Job.from_row(row) for row in store_jobs.list_jobs(connection, is_enabled=True)
            ]
            cursors = [
                (job.id, next_due_from(job.spec.schedule, now, job.paused_until)) for job in enabled
            ]
            store_jobs.plan_from(connection, cursors, now)
            was_paused = bool(store_flags.get_flag(connection, store_flags.PAUSED, False))
            store_flags.set_flag(connection, store_flags.PAUSED, False, now)
            self._audit_paused(connection, was_paused, False)
            notify(connection, JOBS)

    def start(self, *, scheduler: bool = True, worker: bool = True) -> None:
        """Run loops in threads: the scheduler (under the leader lease) with the reaper, and a
        worker. ``cronwell scheduler`` and ``cronwell worker`` run one part each."""
        self._stop.clear()
        self._wakeup = Wakeup(self.database)  # other processes' commits wake these loops
        loops: list[Callable[[], None]] = []
        if worker:
            self._worker = Worker(
                self.database,
                self.clock,
                queues=self.queues,
                concurrency=self.concurrency,
                lease=self.lease,
                grace=self.grace,
                secret_keys=self.secret_keys,
            )
            self._wakeup.subscribe(RUNS, self._worker.wake)
            self._wakeup.subscribe(CANCELS, self._worker.look_for_cancels)
            loops.append(partial(self._worker.run, self._stop))
        if scheduler:
            loops += self._scheduler_loops()
        self._wakeup.start()
        self._threads = [threading.Thread(target=loop, daemon=True) for loop in loops]
        for thread in self._threads:
            thread.start()

    def _scheduler_loops(self) -> list[Callable[[], None]]:
        scheduler = self._scheduler = Scheduler(self.database, self.clock)
        if self._worker is not None:
            scheduler.on_new_runs = self._worker.wake.set  # the same process: no round trip
        if self._wakeup is not None:
            self._wakeup.subscribe(JOBS, scheduler.wake)
        leader = LeaderLease(self.database, self.clock, ttl=self.lease / 2)
        reaper = Reaper(self.database, self.clock)
        loops: list[Callable[[], None]] = [
            partial(scheduler.run, self._stop, leader),
            partial(reaper.run, self._stop),
        ]
        if not self.retention.is_off:
            pruner = Pruner(self.database, self.retention, self.clock)
            loops.append(partial(pruner.run, self._stop))
        return loops

    def interrupt(self) -> list[int]:
        """Hand back the runs in flight at once, without waiting out the grace period (a
        second Ctrl-C); returns their ids. ``shutdown`` still has to be called."""
        return [] if self._worker is None else self._worker.interrupt()

    def shutdown(self) -> None:
        """Stop the loops: runs in flight get the grace period to finish, and what is still
        running then is handed back to be claimed again by any worker."""
        self._stop.set()
        if self._wakeup is not None:
            self._wakeup.stop()
        # The loops sleep on their wake-ups (the reaper on the stop itself): cut them short.
        if self._worker is not None:
            self._worker.wake.set()
        if self._scheduler is not None:
            self._scheduler.wake.set()
        # The worker's loop ends after the grace period and the hand-back; allow for both.
        deadline = self.grace.total_seconds() + self.lease.total_seconds()
        for thread in self._threads:
            thread.join(deadline)
        if self._worker is not None:
            self._worker.close()
        self.database.dispose()

    # --- helpers -------------------------------------------------------------------------

    def _definition(
        self,
        task: str | Callable[..., Any] | None,
        schedule: str | Mapping[str, Any] | None,
        name: str | None,
        options: dict[str, Any],
    ) -> dict[str, Any]:
        definition: dict[str, Any] = _resolved(self.registry, options)
        if schedule is not None:
            definition["schedule"] = schedule
        if task is not None:
            definition["task"] = self.registry.resolve(task)
        default = getattr(task, "__name__", None) or (task if isinstance(task, str) else None)
        definition["name"] = name or default
        return definition

    def _set_enabled(
        self,
        job: int | str,
        *,
        is_enabled: bool,
        action: AuditAction,
        only_if_dead: bool = False,
    ) -> Job:
        """Pause or resume the job, recorded as ``action``; with ``only_if_dead``, only if a
        dead run took it out of service. Returns the job as it was read."""
        now = self.clock.now()
        with self.database.transaction() as connection:
            # Read and locked in the writing transaction: a schedule changed meanwhile is the
            # one planned, never an older one.
            found = Job.from_row(store_jobs.get_job(connection, job, lock=True))
            if only_if_dead and found.dead_reason is None:
                return found
            next_due = found.spec.schedule.next_after(now) if is_enabled else found.next_due_at
            notify(connection, JOBS)
            store_jobs.set_enabled(
                connection, found.id, is_enabled=is_enabled, next_due_at=next_due, now=now
            )
            before = {"is_enabled": found.is_enabled, "dead_reason": found.dead_reason}
            after = {
                "is_enabled": is_enabled,
                "dead_reason": None if is_enabled else found.dead_reason,
            }
            self._audit(connection, action, "job", found.name, before=before, after=after)
        return found

    def _set_paused(self, is_paused: bool) -> None:
        with self.database.transaction() as connection:
            was_paused = bool(store_flags.get_flag(connection, store_flags.PAUSED, False))
            store_flags.set_flag(connection, store_flags.PAUSED, is_paused, self.clock.now())
            self._audit_paused(connection, was_paused, is_paused)

    # --- dependencies between jobs -------------------------------------------------------

    def dependency_graph(self) -> Graph:
        """The graph of the live jobs: ``depends_on`` and ``fallback`` edges, upstream first."""
        with self.database.transaction(write=False) as connection:
            return build_graph(live_specs(connection).values())

    def topological_order(self) -> list[str]:
        """Every live job's name, each after all its upstreams; ties by name."""
        return self.dependency_graph().order()

    # --- versions ------------------------------------------------------------------------

    def list_versions(self, job: int | str) -> list[Version]:
        """The job's versions, oldest first. A deleted job's stay readable: by its id, or by
        its name while no live job has taken that name (the latest deleted job of it)."""
        with self.database.transaction(write=False) as connection:
            return store_versions.list_versions(
                connection, store_versions.find_job(connection, job)
            )

    def get_version(self, job: int | str, number: int) -> JobSpec:
        """The definition version ``number`` of the job left; VersionNotFound if none."""
        with self.database.transaction(write=False) as connection:
            found = store_versions.find_job(connection, job)
            return JobSpec.from_canonical(store_versions.definition_of(connection, found, number))

    def diff_versions(self, job: int | str, old: int, new: int | None = None) -> str:
        """A unified diff from version ``old`` of the job's definition to version ``new``
        (default: the latest), headed ``name@vN``, secrets masked (one that changed reads
        ``*** (changed)``); empty when they are the same."""
        with self.database.transaction(write=False) as connection:
            found = store_versions.find_job(connection, job)
            new = store_versions.latest_number(connection, found) if new is None else new
            before = store_versions.definition_of(connection, found, old)
            after = store_versions.definition_of(connection, found, new)
        before, after = self.secret_keys.mask_definitions(before, after)
        return diff_definitions(found.name, (old, before), (new, after))

    def rollback(
        self,
        job: int | str,
        number: int,
        *,
        expected_version: int | None = None,
        author: str | None = None,
        message: str | None = None,
        check: Callable[[JobSpec, JobSpec], None] | None = None,
    ) -> Job:
        """Define the job as version ``number`` left it: a new version (action ``rollback``,
        message by default "rollback to version N"), planned from now on as any change is.
        Already at that definition, nothing is written and the job is returned as it is.
        ``check(current, old)`` sees both in the writing transaction, and refuses by raising."""

        def old(connection: Any, current: Job) -> JobSpec:
            found = JobRef(current.id, current.name)
            spec = JobSpec.from_canonical(store_versions.definition_of(connection, found, number))
            if check is not None:
                check(current.spec, spec)
            return spec

        said = message or f"rollback to version {number}"
        action = VersionAction.ROLLBACK
        return self._redefine(job, old, action, expected_version, author=author, message=said)

    def _redefine(
        self,
        job: int | str,
        define: Callable[[Any, Job], JobSpec],
        action: VersionAction,
        expected_version: int | None,
        *,
        author: str | None,
        message: str | None,
    ) -> Job:
        """Give the job the definition ``define`` makes of it, and a version saying so, in
        one transaction that holds the job's row: nobody changes it between the read and
        the write. The same definition again changes nothing."""
        now = self.clock.now()
        with self.database.transaction() as connection:
            current = Job.from_row(store_jobs.get_job(connection, job, lock=True))
            _check_version(current, expected_version)
            spec = define(connection, current)
            if spec.canonical() == current.spec.canonical():
                return current
            graph = check_change(connection, changed=[spec], was=[current.spec])
            notify(connection, JOBS)
            is_updated = store_jobs.update_job(
                connection, current.id, spec, expected_version=current.version, now=now
            )
            if not is_updated:  # the row is held: only a store bypassing the lock gets here
                raise VersionConflict(f"job {current.name!r} changed while being updated")
            keep_edges(connection, graph)
            _record(connection, {action: [current.id]}, author, message, now)
            audited = _AUDITED_VERSIONS[action]
            self._audit_job(connection, audited, current.name, before=current.spec, after=spec)
        return self.get_schedule(current.id)

    # --- operator controls ---------------------------------------------------------------

    def backfill(
        self,
        job: int | str,
        start: datetime,
        end: datetime,
        *,
        overlap: OverlapPolicy | str | None = None,
        dry_run: bool = False,
    ) -> Backfill:
        """A run (trigger ``backfill``) for each of the job's due times from ``start`` to
        ``end``, both included, that has none yet; naive instants are wall times in the job's
        zone. ``overlap``: allow, queue (the default: one at a time, oldest first) or forbid.
        ControlError on a bad range, or one of more than 10,000 due times."""
        done = controls.backfill(
            self.database,
            self.clock.now(),
            job,
            start,
            end,
            overlap=overlap,
            dry_run=dry_run,
            audit=self._control_audit(AuditAction.JOB_BACKFILL),
        )
        self._made(list(done.run_ids))
        return done

    def skip_next(self, job: int | str) -> datetime:
        """Skip the job's next due time (recorded as a run skipped by hand); returns it."""
        audit = self._control_audit(AuditAction.JOB_SKIP_NEXT)
        return controls.skip_next(self.database, self.clock.now(), job, audit=audit)

    def pause_until(self, job: int | str, until: datetime) -> datetime:
        """Pause the job until ``until``; then its first due time at or after ``until`` runs,
        and the due times before it are not run. Returns ``until`` in UTC."""
        audit = self._control_audit(AuditAction.JOB_PAUSE)
        return controls.pause_until(self.database, self.clock.now(), job, until, audit=audit)

    def resume_catching_up(self, job: int | str) -> datetime | None:
        """Resume the job where its planning stopped: due times missed while it was paused go
        through its misfire policy, as after downtime. Returns when it is next due."""
        audit = self._control_audit(AuditAction.JOB_RESUME)
        return controls.resume_catching_up(self.database, self.clock.now(), job, audit=audit)

    def move_cursor(self, job: int | str, *, to: datetime) -> datetime | None:
        """Plan the job from ``to`` on: back in time, its due times since are planned again
        by its misfire policy; ahead, the ones before ``to`` are skipped. Returns when it is
        next due."""
        audit = self._control_audit(AuditAction.JOB_MOVE_CURSOR)
        return controls.move_cursor(self.database, self.clock.now(), job, to, audit=audit)

    # --- templates -----------------------------------------------------------------------

    def create_template(self, name: str, *, description: str = "", **fields: Any) -> Template:
        """Store a template: job fields (schedule, timezone, retry, queue, ...) that jobs
        naming it start from."""
        template = Template.parse({"name": name, "description": description, **fields})
        template = self._resolved_template(template)
        with self.database.transaction() as connection:
            if store_templates.get_templates(connection, [name]):
                raise TemplateExists(f"name: a template named {name!r} exists already")
            store_templates.put_template(connection, name, template.as_dict(), self.clock.now())
            self._audit(
                connection, AuditAction.TEMPLATE_CREATE, "template", name, after=template.as_dict()
            )
        return template

    def update_template(
        self, name: str, *, author: str | None = None, message: str | None = None, **changes: Any
    ) -> list[str]:
        """Change a template's fields (a field given None is removed). Every live job that
        uses it is made again from the new template and its own fields, as a new version of
        the job (by ``author``, with ``message``, by default "template NAME changed"), in the
        same transaction; returns their names. A job the change would make invalid fails it
        all, naming the job."""
        now = self.clock.now()
        with self.database.transaction() as connection:
            stored = store_templates.get_templates(connection, [name], lock=True)
            if name not in stored:
                raise TemplateNotFound(f"template {name!r} does not exist")
            fields = {**stored[name], **changes}
            template = Template.parse({k: v for k, v in fields.items() if v is not None})
            template = self._resolved_template(template)
            current = {row.name: row for row in store_jobs.list_jobs(connection)}
            followers = _followers([template], current, skip=set())
            store_templates.put_template(connection, name, template.as_dict(), now)
            plan = plan_apply(current, followers, prune=False)
            was = [JobSpec.from_canonical(current[spec.name].spec) for spec in plan.update]
            # Edges may come, go, or change kind as a schedule comes or goes.
            graph = check_change(connection, changed=plan.update, was=was)
            said = message or f"template {name} changed"
            _record(connection, _carry_out(connection, plan, current, now), author, said, now)
            self._audit(
                connection,
                AuditAction.TEMPLATE_UPDATE,
                "template",
                name,
                before=stored[name],
                after=template.as_dict(),
            )
            self._audit_plan(connection, plan, current)
            keep_edges(connection, graph)
            notify(connection, JOBS)
        return [spec.name for spec in plan.update]

    def get_template(self, name: str) -> Template:
        with self.database.transaction(write=False) as connection:
            stored = store_templates.get_templates(connection, [name])
        if name not in stored:
            raise TemplateNotFound(f"template {name!r} does not exist")
        return Template.from_stored(stored[name])

    def list_templates(self) -> list[Template]:
        with self.database.transaction(write=False) as connection:
            stored = store_templates.get_templates(connection)
        return [Template.from_stored(definition) for definition in stored.values()]

    def delete_template(self, name: str) -> None:
        """Delete a template no live job uses."""
        with self.database.transaction() as connection:
            users = store_templates.jobs_using(connection, name)
            if users:
                raise TemplateInUse(f"template {name!r} is used by {', '.join(users)}")
            stored = store_templates.get_templates(connection, [name], lock=True)
            if not store_templates.delete_template(connection, name):
                raise TemplateNotFound(f"template {name!r} does not exist")
            self._audit(
                connection, AuditAction.TEMPLATE_DELETE, "template", name, before=stored.get(name)
            )

    def _templated_specs(
        self, connection: Any, specs: Sequence[JobSpec], given: Sequence[Template]
    ) -> list[JobSpec]:
        """``specs`` made again, in the writing transaction, from the templates they name:
        ``given`` ones first, else the stored ones. A spec made from its template before
        (its ``overrides`` kept) comes out the same; one that names a template but was not
        made from it takes from it what a job joining the template takes."""
        names = {spec.template for spec in specs if spec.template is not None}
        if not names:
            return list(specs)
        known = {
            name: Template.from_stored(d)
            for name, d in store_templates.get_templates(connection, names).items()
        }
        known |= {template.name: template for template in given}
        made: list[JobSpec] = []
        problems: list[tuple[str, str]] = []
        for index, spec in enumerate(specs):
            if spec.template is None:
                made.append(spec)
                continue
            template = known.get(spec.template)
            if template is None:
                problems.append((f"jobs[{index}].template", f"no template named {spec.template!r}"))
                continue
            canonical = spec.canonical()
            own = own_fields(canonical) if canonical["overrides"] else joining(canonical)
            made.append(
                JobSpec.parse(resolve(_resolved(self.registry, own), template), f"jobs[{index}]")
            )
        if problems:
            raise SpecError(problems)
        return made

    def _resolved_template(self, template: Template) -> Template:
        return replace(template, fields=_resolved(self.registry, template.fields))

    # --- events --------------------------------------------------------------------------

    def trigger_event(
        self, name: str, payload: Any = None, *, fired_by: str | None = None
    ) -> FiredEvent:
        """Fire the event ``name``: store it with ``payload`` (any JSON value) and who fired
        it (``fired_by``, else the user this process runs as), and make a run of every live,
        enabled job whose schedule is ``event NAME``, each decided by the job's overlap
        policy, all in one transaction. While the scheduler is paused the event is stored
        with no runs. A task gets the payload as ``payload=`` and as ``ctx.event``. Raises
        EventError for a bad name or payload."""
        fired = fire_event(
            self.database,
            name,
            payload,
            fired_by=fired_by if fired_by is not None else current_actor().name,
            now=self.clock.now(),
            specs=self._spec_of,
            audit=self._event_audit,
        )
        if fired.run_ids:
            self._made(list(fired.run_ids))
        return fired

    def _spec_of(self, job_id: int, version: int, canonical: Mapping[str, Any]) -> JobSpec:
        with self._asked_lock:  # the cache is shared with the threads asking for runs
            return self._specs.get(job_id, version, canonical)

    def _rerun(self, job: Job, row: Any, action: AuditAction) -> int:
        """A run of ``row``'s job again now (trigger ``retry``) with its arguments, recorded
        as ``action`` on ``row``; a run an event made carries its event on, so its task gets
        the same payload. One transaction: no worker claims the new run before it names the
        event."""

        audit = _AskRecord(action, "run", row.id)
        if row.event_id is None:
            return self._run_now(job, Trigger.RETRY, row.args, row.kwargs, audit=audit)
        now = self.clock.now()
        with self.database.transaction() as connection:
            known = self._read_job(connection, job.id, lock=True)
            calls: list[Call] = [(row.args, row.kwargs)]
            ids = _insert_asked(
                connection,
                known,
                OverlapPolicy.ALLOW,
                calls,
                now=now,
                trigger=Trigger.RETRY,
                look=True,
            )
            link_runs(connection, row.event_id, ids)
            self._audit_asked(connection, audit, known, ids)
            notify(connection, RUNS)
        (run_id,) = self._made(ids)
        return run_id

    # --- crontab -------------------------------------------------------------------------

    def execute_now(self, job: int | str) -> Executed:
        """Make a run of the job now and execute it in this process to its end, recorded like
        any other run (trigger ``exec``); see ``cronwell.engine.direct``."""
        return execute_job(
            self.database,
            self.clock,
            job,
            lease=self.lease,
            grace=self.grace,
            secret_keys=self.secret_keys,
            audit=self._exec_audit,
        )

    # --- users and tokens ----------------------------------------------------------------

    def add_user(self, name: str, role: Role | str, *, password: str | None = None) -> UserRow:
        """Store a user with ``role``; see ``cronwell.store.auth``. Raises AuthError for an
        unknown role or a name that is empty or taken."""
        with self.database.transaction() as connection:
            added = store_auth.add_user(
                connection, name, parse_role(role), now=self.clock.now(), password=password
            )
            self._audit(connection, AuditAction.USER_ADD, "user", name, after=_user_state(added))
            return added

    def list_users(self) -> list[UserRow]:
        with self.database.transaction(write=False) as connection:
            return store_auth.list_users(connection)

    def disable_user(self, name: str) -> bool:
        """Disable ``name`` and so its tokens; False if it was disabled already."""
        with self.database.transaction() as connection:
            is_disabled = store_auth.disable_user(connection, name, now=self.clock.now())
            if is_disabled:
                before, after = {"is_disabled": False}, {"is_disabled": True}
                action = AuditAction.USER_DISABLE
                self._audit(connection, action, "user", name, before=before, after=after)
            return is_disabled

    def create_token(
        self,
        role: Role | str,
        *,
        user: str | None = None,
        name: str | None = None,
        expires_at: datetime | None = None,
        expires_in: timedelta | None = None,
    ) -> NewToken:
        """A new API token valid until ``expires_at``, or for ``expires_in`` from now, or for
        ever; its plain text is in the result only, never stored. Raises AuthError for an
        unknown or disabled user, a role above the user's, or an expiry not in the future."""
        now = self.clock.now()
        if expires_in is not None:
            expires_at = now + expires_in
        with self.database.transaction() as connection:
            made = store_auth.create_token(
                connection,
                parse_role(role),
                now=now,
                user=user,
                name=name,
                expires_at=expires_at,
            )
            after = _token_state(made.row)
            self._audit(connection, AuditAction.TOKEN_CREATE, "token", made.row.id, after=after)
            return made

    def list_tokens(self) -> list[TokenRow]:
        with self.database.transaction(write=False) as connection:
            return store_auth.list_tokens(connection)

    def revoke_token(self, token_id: int) -> bool:
        """Revoke a token; False if it was revoked already, AuthError if it does not exist."""
        with self.database.transaction() as connection:
            revoked = store_auth.revoke_token(connection, token_id, now=self.clock.now())
            if revoked is not None:
                after = _token_state(revoked)
                before = after | {"revoked_at": None}
                action = AuditAction.TOKEN_REVOKE
                self._audit(connection, action, "token", token_id, before=before, after=after)
            return revoked is not None

    def authenticate(self, token: str) -> Principal | None:
        """Who ``token`` speaks for now, or None (unknown, revoked, expired, user disabled).
        Only reads, but for a use to record once a minute (see ``store.auth.record_use``)."""
        now = self.clock.now()
        with self.database.transaction(write=False) as connection:
            found = store_auth.find_principal(connection, token, now)
        if found is None:
            return None
        principal, last_used_at = found
        if store_auth.is_use_stale(last_used_at, now):
            with self.database.transaction() as connection:
                store_auth.record_use(connection, principal.token_id, now)
        return principal

    # --- retention -----------------------------------------------------------------------

    def prune(
        self, *, dry_run: bool = False, retention: Retention | None = None
    ) -> store_retention.Pruned:
        """Delete now (or with ``dry_run`` only count) the finished runs, attempts and events
        that ``retention`` (this app's unless given) lets go."""
        policy = self.retention if retention is None else retention
        return store_retention.prune(self.database, policy, self.clock.now(), dry_run=dry_run)

    # --- jobs over the API ----------------------------------------------------------------

    def change_schedule(
        self,
        job: int | str,
        changes: Mapping[str, Any],
        *,
        is_replace: bool = False,
        check: Callable[[JobSpec, JobSpec], None] | None = None,
        expected_version: int | None = None,
        author: str | None = None,
        message: str | None = None,
    ) -> Job:
        """``update_schedule`` with ``changes`` as a mapping; with ``is_replace`` they are the
        whole new definition (what they leave out takes its default). ``check(current, new)``
        sees both definitions inside the writing transaction and refuses by raising, so what
        it approved is what gets written."""
        resolved = _resolved(self.registry, changes)

        def changed(connection: Any, current: Job) -> JobSpec:
            if resolved.get("name", current.name) != current.name:
                problem = "a job keeps its name; define a new job and delete this one to rename it"
                raise SpecError([("name", problem)])
            fields = resolved if is_replace else _changed(current.spec, resolved)
            # What the API shows is masked: a definition sent back as it was read keeps
            # the stored secrets wherever it still says ``***``.
            fields = self.secret_keys.keep_masked(fields, current.spec.canonical())
            spec = JobSpec.parse(_templated(connection, fields))
            if check is not None:
                check(current.spec, spec)
            return spec

        return self._redefine(
            job, changed, VersionAction.UPDATE, expected_version, author=author, message=message
        )

    # --- the first admin -----------------------------------------------------------------

    def ensure_admin(self, token: str | None = None) -> str | None:
        """Make sure an admin can use the API: on a store without an enabled admin, add the
        user ``admin`` and return its new token, to be shown once (None on later calls). With
        ``token`` (``CRONWELL_ADMIN_TOKEN``), that is the admin's token instead: stored hashed
        if it is not yet, and never returned. AuthError for a token too weak to serve, or a
        user ``admin`` that is disabled or not an admin; see ``cronwell.store.auth``."""
        with self.database.transaction() as connection:
            made = store_auth.ensure_admin(connection, now=self.clock.now(), token=token)
            if made.user is not None:
                after = _user_state(made.user)
                self._audit(connection, AuditAction.USER_ADD, "user", made.user.name, after=after)
            if made.token is not None:
                after = _token_state(made.token)
                action = AuditAction.TOKEN_CREATE
                self._audit(connection, action, "token", made.token.id, after=after)
            return made.plain

    # --- runs, events and the cluster (API reads) ---

    def find_runs(
        self, filters: RunFilter | None = None, *, limit: int = 100, offset: int = 0
    ) -> Page[RunRow]:
        """A page of runs matching ``filters`` (all runs without), the most recently due
        first, with how many match in all."""
        with self.database.transaction(write=False) as connection:
            return store_pages.page_runs(
                connection, filters or RunFilter(), limit=limit, offset=offset
            )

    def get_run_detail(self, run_id: int) -> RunDetail:
        """The run with its arguments and every attempt; RunNotFound if there is none."""
        with self.database.transaction(write=False) as connection:
            found = store_pages.run_detail(connection, run_id)
        if found is None:
            raise RunNotFound(f"run {run_id} does not exist")
        return found

    def find_dead_runs(self, *, limit: int = 100, offset: int = 0) -> Page[RunRow]:
        """The dead-letter queue a page at a time: runs that exhausted their attempts."""
        dead = RunFilter(statuses=(RunStatus.DEAD.value,))
        return self.find_runs(dead, limit=limit, offset=offset)

    def find_events(
        self,
        *,
        name: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Page[EventRow]:
        """A page of events fired, the newest first, each with how many runs it made."""
        with self.database.transaction(write=False) as connection:
            return store_pages.page_events(
                connection, name=name, since=since, until=until, limit=limit, offset=offset
            )

    def get_event(self, event_id: int) -> tuple[EventRow, list[RunRow]]:
        """The event and the runs it made; EventNotFound if there is none."""
        with self.database.transaction(write=False) as connection:
            return store_pages.event_with_runs(connection, event_id)

    def list_workers(
        self, *, include_stopped: bool = True, limit: int = 100, offset: int = 0
    ) -> list[tuple[WorkerRow, bool]]:
        """Workers, the most recently started first, each with whether it is alive now (not
        stopped, and beat within its lease)."""
        now = self.clock.now()
        with self.database.transaction(write=False) as connection:
            found = store_workers.list_workers(
                connection, include_stopped=include_stopped, limit=limit, offset=offset
            )
        return [(row, store_workers.is_alive(row, now)) for row in found]

    def list_leases(self) -> tuple[list[Lease], list[RunLease]]:
        """The leases held: the named ones (the scheduler's leader lease), then the running
        runs', soonest to expire first; read together, so they agree."""
        with self.database.transaction(write=False) as connection:
            return store_leases.list_leases(connection), run_leases(connection)

    @staticmethod
    def leader_of(named: Sequence[Lease]) -> str | None:
        """Where the leading scheduler runs ("host pid N"), from ``list_leases``'s named
        leases; its owner token when the lease predates that; None when none leads."""
        return next(
            (lease.holder or lease.owner for lease in named if lease.name == LEADER_LEASE), None
        )

    def is_paused(self) -> bool:
        """Whether everything is paused (``pause``): no job fires until ``resume``."""
        with self.database.transaction(write=False) as connection:
            return bool(store_flags.get_flag(connection, store_flags.PAUSED, False))

    # --- audit ---------------------------------------------------------------------------

    def list_audit(
        self,
        *,
        actor: str | None = None,
        action: AuditAction | str | None = None,
        object_type: str | None = None,
        object_id: str | int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = store_audit.DEFAULT_LIMIT,
        before_id: int | None = None,
    ) -> list[AuditRecord]:
        """Audit records newest first, by the filters given (see ``store.audit.list_audit``)."""
        with self.database.transaction(write=False) as connection:
            return store_audit.list_audit(
                connection,
                actor=actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
                since=since,
                until=until,
                limit=limit,
                before_id=before_id,
            )

    def masked_definition(self, definition: JobSpec | Mapping[str, Any]) -> dict[str, Any]:
        """A job definition as it may be shown: canonical, with the values of its kwargs,
        env and metadata under secret keys masked. The stored definition keeps them."""
        canonical = definition.canonical() if isinstance(definition, JobSpec) else definition
        return self.secret_keys.mask_definition(canonical)

    def login(
        self, name: str, password: str, *, expires_in: timedelta = timedelta(hours=12)
    ) -> tuple[str, TokenRow]:
        """A token for user ``name`` with the user's role, expiring after ``expires_in``,
        if ``password`` is the user's and the user is enabled; else LoginFailed, the same
        for every reason. Both outcomes are recorded; a failure's record commits though the
        login fails."""
        now = self.clock.now()
        with self.database.transaction(write=False) as connection:
            user = store_logins.find_login(connection, name)
        # scrypt runs outside the transaction: no write lock is held while it works. An
        # unknown user is checked against a stand-in, so timing does not tell them apart.
        is_right = verify_password(
            password, user.password_hash if user else store_logins.stand_in()
        )
        if user is not None and is_right:
            try:
                return self._logged_in(user.row, now + expires_in)
            except AuthError:  # disabled since it was read
                pass
        with self.database.transaction() as connection, acting_as(self._login_actor(name)):
            self._audit(connection, AuditAction.LOGIN_FAILED, "user", name)
        raise LoginFailed("name or password is wrong")

    def _logged_in(self, user: UserRow, expires_at: datetime) -> tuple[str, TokenRow]:
        with (
            self.database.transaction() as connection,
            acting_as(self._login_actor(user.name, user.role)),
        ):
            made = store_auth.create_token(
                connection,
                user.role,
                now=self.clock.now(),
                user=user.name,
                name="login",
                expires_at=expires_at,
            )
            after = _token_state(made.row)
            self._audit(connection, AuditAction.LOGIN, "user", user.name, after=after)
        return made.token, made.row

    @staticmethod
    def _login_actor(name: str, role: Role | None = None) -> Actor:
        """Who logs in acts as the name given, through the edge the call came by."""
        return Actor(name=name, role=None if role is None else role.value, via=current_actor().via)

    def _audit(
        self,
        connection: Any,
        action: AuditAction,
        object_type: str,
        object_id: str | int,
        *,
        before: Any = None,
        after: Any = None,
        detail: Any = None,
    ) -> None:
        """Record a change by the current actor, at the clock's now, in ``connection``'s
        transaction: the change's own."""
        store_audit.record(
            connection,
            actor=current_actor(),
            action=action,
            object_type=object_type,
            object_id=object_id,
            at=self.clock.now(),
            before=before,
            after=after,
            detail=detail,
            secret_keys=self.secret_keys,
        )

    def _audit_job(
        self,
        connection: Any,
        action: AuditAction,
        name: str,
        *,
        before: JobSpec | Mapping[str, Any] | None = None,
        after: JobSpec | Mapping[str, Any] | None = None,
    ) -> None:
        """Record a change of job ``name``, with its definitions before and after, masked; a
        stored definition is taken as its canonical form, with no need to parse it."""

        def shown(spec: JobSpec | Mapping[str, Any] | None) -> dict[str, Any] | None:
            return None if spec is None else self.masked_definition(spec)

        self._audit(connection, action, "job", name, before=shown(before), after=shown(after))

    def _audit_plan(self, connection: Any, plan: Plan, current: Mapping[str, JobRow]) -> None:
        """One record per job an apply (or a template's change) created, updated or deleted."""

        for spec in plan.create:
            self._audit_job(connection, AuditAction.JOB_CREATE, spec.name, after=spec)
        for spec in plan.update:
            before = current[spec.name].spec
            self._audit_job(
                connection, AuditAction.JOB_UPDATE, spec.name, before=before, after=spec
            )
        for name in plan.delete:
            self._audit_job(connection, AuditAction.JOB_DELETE, name, before=current[name].spec)

    def _audit_template(
        self, connection: Any, template: Template, before: dict[str, Any] | None
    ) -> None:
        """Record a template an apply is about to store: created, or changed from ``before``."""
        action = AuditAction.TEMPLATE_CREATE if before is None else AuditAction.TEMPLATE_UPDATE
        after = template.as_dict()
        self._audit(connection, action, "template", template.name, before=before, after=after)

    def _audit_paused(self, connection: Any, was_paused: bool, is_paused: bool) -> None:
        action = AuditAction.SCHEDULER_PAUSE if is_paused else AuditAction.SCHEDULER_RESUME
        before, after = {"is_paused": was_paused}, {"is_paused": is_paused}
        self._audit(connection, action, "scheduler", "scheduler", before=before, after=after)

    def _audit_asked(
        self, connection: Any, audit: _AskRecord, known: _AskedJob, ids: list[int]
    ) -> None:
        """Record the runs just asked for, in the transaction that makes them."""
        after = {"run_ids": ids}
        object_id = _asked_of(audit, known)
        self._audit(
            connection, audit.action, audit.object_type, object_id, after=after, detail=audit.detail
        )

    def _control_audit(self, action: AuditAction) -> controls.Audit:
        def audit(connection: Any, name: str, before: Any, after: Any) -> None:
            self._audit(connection, action, "job", name, before=before, after=after)

        return audit

    def _exec_audit(self, connection: Any, name: str, run_id: int) -> None:
        after, detail = {"run_ids": [run_id]}, {"exec": True}
        self._audit(connection, AuditAction.JOB_TRIGGER, "job", name, after=after, detail=detail)

    def _event_audit(self, connection: Any, fired: FiredEvent, payload: Any) -> None:
        after = {"name": fired.name, "payload": payload, "run_ids": list(fired.run_ids)}
        self._audit(connection, AuditAction.EVENT_FIRE, "event", fired.id, after=after)


# What a redefinition (``_redefine``) is recorded as.
_AUDITED_VERSIONS = {
    VersionAction.UPDATE: AuditAction.JOB_UPDATE,
    VersionAction.ROLLBACK: AuditAction.JOB_ROLLBACK,
}


def _user_state(user: UserRow) -> dict[str, Any]:
    """What an audit record keeps of a user: never a password or its hash. (A key that
    named a password would have its value masked, so none does.)"""
    signs_in_with = "password" if user.has_password else "token"
    return {"name": user.name, "role": user.role.value, "signs_in_with": signs_in_with}


def _token_state(token: TokenRow) -> dict[str, Any]:
    """What an audit record keeps of a token: never the token or its hash."""
    return {
        "id": token.id,
        "name": token.name,
        "user": token.user,
        "role": token.role.value,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
    }


def _asked_of(audit: _AskRecord, known: _AskedJob) -> str | int:
    return known.spec.name if audit.object_id is None else audit.object_id


def _templated(connection: Any, definition: Mapping[str, Any]) -> dict[str, Any]:
    """A job's definition with its template's fields under its own, read in the writing
    transaction; a template that does not exist is a SpecError on ``template``."""
    name = definition.get("template")
    if name is None:
        return resolve(definition, None)
    stored = store_templates.get_templates(connection, [name]) if isinstance(name, str) else {}
    if name not in stored:
        raise SpecError([("template", f"no template named {name!r}")])
    return resolve(definition, Template.from_stored(stored[name]))


def _changed(spec: JobSpec, changes: Mapping[str, Any]) -> dict[str, Any]:
    """A job's definition with ``changes``: its own fields changed, its template's kept. A
    job leaving its template (template None) keeps what the template gave it, as its own."""
    canonical = spec.canonical()
    if canonical["template"] is None and changes.get("template") is not None:
        return {**joining(canonical), **changes}
    if "template" in changes and changes["template"] is None:
        return {**own_fields({**canonical, "template": None}), **changes}
    return {**own_fields(canonical), "template": canonical["template"], **changes}


def _changed_templates(
    connection: Any, templates: Sequence[Template]
) -> tuple[list[Template], dict[str, dict[str, Any]]]:
    """The templates of ``templates`` that are new or differ from the stored ones, and the
    stored definitions of those that exist: what their audit records were changed from."""
    stored = store_templates.get_templates(connection, [t.name for t in templates], lock=True)
    return [t for t in templates if stored.get(t.name) != t.as_dict()], stored


def _followers(
    templates: Sequence[Template],
    current: Mapping[str, JobRow],
    *,
    skip: set[str],
) -> list[JobSpec]:
    """The live jobs that use ``templates`` (but those named in ``skip``), made again from
    them: what the job set itself stays, what came from the template follows it."""
    by_name = {template.name: template for template in templates}
    return [
        JobSpec.parse(resolve(own_fields(row.spec), by_name[row.spec["template"]]), f"jobs.{name}")
        for name, row in current.items()
        if row.spec.get("template") in by_name and name not in skip
    ]


def _insert_asked(
    connection: Any,
    known: _AskedJob,
    policy: OverlapPolicy,
    calls: Sequence[Call],
    *,
    now: datetime,
    trigger: Trigger,
    look: bool,
) -> list[int]:
    """Make the runs asked for, decided one after another by ``policy`` against the job's
    unfinished runs (the caller holds the job's row), as a tick decides due times. Runs that
    end up in the same status go in together; returns the ids in the order of ``calls``."""
    template = known.template(now, trigger)
    next_due = known.spec.schedule.next_after
    if policy is OverlapPolicy.ALLOW:
        return insert_asked_runs(connection, template, calls, next_due=next_due, look=look)
    stored = active_runs(connection, [known.id]).get(known.id, [])
    overlaps = Overlaps(policy, [ActiveRun(run_id, status) for run_id, status in stored])
    decided: list[NewRun] = []
    for _ in calls:
        decision, status = overlaps.decide()
        if decision.action is OverlapAction.REPLACE:
            decided = [replaced(run) for run in decided]
        decided.append(replace(template, status=status, reason=decision.reason))
    cancel_runs(connection, overlaps.cancel, now, REPLACED)
    ids: list[int] = []
    for index, (shape, group) in enumerate(_groups(decided, calls)):
        # After the first group the instants before it are held: look, as a retry does.
        ids += insert_asked_runs(
            connection, shape, group, next_due=next_due, look=look or index > 0
        )
    return ids


def _groups(decided: Sequence[NewRun], calls: Sequence[Call]) -> list[tuple[NewRun, list[Call]]]:
    """Consecutive calls whose runs are decided alike, with the run they share."""
    groups: list[tuple[NewRun, list[Call]]] = []
    for run, call in zip(decided, calls, strict=True):
        if groups and groups[-1][0] == run:
            groups[-1][1].append(call)
        else:
            groups.append((run, [call]))
    return groups


@dataclass(frozen=True, slots=True)
class Plan:
    """What an apply does, by job name."""

    create: tuple[JobSpec, ...]
    update: tuple[JobSpec, ...]
    unchanged: tuple[str, ...]
    delete: tuple[str, ...]
    templates: tuple[str, ...] = ()  # created or changed

    @property
    def is_empty(self) -> bool:
        return not (self.create or self.update or self.delete or self.templates)


_STATUSES = {"active": True, "paused": False, None: None}


def plan_apply(current: Mapping[str, JobRow], specs: list[JobSpec], *, prune: bool) -> Plan:
    """Compare the stored definitions with ``specs`` by their canonical form. A stored form
    is read as today's code reads it first: one stored before a field was added lacks it,
    and is not a change for that."""
    create = tuple(spec for spec in specs if spec.name not in current)
    known = [spec for spec in specs if spec.name in current]
    stored = {
        spec.name: JobSpec.from_canonical(current[spec.name].spec).canonical() for spec in known
    }
    update = tuple(spec for spec in known if spec.canonical() != stored[spec.name])
    unchanged = tuple(spec.name for spec in known if spec.canonical() == stored[spec.name])
    named = {spec.name for spec in specs}
    delete = tuple(sorted(name for name in current if name not in named)) if prune else ()
    return Plan(create, update, unchanged, delete)


def _carry_out(
    connection: Any, plan: Plan, current: Mapping[str, JobRow], now: datetime
) -> dict[VersionAction, list[int]]:
    """Make the plan's changes; returns the jobs changed, by what was done to them."""
    created = [store_jobs.insert_job(connection, spec, now) for spec in plan.create]
    for spec in plan.update:
        row = current[spec.name]
        is_updated = store_jobs.update_job(
            connection, row.id, spec, expected_version=row.version, now=now
        )
        if not is_updated:  # changed by someone else since it was read: apply nothing
            raise VersionConflict(f"job {spec.name!r} changed while being applied")
    for name in plan.delete:
        store_jobs.delete_job(connection, current[name].id, now)
    return {
        VersionAction.CREATE: created,
        VersionAction.UPDATE: [current[spec.name].id for spec in plan.update],
        VersionAction.DELETE: [current[name].id for name in plan.delete],
    }


def _exists(connection: Any, name: str) -> bool:
    try:
        store_jobs.get_job(connection, name)
    except JobNotFound:
        return False
    return True


def resolve_tasks(registry: Registry, specs: list[JobSpec]) -> list[JobSpec]:
    """``specs`` with each task as the dotted path a worker imports, or a SpecError naming
    every task that is not registered or does not import (``jobs[2].task: ...``)."""
    resolved, problems = [], []
    for index, spec in enumerate(specs):
        try:
            task = None if spec.task is None else registry.resolve(spec.task)
        except UnknownTask as error:
            problems.append((f"jobs[{index}].task", str(error)))
            continue
        resolved.append(replace(spec, task=task))
    if problems:
        raise SpecError(problems)
    return resolved


def _resolved(registry: Registry, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Job fields with a task resolved to the dotted path workers import."""
    resolved = dict(changes)
    if resolved.get("task") is not None:
        resolved["task"] = registry.resolve(resolved["task"])
    return resolved


def _asdict(value: Any) -> dict[str, Any]:
    return {name: getattr(value, name) for name in value.__slots__}


def _check_version(current: Job, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != current.version:
        raise VersionConflict(
            f"job {current.name!r} is at version {current.version}, not {expected_version}: "
            "it changed since you read it"
        )


def _record(
    connection: Any,
    changed: Mapping[VersionAction, Sequence[int]],
    author: str | None,
    message: str | None,
    now: datetime,
) -> None:
    """Write the versions of the jobs just changed, in the transaction that changed them."""
    who = author_or_default(author)
    for action, job_ids in changed.items():
        store_versions.record_versions(
            connection, job_ids, action, author=who, message=message, now=now
        )
