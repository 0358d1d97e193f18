"""Fixtures of the engine tests: a simulated clock that starts at the test module's ``NOW``,
an app on it, and a worker on it, all over the store of the ``database`` fixture's param.

A module that needs another clock or worker defines a fixture of the same name."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from cronwell.app import Cronwell
from cronwell.engine.clock import ManualClock
from cronwell.engine.worker import Worker
from cronwell.store.database import Database


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> ManualClock:
    start = getattr(request.module, "NOW", None)
    if not isinstance(start, datetime):
        raise TypeError(f"{request.module.__name__} needs a NOW (a datetime) for its clock")
    return ManualClock(start)


@pytest.fixture
def app(database_url: str, clock: ManualClock) -> Iterator[Cronwell]:
    app = Cronwell(database_url, clock=clock)
    yield app
    app.database.dispose()


@pytest.fixture
def worker(database: Database, clock: ManualClock) -> Iterator[Worker]:
    """Two slots; retry jitter always at its low end, so delays are exact."""
    worker = Worker(database, clock, concurrency=2, rand=lambda: 0.0)
    yield worker
    worker.close()
