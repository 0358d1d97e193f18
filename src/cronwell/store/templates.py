"""Templates: named job defaults, and which live jobs use each."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from cronwell.store.tables import jobs, templates


def get_templates(
    connection: Connection, names: Iterable[str] | None = None, *, lock: bool = False
) -> dict[str, dict[str, Any]]:
    """Stored templates by name (all of them, or those of ``names`` that exist)."""
    query = select(templates.c.name, templates.c.definition).order_by(templates.c.name)
    if names is not None:
        query = query.where(templates.c.name.in_(set(names)))
    rows = connection.execute(query.with_for_update() if lock else query)
    return {row.name: row.definition for row in rows}


def put_template(
    connection: Connection, name: str, definition: dict[str, Any], now: datetime
) -> bool:
    """Store a template, new or changed; returns whether it was new."""
    changed = connection.execute(
        update(templates)
        .where(templates.c.name == name)
        .values(definition=definition, version=templates.c.version + 1, updated_at=now)
    )
    if changed.rowcount == 1:
        return False
    connection.execute(
        insert(templates).values(name=name, definition=definition, created_at=now, updated_at=now)
    )
    return True


def delete_template(connection: Connection, name: str) -> bool:
    return connection.execute(delete(templates).where(templates.c.name == name)).rowcount == 1


def jobs_using(connection: Connection, name: str) -> list[str]:
    """The names of the live jobs that use the template ``name``, by name.

    The template's name is inside the stored definition (JSON), read here rather than
    filtered in SQL, so that SQLite and PostgreSQL agree; jobs are few next to runs."""
    rows = connection.execute(
        select(jobs.c.name, jobs.c.spec).where(jobs.c.deleted_at.is_(None)).order_by(jobs.c.name)
    )
    return [row.name for row in rows if row.spec.get("template") == name]
