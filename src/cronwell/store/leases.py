"""Named leases: one holder at a time, taken over only once the holder stops renewing.

The scheduler's leader lease lives here. Acquiring and renewing are one upsert guarded by
"it is mine, or it has expired", so two contenders are settled by the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from cronwell.store.tables import leases


@dataclass(frozen=True, slots=True)
class Lease:
    name: str
    owner: str
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime
    takeovers: int
    holder: str | None = None  # "host pid N" of the holder's process


def hold(
    connection: Connection,
    name: str,
    *,
    owner: str,
    now: datetime,
    ttl: timedelta,
    holder: str | None = None,
) -> bool:
    """Acquire or renew lease ``name`` for ``owner`` until ``now + ttl``; True if it holds it.
    ``holder`` says where the owner runs ("host pid N"), for people to read.

    Fails, changing nothing, while another owner's lease has not expired.
    """
    module = postgresql if connection.dialect.name == "postgresql" else sqlite
    is_mine = leases.c.owner == owner
    statement = module.insert(leases).values(
        name=name,
        owner=owner,
        acquired_at=now,
        renewed_at=now,
        expires_at=now + ttl,
        takeovers=0,
        holder=holder,
    )
    statement = statement.on_conflict_do_update(
        index_elements=[leases.c.name],
        set_={
            "owner": owner,
            "holder": holder,
            "renewed_at": now,
            "expires_at": now + ttl,
            "acquired_at": case((is_mine, leases.c.acquired_at), else_=now),
            "takeovers": leases.c.takeovers + case((is_mine, 0), else_=1),
        },
        where=is_mine | (leases.c.expires_at < now),
    )
    return connection.execute(statement.returning(leases.c.owner)).first() is not None


def release(connection: Connection, name: str, *, owner: str) -> None:
    """Give the lease up at once (a clean shutdown), so a stand-by need not wait it out."""
    connection.execute(delete(leases).where(leases.c.name == name, leases.c.owner == owner))


def list_leases(connection: Connection) -> list[Lease]:
    rows = connection.execute(select(leases).order_by(leases.c.name)).all()
    return [Lease(**row._mapping) for row in rows]
