"""What the commands show of runs and events, with the values of secret keys as ``***``.

Output and errors are stored masked already; a row stored before masking was configured,
or under other patterns, is masked again when shown. An event's payload is stored as it was
fired, because the tasks it starts read it: it is masked only where it is shown.
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
    texts: dict[str, Any] = {n: keys.mask_text(attempt[n]) for n in _TEXTS if attempt.get(n)}
    logs = attempt.get("logs")
    if logs:
        texts["logs"] = [_masked_log(keys, entry) for entry in logs]
    return attempt | texts


def _masked_log(keys: SecretKeys, entry: Any) -> Any:
    masked = keys.mask_mapping(entry)
    if isinstance(masked, dict) and isinstance(masked.get("message"), str):
        masked["message"] = keys.mask_text(masked["message"])
    return masked
