"""The one error the CLI turns into exit code 2 and a single line on stderr, and the context
that turns a refusal naming a field into it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cronwell.auth import AuthError
    from cronwell.policies.base import PolicyError


class InputError(Exception):
    """Bad input from the command line: each line names a field and its problem (one line,
    except where a whole file is checked and every problem in it is listed)."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@contextmanager
def refusals(fields: Mapping[str, str], *errors: type[AuthError | PolicyError]) -> Iterator[None]:
    """Turn a refusal of one of ``errors`` into the CLI's one line, naming the option or
    argument its field was typed as (``fields``; a field not there is named as it is)."""
    try:
        yield
    except errors as error:
        raise InputError(f"{fields.get(error.field, error.field)}: {error.problem}") from None
