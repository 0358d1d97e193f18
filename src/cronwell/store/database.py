"""Connecting to the store, and the one transaction() every store operation runs in.

SQLite (the default, one file) runs in WAL mode with foreign keys on; a writing transaction
starts with ``BEGIN IMMEDIATE``, so it takes the write lock before reading, and two processes
racing for the same rows are settled by the lock rather than by a late "database is locked".
Waiting for that lock is retried with backoff here, so no caller ever sees it. Threads of one
process that share a Database queue for it in Python, first come first served: SQLite's own
wait for the lock sleeps between tries, so a thread waiting there can miss its turn again and
again while another thread takes the lock back to back, for seconds at a time.

PostgreSQL is reached through psycopg 3; a plain ``postgresql://`` URL is taken as given. A
pooled connection is checked before use by looking at its socket, not by a round trip: a
server that stopped or restarted has said so (or closed the socket) by then.
"""

from __future__ import annotations

import os
import random
import select
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, OperationalError

DEFAULT_URL = "sqlite:///cronwell.db"
_WRITE = "cronwell_write"
_LOCK_WAIT_MS = 5_000  # SQLite's own wait for the write lock, per try
_LOCK_TRIES = 12  # with backoff, about a minute in all before giving up


class DatabaseURLError(ValueError):
    """A database URL cronwell cannot use; ``str()`` names the problem in one line."""


def normalize_url(url: str) -> URL:
    """The SQLAlchemy URL for ``url``: postgresql:// goes through psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseURLError(f"database: {url!r} is not a database URL") from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:") or "mode=memory" in str(parsed):
            raise DatabaseURLError(
                "database: an in-memory SQLite database cannot be shared; name a file, "
                "e.g. sqlite:///cronwell.db"
            )
        return parsed.set(drivername="sqlite+pysqlite")
    raise DatabaseURLError(
        f"database: unsupported backend {backend!r}; use sqlite:///FILE or postgresql://..."
    )


def _forget_pool_in_forked_children(engine: Engine) -> None:
    """A forked child (a web server's worker process) must not use its parent's connections:
    two processes on one socket corrupt each other's conversation. The child drops the pool
    it inherited, without closing what the parent still uses, and connects anew."""
    reference = weakref.ref(engine)

    def after_fork() -> None:
        inherited = reference()
        if inherited is not None:
            inherited.dispose(close=False)

    os.register_at_fork(after_in_child=after_fork)


class Database:
    """An engine for one database URL and the transactions on it."""

    def __init__(self, url: str = DEFAULT_URL, *, pool_size: int = 10) -> None:
        self.url = normalize_url(url)
        self.engine = _create_engine(self.url, pool_size)
        self.dialect = self.engine.dialect.name
        self._writer = WriterQueue() if self.is_sqlite else None
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        _forget_pool_in_forked_children(self.engine)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Connection]:
        """A connection in a transaction, committed when the block ends, rolled back on error.

        A writing transaction on SQLite holds the write lock from its first statement, and
        waits its turn behind the other writing transactions of this Database first.
        """
        with self._writer if write and self._writer is not None else nullcontext():
            connection = self._begin(write)
            try:
                yield connection
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
            finally:
                connection.close()

    @contextmanager
    def statements(self) -> Iterator[Connection]:
        """A connection for writing statements that need not commit together: each is whole
        by itself (a guarded transition, a checked insert) and nothing read by one decides
        another. On PostgreSQL each commits as it ends, in autocommit mode: one round trip
        where BEGIN, the statement and COMMIT are three. On SQLite they share one writing
        ``transaction()``, which there costs more than its statements."""
        if self.is_sqlite:
            with self.transaction() as connection:
                yield connection
            return
        with self._autocommit.connect() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()

    def _begin(self, write: bool) -> Connection:
        for attempt in range(_LOCK_TRIES):
            connection = self.engine.connect().execution_options(**{_WRITE: write})
            try:
                connection.begin()
                return connection
            except OperationalError as error:
                connection.close()
                if not _is_locked(error) or attempt == _LOCK_TRIES - 1:
                    raise
                time.sleep(min(2.0, 0.01 * 2**attempt) * (0.5 + random.random()))
        raise AssertionError("unreachable: the last try re-raises")


class WriterQueue:
    """A lock that threads get in the order they asked for it: the releasing thread hands it
    to the longest waiter, so none can be overtaken however often another comes back.

    Not reentrant: a thread that asks again while it holds it is refused, since on SQLite a
    second writing transaction inside the first could only wait for itself."""

    def __init__(self) -> None:
        self._reset()
        # A forked child has only the thread that forked: nobody there holds it or waits.
        reference = weakref.ref(self)

        def after_fork() -> None:
            queue = reference()
            if queue is not None:
                queue._reset()

        os.register_at_fork(after_in_child=after_fork)

    def _reset(self) -> None:
        self._mutex = threading.Lock()
        self._owner: int | None = None
        self._waiting: deque[tuple[int, threading.Lock]] = deque()

    def __enter__(self) -> None:
        me = threading.get_ident()
        with self._mutex:
            if self._owner is None:
                self._owner = me
                return
            if self._owner == me:
                raise RuntimeError("a writing transaction inside another one on SQLite")
            gate = threading.Lock()
            gate.acquire()
            self._waiting.append((me, gate))
        gate.acquire()  # released by the holder, which made this thread the owner

    def __exit__(self, *_exc: object) -> None:
        with self._mutex:
            if self._waiting:
                self._owner, gate = self._waiting.popleft()
                gate.release()
            else:
                self._owner = None


def _is_locked(error: OperationalError) -> bool:
    return "database is locked" in str(error.orig) or "database is busy" in str(error.orig)


def _create_engine(url: URL, pool_size: int) -> Engine:
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            connect_args={"check_same_thread": False, "timeout": _LOCK_WAIT_MS / 1000},
        )
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size)
    event.listen(engine, "checkout", _check_postgresql)
    return engine


def _check_postgresql(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Refuse a pooled connection that is broken, so the pool opens a new one.

    An idle connection that is not listening has nothing to read unless the server sent
    something unasked: that it is shutting down, or the end of the connection. That look is
    a system call, where a ping would be a round trip on every transaction.
    """
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("the connection is closed")
    readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    if readable:
        raise DisconnectionError("the server sent something to an idle connection")


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from the sqlite3 module so that _begin_sqlite decides how a
    # transaction starts (the documented SQLAlchemy recipe for SQLite).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={_LOCK_WAIT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
    cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    is_write = connection.get_execution_options().get(_WRITE, True)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if is_write else "BEGIN")
