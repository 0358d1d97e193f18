"""What keeps a loop alive when its database is not: a failed pass is logged and tried again
after a growing pause, so a restart of PostgreSQL or a dropped connection costs a few seconds
of service, never a dead thread in a process that looks alive."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

FIRST = timedelta(milliseconds=250)
LONGEST = timedelta(seconds=30)


class Backoff:
    """Pauses after consecutive failures: 0.25 s doubling up to 30 s, each jittered by half
    so that many processes that lost the same server do not come back in step."""

    def __init__(self, rand: Callable[[], float] = random.random) -> None:
        self.failures = 0
        self._rand = rand

    def next(self) -> timedelta:
        self.failures += 1
        pause = min(LONGEST, FIRST * (1 << min(self.failures - 1, 16)))
        return pause * (0.5 + self._rand() / 2)

    def reset(self) -> None:
        self.failures = 0


def survive(step: Callable[[], timedelta], backoff: Backoff, what: str) -> timedelta:
    """Run one pass of a loop; when it fails, log why and return the pause to take.

    A database error is logged in a line. Anything else (a bug, a pool that ran out of
    connections) is logged with its traceback and paused on too: a loop that ended would
    leave a process that looks alive and does nothing, which is worse than a loop that
    keeps failing loudly."""
    try:
        pause = step()
    except DBAPIError as error:
        pause = backoff.next()
        log.warning(
            "%s: the database failed (%s); trying again in %.1f s",
            what,
            _one_line(error),
            pause.total_seconds(),
            extra={"event": "loop.failed"},
        )
        return pause
    except Exception:
        pause = backoff.next()
        log.exception(
            "%s failed; trying again in %.1f s",
            what,
            pause.total_seconds(),
            extra={"event": "loop.failed"},
        )
        return pause
    backoff.reset()
    return pause


def try_once(action: Callable[[], object], what: str) -> bool:
    """Do ``action`` once, where nothing may raise (a loop on its way out); whether it did.

    A database error is logged in a line; anything else with its traceback, as the bug it is.
    """
    try:
        action()
    except DBAPIError as error:
        log.warning(
            "%s: the database failed (%s); going on without",
            what,
            _one_line(error),
            extra={"event": "loop.gave_up"},
        )
        return False
    except Exception:
        log.exception("%s failed; going on without", what, extra={"event": "loop.gave_up"})
        return False
    return True


def _one_line(error: DBAPIError) -> str:
    return " ".join(str(error.orig or error).split())
