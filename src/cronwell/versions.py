"""Change control's pure parts: who made a change when nobody says, and a readable diff of two
definitions. What is stored, and how, is ``cronwell.store.versions``."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any

from cronwell.audit import current_actor


def author_or_default(author: str | None) -> str:
    """``author`` if given, else the current actor (``cronwell.audit``): the operating
    system's user for the CLI and a Python script, the authenticated user for the web API,
    which sets the actor for each request."""
    return author or current_actor().name


def diff_definitions(
    name: str, old: tuple[int, Mapping[str, Any]], new: tuple[int, Mapping[str, Any]]
) -> str:
    """A unified diff of two numbered definitions of job ``name``, as JSON with one field a
    line and keys sorted, headed ``name@vN``. Empty when they are the same."""
    (old_number, old_definition), (new_number, new_definition) = old, new
    lines = difflib.unified_diff(
        _lines(old_definition),
        _lines(new_definition),
        fromfile=f"{name}@v{old_number}",
        tofile=f"{name}@v{new_number}",
        lineterm="",
    )
    text = "\n".join(lines)
    return f"{text}\n" if text else ""


def _lines(definition: Mapping[str, Any]) -> list[str]:
    return json.dumps(definition, indent=2, sort_keys=True).splitlines()
