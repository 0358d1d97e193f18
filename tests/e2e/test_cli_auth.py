"""``cronwell users`` and ``cronwell tokens`` in real processes over a real store: a token
printed once works, and only its hash is kept; bad input exits 2 with one line."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cronwell.app import Cronwell
from cronwell.auth import Role, verify_password
from cronwell.engine.clock import ManualClock
from cronwell.store.database import Database
from cronwell.store.tables import api_tokens, users
from tests.e2e.test_cli_jobs import CRONWELL, cronwell, out


def json_out(cwd: Path, url: str, *args: str) -> Any:
    return json.loads(out(cwd, *args, "--json", "--database", url))


def who(url: str, token: str, now: datetime | None = None) -> tuple[str | None, Role] | None:
    """Whom the store says ``token`` speaks for."""
    app = Cronwell(url, clock=ManualClock(now or datetime.now(UTC)), migrate=False)
    try:
        principal = app.authenticate(token)
    finally:
        app.database.dispose()
    return None if principal is None else (principal.user, principal.role)


def stored(url: str) -> str:
    """Every value in the users and tokens tables, as one text to search."""
    database = Database(url)
    try:
        with database.transaction(write=False) as connection:
            rows = [*connection.execute(select(users)), *connection.execute(select(api_tokens))]
    finally:
        database.dispose()
    return repr([list(row) for row in rows])


def test_users_and_tokens_from_the_command_line(tmp_path: Path, database_url: str) -> None:
    url = database_url
    env = {key: value for key, value in os.environ.items() if key != "CRONWELL_DATABASE_URL"}
    added = subprocess.run(
        [*CRONWELL, "users", "add", "ada", "--role", "admin", "--password-stdin"],
        cwd=tmp_path,
        input="open sesame\n",
        capture_output=True,
        text=True,
        env={**env, "CRONWELL_DATABASE_URL": url},
        check=False,
    )
    assert (added.returncode, added.stdout) == (0, "user ada: added as admin\n"), added.stderr
    assert out(tmp_path, "users", "add", "val", "--role", "viewer", "--database", url)
    listed = json_out(tmp_path, url, "users", "list")
    assert [(user["name"], user["role"], user["has_password"]) for user in listed] == [
        ("ada", "admin", True),
        ("val", "viewer", False),
    ]
    password_hash = stored(url).split("'scrypt$")[1].split("'")[0]
    assert verify_password("open sesame", "scrypt$" + password_hash)

    made = json_out(
        tmp_path, url, "tokens", "create", "--role", "operator", "--user", "ada", "--name", "ci"
    )
    assert set(made) == {"token", "id", "role", "name", "user", "expires_at"}
    assert (made["role"], made["name"], made["user"], made["expires_at"]) == (
        "operator",
        "ci",
        "ada",
        None,
    )
    assert who(url, made["token"]) == ("ada", Role.OPERATOR)
    assert made["token"] not in stored(url)

    text = out(
        tmp_path, "tokens", "create", "--role", "viewer", "--expires", "30d", "--database", url
    )
    said, token = text.splitlines()
    assert said.startswith("token 2 (viewer, expires ") and "shown this once" in said
    assert who(url, token) == (None, Role.VIEWER)
    assert who(url, token, datetime.now(UTC) + timedelta(days=31)) is None

    listed = json_out(tmp_path, url, "tokens", "list")
    assert [(row["id"], row["user"], row["role"]) for row in listed] == [
        (1, "ada", "operator"),
        (2, None, "viewer"),
    ]
    assert listed[0]["last_used_at"] is not None and listed[1]["expires_at"] is not None
    assert made["token"] not in json.dumps(listed) and token not in json.dumps(listed)

    assert out(tmp_path, "tokens", "revoke", "2", "--database", url) == "token 2: revoked"
    assert who(url, token) is None
    assert json_out(tmp_path, url, "tokens", "list")[1]["revoked_at"] is not None
    assert out(tmp_path, "users", "disable", "ada", "--database", url) == "user ada: disabled"
    assert who(url, made["token"]) is None
    assert [user["is_disabled"] for user in json_out(tmp_path, url, "users", "list")] == [
        True,
        False,
    ]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One SQLite store with the user ada (admin), the user val (viewer, disabled) and the
    token 1, shared by the refusals, which change nothing."""
    cwd = tmp_path_factory.mktemp("auth")
    url = f"sqlite:///{cwd / 'cronwell.db'}"
    out(cwd, "users", "add", "ada", "--role", "admin", "--database", url)
    out(cwd, "users", "add", "vic", "--role", "viewer", "--database", url)
    out(cwd, "users", "add", "val", "--role", "viewer", "--database", url)
    out(cwd, "users", "disable", "val", "--database", url)
    out(cwd, "tokens", "create", "--role", "viewer", "--database", url)
    return cwd, url


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["users", "add", "ada", "--role", "viewer"], "NAME: user 'ada' already exists"),
        (
            ["users", "add", "bob", "--role", "root"],
            "--role: unknown role 'root' (one of viewer, operator, admin)",
        ),
        (["users", "add", " ", "--role", "viewer"], "NAME: must not be empty"),
        (["users", "disable", "nobody"], "NAME: user 'nobody' does not exist"),
        (
            ["tokens", "create", "--role", "superuser"],
            "--role: unknown role 'superuser' (one of viewer, operator, admin)",
        ),
        (
            ["tokens", "create", "--role", "viewer", "--user", "nobody"],
            "--user: user 'nobody' does not exist",
        ),
        (
            ["tokens", "create", "--role", "viewer", "--user", "val"],
            "--user: user 'val' is disabled",
        ),
        (
            ["tokens", "create", "--role", "operator", "--user", "vic"],
            "--role: operator is above the role of user 'vic' (viewer)",
        ),
        (
            ["tokens", "create", "--role", "viewer", "--expires", "soon"],
            "--expires: 'soon' is neither a span like 30d or 12h nor an ISO 8601 date and time",
        ),
        (
            ["tokens", "create", "--role", "viewer", "--expires", "0d"],
            "--expires: '0d' must be longer than zero",
        ),
        (
            ["tokens", "create", "--role", "viewer", "--expires", "2020-01-01"],
            "--expires: 2020-01-01T00:00:00+00:00 is not after now",
        ),
        (["tokens", "revoke", "99"], "ID: token 99 does not exist"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_changes_nothing(
    project: tuple[Path, str], args: list[str], said: str
) -> None:
    cwd, url = project
    before = stored(url)
    done = cronwell(cwd, *args, "--database", url)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"cronwell: {said}\n")
    assert stored(url) == before


def test_an_empty_password_on_stdin_is_refused(project: tuple[Path, str]) -> None:
    cwd, url = project
    done = subprocess.run(
        [
            *CRONWELL,
            "users",
            "add",
            "eve",
            "--role",
            "viewer",
            "--password-stdin",
            "--database",
            url,
        ],
        cwd=cwd,
        input="\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (
        2,
        "cronwell: --password-stdin: no password on stdin\n",
    )
    assert "eve" not in stored(url)
