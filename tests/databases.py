"""Real databases for the tests: a migrated SQLite file and a PostgreSQL database per test.

PostgreSQL comes from CRONWELL_TEST_POSTGRES_URL (scripts/test starts a server and sets it).
Without it the PostgreSQL tests fail, never skip: a missing server is a broken run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cronwell.store.database import Database
from cronwell.store.migrate import upgrade

DIALECTS = ("sqlite", "postgresql")
POSTGRES_ENV = "CRONWELL_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.fail(f"{POSTGRES_ENV} is not set: run scripts/test, which starts PostgreSQL")
    return url


@pytest.fixture(scope="session")
def postgres_template(postgres_url: str) -> Iterator[str]:
    """A migrated database that every PostgreSQL test copies (CREATE DATABASE ... TEMPLATE)."""
    name = f"cronwell_template_{uuid.uuid4().hex[:8]}"
    _admin(postgres_url, f'CREATE DATABASE "{name}"')
    database = Database(_with_database(postgres_url, name))
    upgrade(database)
    database.dispose()
    yield name
    _admin(postgres_url, f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "cronwell.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    database.dispose()
    return path


@pytest.fixture(params=DIALECTS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, migrated database of each dialect."""
    if request.param == "sqlite":
        path = tmp_path / "cronwell.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server = request.getfixturevalue("postgres_url")
    template = request.getfixturevalue("postgres_template")
    name = f"cronwell_test_{uuid.uuid4().hex[:12]}"
    _admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield _with_database(server, name)
    _admin(server, f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A Database on a fresh store; no connection may be left checked out after the test."""
    database = Database(database_url)
    yield database
    checked_out = database.engine.pool.checkedout()  # type: ignore[attr-defined]
    database.dispose()
    assert checked_out == 0, f"{checked_out} connection(s) left checked out"


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _admin(url: str, statement: str) -> None:
    engine = create_engine(
        make_url(url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()
