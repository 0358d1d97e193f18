"""``cronwell audit``: read the audit trail, newest first, by who, what, which object, when."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import click

from cronwell.audit import AuditAction
from cronwell.cli.errors import InputError
from cronwell.cli.instants import instant
from cronwell.cli.options import database_option, json_option, open_app, print_rows

AUDIT_COLUMNS = ("id", "at", "actor", "via", "action", "object")
OBJECT_TYPES = ("job", "run", "event", "template", "user", "token", "scheduler")


@click.command("audit")
@click.option("--actor", help="Only changes by this user.")
@click.option("--action", help="Only this action, such as job.update or login.failed.")
@click.option("--object", "target", metavar="TYPE[:ID]", help="Only changes to this object.")
@click.option("--since", metavar="TIME", help="Only changes at or after TIME (ISO 8601, UTC).")
@click.option("--until", metavar="TIME", help="Only changes before TIME (ISO 8601, UTC).")
@click.option(
    "--limit", default=100, show_default=True, type=click.IntRange(min=1), help="How many."
)
@database_option
@json_option
def audit(
    *,
    actor: str | None,
    action: str | None,
    target: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    database: str | None,
    as_json: bool,
) -> None:
    """Who changed what and when, the newest first (--json adds before, after and detail,
    with secrets masked)."""
    object_type, object_id = _object(target)
    filters: dict[str, Any] = {
        "actor": actor,
        "action": _action(action),
        "object_type": object_type,
        "object_id": object_id,
        "since": _instant(since, "--since"),
        "until": _instant(until, "--until"),
        "limit": limit,
    }
    app = open_app(database)
    try:
        found = app.list_audit(**filters)
    finally:
        app.database.dispose()
    rows = [asdict(record) for record in found]
    if not as_json:
        rows = [row | {"object": f"{row['object_type']}:{row['object_id']}"} for row in rows]
    print_rows(rows, AUDIT_COLUMNS, as_json)


def _action(text: str | None) -> AuditAction | None:
    if text is None:
        return None
    try:
        return AuditAction(text)
    except ValueError:
        known = ", ".join(action.value for action in AuditAction)
        raise InputError(f"--action: unknown action {text!r} (one of {known})") from None


def _object(text: str | None) -> tuple[str | None, str | None]:
    """``TYPE`` or ``TYPE:ID`` of --object."""
    if text is None:
        return None, None
    object_type, has_id, object_id = text.partition(":")
    if object_type not in OBJECT_TYPES:
        known = ", ".join(OBJECT_TYPES)
        raise InputError(f"--object: unknown type {object_type!r} (one of {known})")
    if has_id and not object_id:
        raise InputError(f"--object: {text!r} names no object after the colon")
    return object_type, object_id or None


def _instant(text: str | None, option: str) -> datetime | None:
    """An instant of --since or --until; without an offset, in UTC (the trail's time)."""
    if text is None:
        return None
    moment = instant(text, option)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
