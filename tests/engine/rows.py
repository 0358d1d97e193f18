"""What the engine tests put in the store and read back from it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from cronwell.app import Cronwell
from cronwell.lifecycle import Trigger
from cronwell.spec import JobSpec
from cronwell.store.database import Database
from cronwell.store.jobs import insert_job
from cronwell.store.runs import NewRun, insert_runs
from cronwell.store.tables import runs


def job_with_run(database: Database, when: datetime, **definition: Any) -> int:
    """A job from ``definition`` (named ``job`` unless it says) and one pending run of it,
    due ``when``; returns the run's id."""
    spec = JobSpec.parse({"name": "job", **definition})
    with database.transaction() as connection:
        job_id = insert_job(connection, spec, when)
        run = NewRun(job_id, when, Trigger.MANUAL, spec.queue, 2, spec.retry.max_attempts)
        (run_id,) = insert_runs(connection, [run], when)
    return run_id


def run_rows(app: Cronwell) -> list[Any]:
    """Every run row, oldest first."""
    with app.database.transaction(write=False) as connection:
        return list(connection.execute(select(runs).order_by(runs.c.id)).all())
