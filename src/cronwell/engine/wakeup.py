"""Wake-ups: one background thread that turns store signals into ``threading.Event``\\ s.

A loop subscribes the event it sleeps on to a channel (``signals.RUNS`` for workers,
``signals.JOBS`` for the scheduler) and keeps sleeping with its fallback timeout; a wake-up
only cuts the sleep short. Sources:

- PostgreSQL: LISTEN on a dedicated connection; ``notify()`` in a committed transaction,
  from any process on any machine, sets the channel's events.
- SQLite: a watch of ``PRAGMA data_version`` on a dedicated connection, polled every
  millisecond; any change committed by any other connection, in this process or another,
  sets every subscribed event. This is the cross-process wake-up on SQLite.
- In one process: ``local(channel)``, for code that already knows it made work.

Every wake-up is a hint. A spurious one costs a loop one extra pass; a missed one (the
connection dropped, the thread not yet listening) costs at most the loop's fallback timeout.
After a reconnect every event is set, since signals sent while it was down are lost.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterable, Sequence
from types import TracebackType

from cronwell.store.database import Database
from cronwell.store.signals import CHANNELS, POLL, Listener, listen

log = logging.getLogger(__name__)

WAIT = 0.2  # seconds per wait for a signal: how soon the thread notices stop()
CHECK_AFTER = 5.0  # seconds without a signal before the connection is checked
BACKOFF_FIRST = 0.05  # seconds before the first reconnect; doubles up to BACKOFF_MAX
BACKOFF_MAX = 5.0


class Wakeup:
    """Sets subscribed events when their channel is signalled. ``start`` it once, ``stop`` it
    once (or use it as a context manager); ``subscribe`` and ``local`` work at any time."""

    def __init__(
        self, database: Database, *, channels: Sequence[str] = CHANNELS, poll: float = POLL
    ) -> None:
        self.database = database
        self.channels = tuple(channels)
        self._poll = poll
        self._events: dict[str, list[threading.Event]] = {name: [] for name in self.channels}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cronwell-wakeup", daemon=True)

    def subscribe(self, channel: str, event: threading.Event | None = None) -> threading.Event:
        """Register ``event`` (a new one when omitted) to be set when ``channel`` is signalled,
        and return it. The subscriber clears it before it looks for work, never after."""
        if event is None:
            event = threading.Event()
        with self._lock:
            self._subscribers(channel).append(event)
        return event

    def local(self, channel: str) -> None:
        """Wake this process's subscribers of ``channel`` now, without the database."""
        self._set([channel])

    @property
    def is_listening(self) -> bool:
        """Whether the thread holds a live connection, so that commits from now on wake."""
        return self._listening.is_set()

    def start(self, timeout: float = 5.0) -> Wakeup:
        """Start the thread and wait up to ``timeout`` seconds until it listens. If the
        database is unreachable it keeps retrying in the background; loops still poll."""
        self._thread.start()
        if not self._listening.wait(timeout):
            log.warning("wake-ups not listening yet", extra={"event": "wakeup.not_listening"})
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread; it notices within ``WAIT`` seconds (or a connect timeout)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def __enter__(self) -> Wakeup:
        return self.start()

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                listener = listen(self.database, self.channels, poll=self._poll)
            except Exception:
                failures += 1
                self._back_off(failures, "wakeup.connect_failed")
                continue
            if failures:
                self._set(self.channels)  # signals sent while we were away are lost
            failures = 0
            try:
                self._serve(listener)
            except Exception:
                failures = 1
                self._back_off(failures, "wakeup.connection_lost")
            finally:
                self._listening.clear()
                _close(listener)

    def _serve(self, listener: Listener) -> None:
        self._listening.set()
        quiet_since = time.monotonic()
        while not self._stop.is_set():
            channels = listener.wait(WAIT)
            if channels:
                self._set(channels)
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= CHECK_AFTER:
                listener.check()
                quiet_since = time.monotonic()

    def _back_off(self, failures: int, event: str) -> None:
        delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (failures - 1)) * (0.5 + random.random())
        log.warning(
            "wake-ups: no connection, retrying in %.2f s",
            delay,
            exc_info=True,
            extra={"event": event, "failures": failures},
        )
        self._stop.wait(delay)

    def _set(self, channels: Iterable[str]) -> None:
        with self._lock:
            events = [event for channel in channels for event in self._subscribers(channel)]
        for event in events:
            event.set()

    def _subscribers(self, channel: str) -> list[threading.Event]:
        try:
            return self._events[channel]
        except KeyError:
            raise ValueError(
                f"wake-up channel {channel!r}: not one of {', '.join(self.channels)}"
            ) from None


def _close(listener: Listener) -> None:
    try:
        listener.close()
    except Exception:  # closing a broken connection may fail; it is gone either way
        log.debug("closing a listener failed", exc_info=True, extra={"event": "wakeup.close"})
