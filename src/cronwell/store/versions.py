"""Versions of jobs: every create, update, delete and rollback, with who made it, when and
why, and the definition it left. A definition is stored once per SHA-256 of its canonical
JSON, compressed: re-applying, or rolling back to, a definition seen before adds one small
version row and no content.

A version's number is the job's ``version`` once the change is made: the writers call
``record_versions`` after changing the jobs, in the same transaction, and it reads the
numbers and definitions from the jobs' rows."""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, func, select

from cronwell.store.dialect import insert_or_ignore
from cronwell.store.jobs import JobNotFound, specs_of
from cronwell.store.tables import job_versions, jobs, version_contents

_LEVEL = 9  # definitions are written once and read rarely: the smallest form is worth it


class VersionAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    ROLLBACK = "rollback"


class VersionNotFound(LookupError):
    """The job has no version of that number."""


@dataclass(frozen=True, slots=True)
class Version:
    """One change of a job: its number, when, who, why, what kind, and its content's hash."""

    number: int
    created_at: datetime
    author: str
    message: str | None
    action: VersionAction
    hash: str


@dataclass(frozen=True, slots=True)
class JobRef:
    """A job whose versions are read: live or deleted."""

    id: int
    name: str


@dataclass(frozen=True, slots=True)
class VersionStorage:
    versions: int
    version_contents: int  # distinct definitions stored
    version_bytes_raw: int  # their canonical JSON, uncompressed
    version_bytes_stored: int  # what they take compressed


def canonical_json(definition: Mapping[str, Any]) -> bytes:
    """The one byte form of a definition that is hashed and stored: keys sorted, no spaces."""
    return json.dumps(definition, sort_keys=True, separators=(",", ":")).encode()


def content_hash(definition: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(definition)).hexdigest()


def record_versions(
    connection: Connection,
    job_ids: Sequence[int],
    action: VersionAction,
    *,
    author: str,
    message: str | None,
    now: datetime,
) -> None:
    """Write a version of each job as its row stands: its number and definition. Call it in
    the transaction that changed the jobs, after the change: the version and the change
    commit together or not at all."""
    if not job_ids:
        return
    contents = {}
    versions = []
    for job_id, (number, spec) in specs_of(connection, job_ids).items():
        raw = canonical_json(spec)
        digest = hashlib.sha256(raw).hexdigest()
        packed = zlib.compress(raw, _LEVEL)
        contents[digest] = {
            "hash": digest,
            "content": packed,
            "raw_size": len(raw),
            "stored_size": len(packed),
        }
        versions.append(
            {
                "job_id": job_id,
                "number": number,
                "created_at": now,
                "author": author,
                "message": message,
                "action": action.value,
                "content_hash": digest,
            }
        )
    # Sorted: two transactions storing the same new contents lock them in the same order.
    insert_or_ignore(
        connection, version_contents, sorted(contents.values(), key=_by_hash), on=["hash"]
    )
    connection.execute(job_versions.insert(), versions)


def _by_hash(content: dict[str, Any]) -> str:
    return str(content["hash"])


def find_job(connection: Connection, job: int | str) -> JobRef:
    """The id and name of the job whose versions are asked for, deleted jobs included (their
    history stays): by id any job; by name the live job, else the latest deleted one."""
    key = jobs.c.id if isinstance(job, int) else jobs.c.name
    # The live job first (false sorts before true on both databases), then the latest.
    found = connection.execute(
        select(jobs.c.id, jobs.c.name)
        .where(key == job)
        .order_by(jobs.c.deleted_at.is_not(None), jobs.c.deleted_at.desc(), jobs.c.id.desc())
        .limit(1)
    ).first()
    if found is None:
        raise JobNotFound(f"job {job!r} does not exist")
    return JobRef(found.id, found.name)


def list_versions(connection: Connection, job: JobRef) -> list[Version]:
    """The job's versions, oldest first."""
    rows = connection.execute(
        select(*_VERSION_COLUMNS)
        .where(job_versions.c.job_id == job.id)
        .order_by(job_versions.c.number)
    )
    return [_version(row) for row in rows]


def latest_number(connection: Connection, job: JobRef) -> int:
    """The number of the job's latest version."""
    number = connection.execute(
        select(func.max(job_versions.c.number)).where(job_versions.c.job_id == job.id)
    ).scalar()
    if number is None:
        raise VersionNotFound(f"job {job.name!r} has no versions")
    return int(number)


def definition_of(connection: Connection, job: JobRef, number: int) -> dict[str, Any]:
    """The definition (canonical form) that version ``number`` of the job left."""
    packed = connection.execute(
        select(version_contents.c.content)
        .join(job_versions, job_versions.c.content_hash == version_contents.c.hash)
        .where(job_versions.c.job_id == job.id, job_versions.c.number == number)
    ).scalar()
    if packed is None:
        raise VersionNotFound(f"job {job.name!r} has no version {number}")
    definition: dict[str, Any] = json.loads(zlib.decompress(packed))
    return definition


def storage(connection: Connection) -> VersionStorage:
    """How many versions there are, and what their distinct contents take, raw and stored."""
    versions = connection.execute(select(func.count()).select_from(job_versions)).scalar_one()
    count, raw, stored = connection.execute(
        select(
            func.count(),
            func.coalesce(func.sum(version_contents.c.raw_size), 0),
            func.coalesce(func.sum(version_contents.c.stored_size), 0),
        )
    ).one()
    return VersionStorage(int(versions), int(count), int(raw), int(stored))


def _version(row: Any) -> Version:
    return Version(
        number=row.number,
        created_at=row.created_at,
        author=row.author,
        message=row.message,
        action=VersionAction(row.action),
        hash=row.content_hash,
    )


_VERSION_COLUMNS = (
    job_versions.c.number,
    job_versions.c.created_at,
    job_versions.c.author,
    job_versions.c.message,
    job_versions.c.action,
    job_versions.c.content_hash,
)
