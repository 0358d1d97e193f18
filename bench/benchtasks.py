"""Tasks the engine benchmark runs, by dotted path (``benchtasks:noop``): ``bench/`` goes on the
worker's ``sys.path`` (and ``PYTHONPATH`` for process mode)."""

from __future__ import annotations

import time
from typing import Any

STARTED: dict[int, float] = {}  # run id -> time.time() when its task began (thread mode)


def noop() -> None:
    """Does nothing: what is measured is the engine around it."""


def mark(ctx: Any) -> None:
    """Record when this run's task began, for the latency figures."""
    STARTED[ctx.run_id] = time.time()
