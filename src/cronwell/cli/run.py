"""``cronwell run``: scheduler, worker and reaper in one process; ``cronwell db upgrade``."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from cronwell.app import Cronwell
from cronwell.cli.options import database_option, open_app, reason_of
from cronwell.cli.serve import start_web, web_options
from cronwell.engine.loops import Backoff, survive
from cronwell.engine.worker import GRACE, LEASE
from cronwell.examples import EXAMPLES
from cronwell.store.history import RunRow, list_runs
from cronwell.store.migrate import upgrade
from cronwell.web.server import WebServer

REPORT_EVERY = 1.0  # seconds between looks at finished runs


queues_option = click.option(
    "--queues", default="default", show_default=True, help="Comma-separated queues."
)
concurrency_option = click.option(
    "--concurrency", default=4, show_default=True, help="Runs at once."
)
for_option = click.option("--for", "seconds", type=float, help="Stop after this many seconds.")
lease_option = click.option(
    "--lease",
    type=click.FloatRange(min=1),
    default=LEASE.total_seconds(),
    show_default=True,
    help="Seconds a silent worker keeps its runs (the leader lease is half of it).",
)
grace_option = click.option(
    "--grace",
    type=click.FloatRange(min=0),
    default=GRACE.total_seconds(),
    show_default=True,
    help="Seconds runs in flight may take to finish on stop before they are handed back.",
)


@click.command()
@database_option
@queues_option
@concurrency_option
@for_option
@lease_option
@grace_option
@click.option("--no-examples", is_flag=True, help="Do not add example jobs to an empty store.")
@click.option("--no-web", is_flag=True, help="Do not serve the REST API.")
@web_options
def run(
    *,
    database: str | None,
    seconds: float | None,
    no_examples: bool,
    no_web: bool,
    host: str,
    port: int,
    no_auth: bool,
    task_modules: tuple[str, ...],
    **options: Any,
) -> None:
    """Run everything in one process: the scheduler, a worker, the reaper and the API."""
    app = open_app(database, **_settings(**options))
    web = None
    if not no_web:
        web = start_web(app, host=host, port=port, is_auth_on=not no_auth, tasks=task_modules)
    if not no_examples and not app.list_schedules():
        _add_examples(app)
    _serve(app, seconds, "cronwell", web=web)


@click.command()
@database_option
@for_option
@lease_option
def scheduler(database: str | None, seconds: float | None, lease: float) -> None:
    """Run a scheduler (and the reaper); of many, the one holding the leader lease fires."""
    app = open_app(database, **_settings(lease=lease))
    _serve(app, seconds, "the scheduler", worker=False)


@click.command()
@database_option
@queues_option
@concurrency_option
@for_option
@lease_option
@grace_option
def worker(database: str | None, seconds: float | None, **options: Any) -> None:
    """Run a worker: claim runs from the queues and execute them."""
    _serve(open_app(database, **_settings(**options)), seconds, "the worker", scheduler=False)


def _settings(
    *,
    lease: float,
    queues: str = "default",
    concurrency: int = 4,
    grace: float = GRACE.total_seconds(),
) -> dict[str, Any]:
    """The app's settings from the command line's options."""
    return {
        "queues": tuple(queues.split(",")),
        "concurrency": concurrency,
        "lease": timedelta(seconds=lease),
        "grace": timedelta(seconds=grace),
    }


def _serve(
    app: Cronwell, seconds: float | None, what: str, web: WebServer | None = None, **parts: bool
) -> None:
    """Start the parts, report runs as they end, stop gracefully on a signal or the deadline;
    the API (``web``) stops first, so no call reaches a store being closed."""
    stop = _stop_on_signals(app)
    app.start(**parts)
    click.echo(f"{what} is running on {app.database.url.render_as_string()}: Ctrl-C stops it.")
    try:
        _report(app, stop, seconds)
    finally:
        if web is not None:
            web.stop()
        if parts.get("worker", True):
            grace = app.grace.total_seconds()
            click.echo(
                f"stopping: runs in flight have {grace:g} s to finish (Ctrl-C again: now)..."
            )
        else:
            click.echo("stopping...")
        app.shutdown()
    click.echo("stopped.")


def _add_examples(app: Cronwell) -> None:
    names = ", ".join(example["name"] for example in EXAMPLES)
    click.echo(f"No jobs defined yet: adding {len(EXAMPLES)} example jobs ({names}).")
    for example in EXAMPLES:
        app.schedule(**example)


def _stop_on_signals(app: Cronwell) -> threading.Event:
    """The first SIGINT or SIGTERM stops gracefully; a second hands back what is running."""
    stop = threading.Event()

    def on_signal(*_: object) -> None:
        if not stop.is_set():
            stop.set()
            return
        handed = app.interrupt()
        click.echo(f"stopping now: {len(handed)} run(s) in flight handed back.")

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    return stop


def _report(app: Cronwell, stop: threading.Event, seconds: float | None) -> None:
    """Print each run as it ends, until ``stop`` is set or ``seconds`` have passed."""
    tail = _Tail(datetime.now(UTC))
    ends = None if seconds is None else tail.since + timedelta(seconds=seconds)
    backoff = Backoff()
    pause = timedelta(seconds=REPORT_EVERY)

    def look() -> timedelta:
        with app.database.transaction(write=False) as connection:
            ended = tail.new(list_runs(connection, finished_after=tail.look_from, limit=1000))
        for row in ended:
            click.echo(_line(row))
        return timedelta(seconds=REPORT_EVERY)

    while not stop.wait(pause.total_seconds()):
        pause = survive(look, backoff, "the run report")
        if ends is not None and datetime.now(UTC) >= ends:
            return


class _Tail:
    """Which ended runs are new since the last look. A run's end time is read before its
    commit, so a run may become visible after a later-ending one: looking back a margin, and
    remembering what was printed within it, shows each run once and misses none."""

    LOOKBACK = timedelta(seconds=30)

    def __init__(self, since: datetime) -> None:
        self.since = since
        self.look_from = since
        self._shown: dict[int, datetime] = {}

    def new(self, ended: list[RunRow]) -> list[RunRow]:
        fresh = [row for row in ended if row.id not in self._shown]
        for row in fresh:
            self._shown[row.id] = row.finished_at or self.since
        latest = max(self._shown.values(), default=self.since)
        self.look_from = max(self.since, latest - self.LOOKBACK)
        self._shown = {id_: at for id_, at in self._shown.items() if at > self.look_from}
        return fresh


def _line(row: RunRow) -> str:
    why = reason_of(row)
    reason = f" ({why})" if why else ""
    due = f"{row.scheduled_for:%H:%M:%S}"
    return f"{due} {row.job:<14} {row.status:<10} attempts={row.attempts}{reason}"


@click.group()
def db() -> None:
    """The database's schema."""


@db.command("upgrade")
@database_option
def db_upgrade(database: str | None) -> None:
    """Bring the schema up to date (cronwell also does this on start)."""
    app = open_app(database, migrate=False)
    upgrade(app.database)
    click.echo("the schema is up to date.")
