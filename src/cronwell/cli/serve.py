"""``cronwell serve``: the REST API alone, and the web options ``cronwell run`` shares.

The API is on by default with auth on: a store without an admin gets one, whose token is
printed once (or taken from ``CRONWELL_ADMIN_TOKEN``), so the first person at the terminal is
the only one who can get in. ``--no-auth`` is for a laptop: it is refused on any address but
127.0.0.1, where anyone who can reach the port is already on the machine.
"""

from __future__ import annotations

import errno
import importlib
import os
import signal
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar

import click

from cronwell.app import Cronwell
from cronwell.auth import AuthError
from cronwell.cli.errors import InputError, refusals
from cronwell.cli.options import database_option, open_app
from cronwell.web.server import DEFAULT_PORT, LOOPBACK, ExposedWithoutAuth, WebServer

F = TypeVar("F", bound=Callable[..., Any])

ENV_ADMIN_TOKEN = "CRONWELL_ADMIN_TOKEN"


def web_options(function: F) -> F:
    """--host, --port, --no-auth and --tasks: where the API listens, and who may call it."""
    options = (
        click.option(
            "--host",
            metavar="ADDRESS",
            default=LOOPBACK,
            show_default=True,
            envvar="CRONWELL_API_HOST",
            help="The address the API listens on. [$CRONWELL_API_HOST]",
        ),
        click.option(
            "--port",
            metavar="PORT",
            type=click.IntRange(0, 65535),
            default=DEFAULT_PORT,
            show_default=True,
            envvar="CRONWELL_API_PORT",
            help="The API's port; 0 picks a free one. [$CRONWELL_API_PORT]",
        ),
        click.option(
            "--no-auth",
            is_flag=True,
            help=f"Every caller is an admin, without a token: only on {LOOPBACK}.",
        ),
        click.option(
            "--tasks",
            "task_modules",
            metavar="MODULE",
            multiple=True,
            help="Register the tasks of the Cronwell apps MODULE defines (repeatable).",
        ),
    )
    for option in reversed(options):
        function = option(function)
    return function


@click.command()
@database_option
@web_options
def serve(
    database: str | None, host: str, port: int, no_auth: bool, task_modules: tuple[str, ...]
) -> None:
    """Serve the REST API alone (no scheduler, no worker) until Ctrl-C."""
    app = open_app(database)
    web = start_web(app, host=host, port=port, is_auth_on=not no_auth, tasks=task_modules)
    stop = threading.Event()
    stop_on_signals(stop)
    click.echo(f"the API is running on {app.database.url.render_as_string()}: Ctrl-C stops it.")
    stop.wait()
    click.echo("stopping...")
    web.stop()
    app.database.dispose()
    click.echo("stopped.")


def start_web(
    app: Cronwell, *, host: str, port: int, is_auth_on: bool, tasks: tuple[str, ...] = ()
) -> WebServer:
    """Register ``tasks``' tasks, bind the API's socket (so a taken port fails here, at once),
    make sure an admin can get in, and serve; prints the API's address and any new token."""
    for module in tasks:
        register_tasks(app, module)
    web = bind(app, host=host, port=port, is_auth_on=is_auth_on)
    if is_auth_on:
        admin_token(app)
    web.start()
    click.echo(f"API on {web.url}/api/docs")
    return web


def bind(app: Cronwell, *, host: str, port: int, is_auth_on: bool) -> WebServer:
    try:
        return WebServer(app, host=host, port=port, is_auth_on=is_auth_on)
    except ExposedWithoutAuth as error:
        raise InputError(f"--{error}") from None
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise InputError(f"--port: {port} on {host} is taken; pick another") from None
        raise InputError(f"--host: cannot listen on {host}:{port}: {error.strerror}") from None


def admin_token(app: Cronwell) -> None:
    """Print a new admin's token, once; with ``CRONWELL_ADMIN_TOKEN`` set, nothing secret."""
    given = os.environ.get(ENV_ADMIN_TOKEN) or None
    with refusals({"token": ENV_ADMIN_TOKEN}, AuthError):
        token = app.ensure_admin(given)
    if token is not None:
        click.echo(f"admin token (shown once): {token}")


def register_tasks(app: Cronwell, module_name: str) -> None:
    """Import ``module_name`` and register into ``app`` the tasks of every Cronwell app at its
    top level, so the API lets operators name them."""
    module = _import(module_name)
    apps = [value for value in vars(module).values() if isinstance(value, Cronwell)]
    if not apps:
        raise InputError(f"--tasks: {module_name} defines no Cronwell app at its top level")
    for other in apps:
        for task in other.registry.tasks():
            try:
                app.registry.add(task.function, task.name)
            except ValueError as error:
                raise InputError(f"--tasks: {error}") from None


def _import(module_name: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except Exception as error:  # the module's own code may fail in any way
        problem = f"{type(error).__name__}: {error}"
        raise InputError(f"--tasks: cannot import {module_name}: {problem}") from None


def stop_on_signals(stop: threading.Event) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
