"""What the commands show of runs and events, with the values of secret keys as ``***``.

Output and errors are stored masked already; a row stored before masking was configured,
or under other patterns, is masked again when shown. An event's payload, and a template's
fields, are stored as they were given, because the tasks they start read them: they are
masked only where they are shown.
"""

from __future__ import annotations

from typing import Any

from cronwell.policies.secrets import SecretKeys

_TEXTS = ("output", "error", "progress")


def masked_run(
    keys: SecretKeys, run: dict[str, Any], attempts: list[dict[str, Any]]
) -> dict[str, Any]:
    """A run as ``runs show`` prints it, with its attempts' texts and logs masked."""
    return run | {"attempt_details": [_masked_attempt(keys, attempt) for attempt in attempts]}


def masked_event(keys: SecretKeys, event: dict[str, Any]) -> dict[str, Any]:
    """An event as the ``events`` commands print it, with its payload masked."""
    return event | {"payload": keys.mask_mapping(event.get("payload"))}


def _masked_attempt(keys: SecretKeys, attempt: dict[str, Any]) -> dict[str, Any]:
    masked: dict[str, Any] = {n: keys.mask_text(attempt[n]) for n in _TEXTS if attempt.get(n)}
    if attempt.get("logs"):
        masked["logs"] = keys.mask_all(attempt["logs"])
    return attempt | masked


def masked_template(keys: SecretKeys, template: dict[str, Any]) -> dict[str, Any]:
    """A template as ``templates show`` prints it: its job fields masked as a job's are."""
    return keys.mask_definition(template)
