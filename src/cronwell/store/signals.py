"""Signals between processes that share a store: "there may be new work", never the work itself.

A writer calls ``notify(connection, channel)`` inside the transaction that makes the work. On
PostgreSQL that is ``pg_notify``, which the server delivers when the transaction commits, and
only if it commits: a listener never wakes before the new rows are visible to it, and a rolled
back transaction wakes nobody. On SQLite it does nothing: there is no server to carry a message,
so a ``Listener`` on SQLite watches ``PRAGMA data_version`` instead, which changes whenever
another connection, in this process or any other, commits a change to the file. That watch is
the cross-process wake-up on SQLite; it cannot tell channels apart, so it reports them all.

A signal is a hint. Whoever receives one re-reads the store; whoever misses one (a dropped
connection, a listener not yet started) finds the work on its next fallback poll.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Sequence
from typing import Protocol

import psycopg
from psycopg import sql
from sqlalchemy import Connection, text

from cronwell.store.database import Database

RUNS = "cronwell_runs"  # runs were made claimable: workers should claim
JOBS = "cronwell_jobs"  # job definitions changed: the scheduler should recompute its sleep
CANCELS = "cronwell_cancels"  # a running run was asked to stop: its worker should look
CHANNELS = (RUNS, JOBS, CANCELS)
POLL = 0.001  # seconds between two reads of PRAGMA data_version on SQLite
_CONNECT_TIMEOUT = 5  # seconds; a listener stuck connecting would hold up stop()

_CHANNEL_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def notify(connection: Connection, channel: str) -> None:
    """Signal ``channel`` when the transaction on ``connection`` commits (PostgreSQL).

    Call it inside the transaction that makes the work. On SQLite it does nothing: listeners
    there see every committed change without being told.
    """
    _check(channel)
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})


def notify_now(database: Database, channel: str) -> None:
    """Signal ``channel`` at once, outside any transaction (PostgreSQL): for work that became
    claimable with the passing of time rather than with a commit. On SQLite it does nothing
    and touches no connection: listeners there see only commits."""
    _check(channel)
    if database.is_sqlite:
        return
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})


class Listener(Protocol):
    """One dedicated connection that waits for signals. Not thread-safe: one thread uses it."""

    def wait(self, timeout: float) -> frozenset[str]:
        """The channels signalled since the last call, waiting up to ``timeout`` seconds for
        the first one; empty when none came. Raises the driver's error when the connection
        is lost: the caller closes this listener and opens another."""
        ...

    def check(self) -> None:
        """Raise the driver's error if the connection is lost (a silent network drop would
        otherwise look like a quiet database forever)."""
        ...

    def close(self) -> None: ...


def listen(
    database: Database, channels: Sequence[str] = CHANNELS, *, poll: float = POLL
) -> Listener:
    """Open a listener on ``database`` for ``channels``: LISTEN on PostgreSQL, a watch of
    ``PRAGMA data_version`` polled every ``poll`` seconds on SQLite. Signals committed after
    this returns are reported; earlier ones are not."""
    for channel in channels:
        _check(channel)
    if database.is_sqlite:
        return DataVersionWatcher(database, channels, poll=poll)
    return NotifyListener(database, channels)


class NotifyListener:
    """PostgreSQL: an autocommit psycopg connection that LISTENs on the channels."""

    def __init__(self, database: Database, channels: Sequence[str]) -> None:
        args, params = database.engine.dialect.create_connect_args(database.url)
        params.setdefault("connect_timeout", _CONNECT_TIMEOUT)
        self._connection = psycopg.connect(*args, **params, autocommit=True)
        try:
            for channel in channels:
                self._connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        except BaseException:
            self._connection.close()
            raise

    def wait(self, timeout: float) -> frozenset[str]:
        # Notifications that arrived between two calls wait in psycopg's backlog and come
        # first; stop_after=1 returns as soon as one packet has been read.
        received = {
            note.channel for note in self._connection.notifies(timeout=timeout, stop_after=1)
        }
        # Drain what else is already here without waiting, so one call reports a burst.
        received.update(note.channel for note in self._connection.notifies(timeout=0))
        return frozenset(received)

    def check(self) -> None:
        self._connection.execute("SELECT 1")

    def close(self) -> None:
        self._connection.close()


class DataVersionWatcher:
    """SQLite: a read-only connection that polls ``PRAGMA data_version``.

    The value changes when another connection commits a change to the database; commits
    that change nothing (an empty write transaction, a rollback) leave it alone. Each read
    costs a few microseconds; at one read a millisecond an idle watcher uses a few percent
    of one core, most of it in waking up from the sleeps.
    """

    def __init__(self, database: Database, channels: Sequence[str], *, poll: float) -> None:
        self._channels = frozenset(channels)
        self._poll = poll
        args, params = database.engine.dialect.create_connect_args(database.url)
        # Autocommit, so each read sees the latest commit instead of a held snapshot.
        self._connection = sqlite3.connect(args[0], isolation_level=None, **params)
        self._version = self._read()

    def wait(self, timeout: float) -> frozenset[str]:
        deadline = time.monotonic() + timeout
        while True:
            version = self._read()
            if version != self._version:
                self._version = version
                return self._channels
            if time.monotonic() >= deadline:
                return frozenset()
            time.sleep(self._poll)  # the deliberate poll: SQLite has no way to push

    def check(self) -> None:
        self._read()

    def close(self) -> None:
        self._connection.close()

    def _read(self) -> int:
        row = self._connection.execute("PRAGMA data_version").fetchone()
        return int(row[0])


def _check(channel: str) -> None:
    if not _CHANNEL_NAME.fullmatch(channel):
        raise ValueError(f"signal channel {channel!r}: use lower-case letters, digits and _")
