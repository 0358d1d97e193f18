"""``cronwell locks ...``: the leases held right now: runs' and the scheduler leader's."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from cronwell.cli.options import database_option, json_option, json_value, open_app, print_rows

RUN_LEASE_COLUMNS = ("run_id", "job", "owner", "attempt", "expires_at")
LEASE_COLUMNS = ("name", "holder", "owner", "acquired_at", "expires_at", "takeovers")


@click.group()
def locks() -> None:
    """Leases: which worker holds which run, and which scheduler leads."""


@locks.command("list")
@database_option
@json_option
def locks_list(database: str | None, as_json: bool) -> None:
    """Every lease held: the scheduler's leader lease, then the runs'."""
    leases, runs = open_app(database).list_leases()
    named = [asdict(lease) for lease in leases]
    held = [asdict(lease) for lease in runs]
    if as_json:
        click.echo(json.dumps({"leases": named, "runs": held}, default=json_value))
        return
    print_rows(named, LEASE_COLUMNS, as_json=False)
    print_rows(held, RUN_LEASE_COLUMNS, as_json=False)


@locks.command("stale")
@database_option
@json_option
def locks_stale(database: str | None, as_json: bool) -> None:
    """Run leases that expired: their workers died or stalled; the reaper takes them back."""
    app = open_app(database)
    now = app.clock.now()
    _, held = app.list_leases()
    stale = [asdict(lease) for lease in held if lease.expires_at < now]
    print_rows(stale, RUN_LEASE_COLUMNS, as_json)


@locks.command("stats")
@database_option
@json_option
def locks_stats(database: str | None, as_json: bool) -> None:
    """Counts: run leases held and expired, by owner; leader takeovers (contention)."""
    app = open_app(database)
    now = app.clock.now()
    named, held = app.list_leases()
    figures = {
        "run_leases": len(held),
        "expired": sum(lease.expires_at < now for lease in held),
        "owners": len({lease.owner for lease in held}),
        "leader": app.leader_of(named),
        "leader_takeovers": sum(lease.takeovers for lease in named),
    }
    print_rows([figures], tuple(figures), as_json)
