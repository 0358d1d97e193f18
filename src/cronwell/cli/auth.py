"""``cronwell users ...`` and ``cronwell tokens ...``: who may use the API, and their tokens.

A token is printed once, when it is made; the store keeps only its hash, so no command can
show it again.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import click

from cronwell.auth import AuthError, Role
from cronwell.cli.errors import InputError, refusals
from cronwell.cli.instants import instant
from cronwell.cli.options import database_option, json_option, json_value, open_app, print_rows
from cronwell.schedules import ScheduleError
from cronwell.schedules.syntax import parse_duration

USER_COLUMNS = ("id", "name", "role", "has_password", "is_disabled", "created_at", "disabled_at")
TOKEN_COLUMNS = (
    "id",
    "name",
    "user",
    "role",
    "created_at",
    "expires_at",
    "revoked_at",
    "last_used_at",
)
ROLES = [role.value for role in Role]
# The option or argument each field of an AuthError is typed as, per command.
_USER_FIELDS = {"name": "NAME", "role": "--role", "user": "NAME"}
_TOKEN_FIELDS = {"role": "--role", "user": "--user", "expires_at": "--expires", "id": "ID"}


@click.group()
def users() -> None:
    """Users of the API and their roles (admin, operator, viewer)."""


@users.command("add")
@click.argument("name", metavar="NAME")
@click.option("--role", required=True, metavar="|".join(ROLES), help="What the user may do.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the user's password from stdin (one line)."
)
@database_option
def users_add(name: str, role: str, password_stdin: bool, database: str | None) -> None:
    """Add the user NAME with a role; without a password it signs in by token only."""
    password = _password() if password_stdin else None
    with refusals(_USER_FIELDS, AuthError):
        added = open_app(database).add_user(name, role, password=password)
    click.echo(f"user {added.name}: added as {added.role}")


def _password() -> str:
    """The first line of stdin, without its line end; an empty one is refused."""
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise InputError("--password-stdin: no password on stdin")
    return password


@users.command("list")
@database_option
@json_option
def users_list(database: str | None, as_json: bool) -> None:
    """Every user with its role, disabled ones too; never a password or its hash."""
    found = open_app(database).list_users()
    print_rows([asdict(user) for user in found], USER_COLUMNS, as_json)


@users.command("disable")
@click.argument("name", metavar="NAME")
@database_option
def users_disable(name: str, database: str | None) -> None:
    """Disable the user NAME: its tokens stop working at once."""
    with refusals(_USER_FIELDS, AuthError):
        is_disabled = open_app(database).disable_user(name)
    click.echo(f"user {name}: " + ("disabled" if is_disabled else "was disabled already"))


@click.group()
def tokens() -> None:
    """API tokens: made once and shown once, stored only as a hash; expiry and revocation."""


@tokens.command("create")
@click.option("--role", required=True, metavar="|".join(ROLES), help="What the token may do.")
@click.option("--user", metavar="NAME", help="The user it acts for (never above its role).")
@click.option("--name", metavar="LABEL", help="What it is for, to know it by in a list.")
@click.option(
    "--expires",
    metavar="SPAN|INSTANT",
    help="When it stops working: a span from now (30d, 12h) or an ISO 8601 instant (UTC "
    "without an offset) [default: never].",
)
@database_option
@json_option
def tokens_create(
    *,
    role: str,
    user: str | None,
    name: str | None,
    expires: str | None,
    database: str | None,
    as_json: bool,
) -> None:
    """Make an API token and print it: this is the only time it is shown."""
    expires_at, expires_in = _expiry(expires)
    with refusals(_TOKEN_FIELDS, AuthError):
        made = open_app(database).create_token(
            role, user=user, name=name, expires_at=expires_at, expires_in=expires_in
        )
    row = made.row
    if as_json:
        shown = {"token": made.token, "id": row.id, "role": row.role, "name": row.name}
        shown |= {"user": row.user, "expires_at": row.expires_at}
        click.echo(json.dumps(shown, default=json_value))
        return
    expiry = "never expires" if row.expires_at is None else f"expires {row.expires_at.isoformat()}"
    click.echo(f"token {row.id} ({row.role}, {expiry}); shown this once, store it now:")
    click.echo(made.token)


def _expiry(text: str | None) -> tuple[datetime | None, timedelta | None]:
    """--expires as an instant (UTC without an offset) or as a span from now, which the
    app's clock reads."""
    if text is None:
        return None, None
    try:
        moment = instant(text, "--expires")
    except InputError as not_an_instant:
        try:
            return None, parse_duration(text.strip(), "--expires")
        except ScheduleError as error:
            if "is not a duration" not in error.problem:
                raise InputError(str(error)) from None
            raise InputError(
                f"--expires: {text!r} is neither a span like 30d or 12h "
                "nor an ISO 8601 date and time"
            ) from not_an_instant
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), None


@tokens.command("list")
@database_option
@json_option
def tokens_list(database: str | None, as_json: bool) -> None:
    """Every token with its user, role and dates, revoked and expired ones too; never the
    token itself, which is not kept."""
    found = open_app(database).list_tokens()
    print_rows([asdict(token) for token in found], TOKEN_COLUMNS, as_json)


@tokens.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
@database_option
def tokens_revoke(token_id: int, database: str | None) -> None:
    """Revoke the token ID: it stops working at once."""
    with refusals(_TOKEN_FIELDS, AuthError):
        is_revoked = open_app(database).revoke_token(token_id)
    click.echo(f"token {token_id}: " + ("revoked" if is_revoked else "was revoked already"))
