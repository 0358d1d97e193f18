"""Direct execution: a run of a job made now and executed at once in this process, recorded
like any other (``cronwell exec``: for a system cron that stays the trigger).

The run is made and claimed in one transaction, so no worker elsewhere ever sees it pending;
a worker of one slot executes it, renews its lease and settles it exactly as a worker settles
the runs it claims: the job's timeout, output limit and retry decision are the same. It makes
one attempt: when the job's retry policy asks for another, the run waits as ``retrying`` for a
worker to take it, as any run does. A paused job is not run: its run is recorded as skipped,
with the reason ``paused``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from cronwell.engine.clock import Clock
from cronwell.engine.worker import GRACE, LEASE, Worker
from cronwell.lifecycle import RunStatus, SkipReason, Trigger
from cronwell.policies.secrets import SecretKeys
from cronwell.spec import JobSpec
from cronwell.store.database import Database
from cronwell.store.history import AttemptRow, RunRow, attempts_of, find_run
from cronwell.store.jobs import JobRow, get_job
from cronwell.store.runs import ClaimedRun, NewRun, claim_run, insert_asked_runs

# Records the run made (connection, job name, run id) in the transaction that makes it.
Audit = Callable[[Connection, str, int], None]


@dataclass(frozen=True, slots=True)
class Executed:
    """A run executed directly: the run as history shows it, the job's definition, and its
    attempt (None when the job was paused and nothing ran)."""

    run: RunRow
    spec: JobSpec
    attempt: AttemptRow | None


def execute_job(
    database: Database,
    clock: Clock,
    job: int | str,
    *,
    lease: timedelta = LEASE,
    grace: timedelta = GRACE,
    secret_keys: SecretKeys | None = None,
    audit: Audit | None = None,
) -> Executed:
    """Make a run of ``job`` now (recorded by ``audit``), execute it here to its end, and say
    how it went. Raises JobNotFound for a job that does not exist."""
    with database.transaction() as connection:
        row = get_job(connection, job, lock=True)
        spec = JobSpec.from_canonical(row.spec)
        worker = Worker(
            database,
            clock,
            queues=(row.queue,),
            concurrency=1,
            lease=lease,
            grace=grace,
            secret_keys=secret_keys,
        )
        run_id = _make_run(connection, row, spec, clock.now())
        if audit is not None:
            audit(connection, row.name, run_id)
        claimed = claim_run(connection, run_id, owner=worker.id, now=clock.now(), lease=lease)
    _execute(worker, claimed, spec)
    with database.transaction(write=False) as connection:
        found = find_run(connection, run_id)
        attempts = attempts_of(connection, run_id)
    assert found is not None  # made above; runs are never deleted while their job lives
    return Executed(found, spec, attempts[-1] if attempts else None)


def _execute(worker: Worker, claimed: ClaimedRun | None, spec: JobSpec) -> None:
    if claimed is None:
        worker.close()
        return
    worker.execute_claimed(claimed, spec)


def _make_run(connection: Connection, row: JobRow, spec: JobSpec, now: datetime) -> int:
    """The run, pending (skipped if the job is paused, by hand or until a later instant), at
    the first instant from ``now`` that the job's runs and due times leave free, as a run
    asked for by hand takes one."""
    is_paused = not row.is_enabled or (row.paused_until is not None and row.paused_until > now)
    new = NewRun.of_job(
        row,
        now,
        Trigger.EXEC,
        max_attempts=spec.retry.max_attempts,
        status=RunStatus.SKIPPED if is_paused else RunStatus.PENDING,
        reason=SkipReason.PAUSED if is_paused else None,
    )
    (run_id,) = insert_asked_runs(
        connection, new, [(None, None)], next_due=spec.schedule.next_after, look=True
    )
    return run_id
