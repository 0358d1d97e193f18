"""huey's application and task for the bench, in a module of their own: the consumer finds
tasks by their module's name, which a module run with ``-m`` would not have."""

# mypy: ignore-errors
# (this module runs in the peers' virtualenv, whose libraries the project's mypy does not see)

from __future__ import annotations

import os

from huey import SqliteHuey

from peertasks.marks import mark

huey = SqliteHuey("bench", filename=os.environ.get("PEER_DB", "huey.db"))


@huey.task()
def noop(key: int) -> None:
    mark(key)
