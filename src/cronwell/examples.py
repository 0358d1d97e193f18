"""The example jobs ``cronwell run`` adds to an empty store, so a newcomer sees it work."""

from __future__ import annotations

import random
from typing import Any

from cronwell.engine.child import TaskContext

EXAMPLES: list[dict[str, Any]] = [
    {
        "name": "heartbeat",
        "description": "Says it is alive, every ten seconds",
        "command": "echo alive at $(date -u +%H:%M:%S)",
        "schedule": "*/10 * * * * *",
    },
    {
        "name": "disk-report",
        "description": "Reports free disk space, every 30 seconds",
        "command": "df -h . | tail -n 1",
        "schedule": "every 30s",
    },
    {
        "name": "flaky-sync",
        "description": "Fails now and then, and is retried",
        "task": "cronwell.examples:flaky_sync",
        "schedule": "*/20 * * * * *",
        "retry": {"strategy": "fixed", "max_attempts": 3, "initial_delay": "2s"},
    },
]


def flaky_sync(ctx: TaskContext) -> None:
    """Fails about a third of the time, to show retries."""
    if random.random() < 1 / 3:
        raise ConnectionError("the remote end hung up (a simulated failure)")
    ctx.log("synced", records=random.randint(1, 100))
