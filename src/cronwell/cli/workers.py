"""``cronwell workers``: the worker processes that registered, and whether they still beat."""

from __future__ import annotations

from dataclasses import asdict

import click

from cronwell.cli.options import database_option, json_option, open_app, print_rows

WORKER_COLUMNS = ("id", "hostname", "pid", "queues", "concurrency", "heartbeat_at", "alive")


@click.command()
@database_option
@json_option
@click.option("--all", "everyone", is_flag=True, help="Stopped and silent workers too.")
def workers(database: str | None, as_json: bool, everyone: bool) -> None:
    """Workers that beat within a lease; ``alive`` is false for one that stopped or fell
    silent (its runs are taken back when their leases run out)."""
    found = open_app(database).list_workers(include_stopped=everyone)
    rows = [asdict(row) | {"alive": is_alive} for row, is_alive in found]
    if not everyone:
        rows = [row for row in rows if row["alive"]]
    for row in rows:
        row["lease"] = row["lease"].total_seconds()
        if not as_json:
            row["queues"] = ",".join(row["queues"])
    print_rows(rows, WORKER_COLUMNS, as_json)
