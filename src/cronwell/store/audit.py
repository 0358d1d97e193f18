"""The audit trail: one record per change, written in the transaction that makes the change.

``record`` runs in the caller's transaction, so a change that rolls back leaves no record
and a change that commits always has one. Records are never updated; only retention
(``cronwell.store.retention``) deletes them. What a record keeps of the object before and
after the change, and any detail, is stored with its secrets masked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select

from cronwell.audit import Actor
from cronwell.policies.secrets import DEFAULT_KEYS, SecretKeys
from cronwell.store.tables import audit

DEFAULT_LIMIT = 100


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One change: when, by whom (name, role, edge), what, to which object, and the object
    before and after it (None where it did not exist, or the change has no state)."""

    id: int
    at: datetime
    actor: str
    role: str | None
    via: str
    action: str
    object_type: str
    object_id: str
    before: Any
    after: Any
    detail: Any


_INSERT = insert(audit).returning(audit.c.id)


def record(
    connection: Connection,
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int,
    at: datetime,
    before: Any = None,
    after: Any = None,
    detail: Any = None,
    secret_keys: SecretKeys = DEFAULT_KEYS,
) -> int:
    """Insert one record in the caller's transaction; returns its id. ``before``, ``after``
    and ``detail`` are stored as JSON (instants in ISO 8601, durations in seconds) with
    every value under a secret key masked."""
    row = record_row(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        at=at,
        before=before,
        detail=detail,
        secret_keys=secret_keys,
    )
    return insert_record(connection, row | {"after": _stored(after, secret_keys)})


def record_row(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int,
    at: datetime,
    before: Any = None,
    detail: Any = None,
    secret_keys: SecretKeys = DEFAULT_KEYS,
) -> dict[str, Any]:
    """A record's row as stored, but for ``after``: for a statement that makes the object
    and its record at once, and so learns ``after`` (the ids it made) only as it runs."""
    return {
        "at": at,
        "actor": actor.name,
        "role": actor.role,
        "via": actor.via,
        "action": str(action),
        "object_type": object_type,
        "object_id": str(object_id),
        "before": _stored(before, secret_keys),
        "detail": _stored(detail, secret_keys),
    }


def insert_record(connection: Connection, row: dict[str, Any]) -> int:
    """Insert a row made by ``record_row`` with its ``after``; returns the record's id."""
    # One statement built once: every trigger writes a record, and building the statement
    # per call (``.values(row)``) would cost more than the insert itself.
    return int(connection.execute(_INSERT, row).scalar_one())


def list_audit(
    connection: Connection,
    *,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    before_id: int | None = None,
) -> list[AuditRecord]:
    """Records newest first, at most ``limit``: those by ``actor``, of ``action``, on objects
    of ``object_type`` (and ``object_id``), made at ``since`` or later and before ``until``,
    and, to page on, with an id below ``before_id``."""
    if limit < 1:
        raise ValueError(f"limit: {limit} must be at least 1")
    query = select(audit).order_by(audit.c.id.desc()).limit(limit)
    equal = {
        audit.c.actor: actor,
        audit.c.action: None if action is None else str(action),
        audit.c.object_type: object_type,
        audit.c.object_id: None if object_id is None else str(object_id),
    }
    for column, value in equal.items():
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(audit.c.at >= since)
    if until is not None:
        query = query.where(audit.c.at < until)
    if before_id is not None:
        query = query.where(audit.c.id < before_id)
    return [AuditRecord(**row._mapping) for row in connection.execute(query)]


def _stored(value: Any, keys: SecretKeys) -> Any:
    if value is None:
        return None
    return keys.mask_mapping(json.loads(json.dumps(value, default=_json_value)))


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)
