"""What the routes take, typed so that bad input answers 422 naming its field.

Each type states a bound the store would otherwise trip over with a 500: an id beyond 64 bits
overflows the database's integer, an instant without an offset is ambiguous and one at the
edge of the calendar overflows on the way to UTC, and PostgreSQL refuses a NUL character or
half a surrogate pair in text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, StringConstraints

MAX_ID = 2**63 - 1
NAME_LENGTH = 200  # of a job's, user's, token's or event's name


def storable_text(text: str) -> str:
    """``text`` if a database can store it as it is."""
    if "\x00" in text:
        raise ValueError("must not contain a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return text


def _written_out(value: Any) -> Any:
    """An instant given as text must be ISO 8601; pydantic would read a number as seconds
    since 1970, which the schema's ``date-time`` does not allow."""
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("is not an ISO 8601 date and time with an offset")
    if isinstance(value, int | float):
        raise ValueError("is not an ISO 8601 date and time with an offset")
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]")


def _in_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the years 1 to 9999 in UTC") from None


def storable_json(value: Any) -> Any:
    """``value`` if every string in it, keys too, can be stored (see ``storable_text``)."""
    if isinstance(value, str):
        storable_text(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            storable_text(str(key))
            storable_json(item)
    elif isinstance(value, list):
        for item in value:
            storable_json(item)
    return value


Name = Annotated[
    str,
    # The pattern tells clients (and the schema fuzzer) of NUL; storable_text also of surrogates,
    # which a pattern cannot name.
    StringConstraints(min_length=1, max_length=NAME_LENGTH, pattern=r"^[^\x00]*$"),
    AfterValidator(storable_text),
]
Instant = Annotated[AwareDatetime, BeforeValidator(_written_out), AfterValidator(_in_utc)]

PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="A positive 64-bit id")]
PathName = Annotated[Name, Path()]
Limit = Annotated[int, Query(ge=1, le=1000, description="How many at most")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="How many to pass over first")]
