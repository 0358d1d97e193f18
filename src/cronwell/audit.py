"""Who is acting, and the names of the changes an audit record can say were made.

Every change the facade makes is recorded with the actor current in its context: the
operating system's user for a Python script, the same but ``via="cli"`` for the command
line, and the authenticated principal for the web API, which wraps each request in
``acting_as``. A context variable, not an argument threaded through every method, because
the facade's signatures are shared by all three and only the edge knows who is calling.
What is stored, and how, is ``cronwell.store.audit``.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum

UNKNOWN = "unknown"  # the actor's name when the system cannot tell who runs this
VIA_PYTHON = "python"
VIA_CLI = "cli"
VIA_API = "api"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: a name, the role it acts with if it authenticated, and the edge
    it came through (``python``, ``cli`` or ``api``)."""

    name: str
    role: str | None = None
    via: str = VIA_PYTHON


class AuditAction(StrEnum):
    """What an audit record says was done; the values are what the ``action`` column holds."""

    JOB_CREATE = "job.create"
    JOB_UPDATE = "job.update"
    JOB_DELETE = "job.delete"
    JOB_ROLLBACK = "job.rollback"
    JOB_PAUSE = "job.pause"
    JOB_RESUME = "job.resume"
    JOB_TRIGGER = "job.trigger"
    JOB_BACKFILL = "job.backfill"
    JOB_SKIP_NEXT = "job.skip_next"
    JOB_MOVE_CURSOR = "job.move_cursor"
    RUN_CANCEL = "run.cancel"
    RUN_RETRY = "run.retry"
    DLQ_RECOVER = "dlq.recover"
    EVENT_FIRE = "event.fire"
    TEMPLATE_CREATE = "template.create"
    TEMPLATE_UPDATE = "template.update"
    TEMPLATE_DELETE = "template.delete"
    USER_ADD = "user.add"
    USER_DISABLE = "user.disable"
    TOKEN_CREATE = "token.create"
    TOKEN_REVOKE = "token.revoke"
    LOGIN = "login"
    LOGIN_FAILED = "login.failed"
    SCHEDULER_PAUSE = "scheduler.pause"
    SCHEDULER_RESUME = "scheduler.resume"


def current_user() -> str | None:
    """The operating system's user running this process, if the system can tell."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or the password database
        return None


_ACTOR: ContextVar[Actor | None] = ContextVar("cronwell_actor", default=None)


def current_actor() -> Actor:
    """The actor set by the innermost ``acting_as``, else the operating system's user of
    this process, acting from Python."""
    actor = _ACTOR.get()
    if actor is not None:
        return actor
    return Actor(name=current_user() or UNKNOWN)


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Make ``actor`` the current one for the block, and the previous one again after it."""
    token = _ACTOR.set(actor)
    try:
        yield actor
    finally:
        _ACTOR.reset(token)
