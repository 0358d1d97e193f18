"""Real databases for the tests: a migrated SQLite file and a PostgreSQL database per test.

PostgreSQL comes from CRONWELL_TEST_POSTGRES_URL (scripts/test starts a server and sets it).
Without it the PostgreSQL tests fail, never skip: a missing server is a broken run.

Copying a database costs a fraction of a second of the server's time, times every PostgreSQL
test; so each test process keeps one copy and empties it between tests (TRUNCATE), which is the
same fresh, migrated store. A test that changed more than rows, or left a lock that stops the
emptying, gets its copy dropped: the next test gets a new one.
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
from sqlalchemy.exc import DBAPIError

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
    copies: _Copies = request.getfixturevalue("postgres_copies")
    url = copies.take()
    yield url
    copies.give_back(url)


@pytest.fixture(scope="session")
def postgres_copies(postgres_url: str, postgres_template: str) -> Iterator[_Copies]:
    """This test process's copy of the template, emptied between tests."""
    copies = _Copies(postgres_url, postgres_template)
    yield copies
    copies.close()


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


_TABLES = text(
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname"
)
# What a test could change besides rows: relations, their columns and defaults, constraints,
# functions, triggers, and the migration the store is at.
_SHAPE = text(
    "SELECT concat_ws(' | ',"
    " (SELECT string_agg(concat_ws(':', c.relname, c.relkind, a.attname,"
    "   format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)),"
    "   ',' ORDER BY c.relname, a.attnum)"
    "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    "  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
    "  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum"
    "  WHERE n.nspname = 'public'),"
    " (SELECT string_agg(concat_ws(':', conname, pg_get_constraintdef(oid)), ','"
    "   ORDER BY conname) FROM pg_constraint WHERE connamespace = 'public'::regnamespace),"
    " (SELECT string_agg(proname::text, ',' ORDER BY proname)"
    "  FROM pg_proc WHERE pronamespace = 'public'::regnamespace),"
    " (SELECT string_agg(tgname::text, ',' ORDER BY tgname) FROM pg_trigger"
    "  WHERE NOT tgisinternal),"
    " (SELECT string_agg(version_num, ',') FROM alembic_version))"
)


class _Copies:
    """One copy of the template at a time, handed to one test at a time (a test process runs
    its tests one by one). Emptying it by TRUNCATE ... RESTART IDENTITY gives the next test
    what a new copy would: the same shape, no rows, ids from 1. The template's shape is taken
    once; a copy whose shape differs after a test, or that cannot be emptied at once, is
    dropped rather than repaired."""

    def __init__(self, server: str, template: str) -> None:
        self._server = server
        self._template = template
        self._url: str | None = None
        url = _with_database(server, template)
        self._shape, self._tables, self._is_empty = _shape_of(url)

    def take(self) -> str:
        if self._url is None:
            name = f"cronwell_test_{uuid.uuid4().hex[:12]}"
            _admin(self._server, f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
            self._url = _with_database(self._server, name)
        return self._url

    def give_back(self, url: str) -> None:
        # Rows the migrations put in (beyond the revision) could not be told from a test's:
        # then each test has a new copy, as the emptying cannot restore them.
        if not (self._is_empty and self._emptied(url)):
            self.close()

    def close(self) -> None:
        if self._url is not None:
            _admin(self._server, f'DROP DATABASE "{make_url(self._url).database}" WITH (FORCE)')
            self._url = None

    def _emptied(self, url: str) -> bool:
        """Whether the copy is as new again: its shape the template's and its rows gone."""
        engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
        try:
            with engine.begin() as connection:
                if connection.execute(_SHAPE).scalar_one() != self._shape:
                    return False
                # A lock a test left behind (a process killed mid-transaction) fails this
                # quickly instead of hanging the run.
                connection.execute(text("SET LOCAL lock_timeout = '5s'"))
                tables = ", ".join(f'"{table}"' for table in self._tables)
                connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        except DBAPIError:
            return False
        finally:
            engine.dispose()
        return True


def _shape_of(url: str) -> tuple[str, list[str], bool]:
    """The template's shape, the tables a test may fill, and whether they are all empty."""
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as connection:
            shape = connection.execute(_SHAPE).scalar_one()
            tables = [t for t in connection.execute(_TABLES).scalars() if t != "alembic_version"]
            is_empty = not any(
                connection.execute(text(f'SELECT EXISTS (SELECT 1 FROM "{table}")')).scalar_one()
                for table in tables
            )
    finally:
        engine.dispose()
    return shape, tables, is_empty
