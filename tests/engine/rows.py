"""What the engine tests read back from the store."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cronwell.app import Cronwell
from cronwell.store.tables import runs


def run_rows(app: Cronwell) -> list[Any]:
    """Every run row, oldest first."""
    with app.database.transaction(write=False) as connection:
        return list(connection.execute(select(runs).order_by(runs.c.id)).all())
