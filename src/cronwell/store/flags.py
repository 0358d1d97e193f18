"""Flags: small named settings every process reads, such as the global pause."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from cronwell.store.tables import flags

PAUSED = "paused"


def get_flag(connection: Connection, name: str, default: Any = None) -> Any:
    value = connection.execute(select(flags.c.value).where(flags.c.name == name)).scalar()
    return default if value is None else value


def set_flag(connection: Connection, name: str, value: Any, now: datetime) -> None:
    module = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = module.insert(flags).values(name=name, value=value, updated_at=now)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[flags.c.name], set_={"value": value, "updated_at": now}
        )
    )
