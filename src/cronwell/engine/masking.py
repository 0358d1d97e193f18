"""Where the engine masks secrets: in how an attempt ended, before it is stored.

A task's output, error and logs are stored for people to read, so the values of secret keys in
them (``password=...``, ``"api_key": "..."``) are stored as ``***``. Which keys name a
secret is configured on the app or by ``CRONWELL_SECRET_KEYS`` (comma-separated patterns).
"""

from __future__ import annotations

import os
from dataclasses import replace

from cronwell.policies.secrets import DEFAULT_KEYS, SecretKeys
from cronwell.store.runs import Outcome

ENV_SECRET_KEYS = "CRONWELL_SECRET_KEYS"


def secret_keys_from_env() -> SecretKeys:
    """The patterns of $CRONWELL_SECRET_KEYS, else the defaults; read where the app reads
    its database URL, so every process of a deployment masks alike."""
    text = os.environ.get(ENV_SECRET_KEYS, "").strip()
    return SecretKeys.parse(text) if text else DEFAULT_KEYS


def masked_outcome(outcome: Outcome, keys: SecretKeys) -> Outcome:
    """``outcome`` with the secrets in its output, error, progress and logs masked."""
    return replace(
        outcome,
        output=_masked(outcome.output, keys),
        error=_masked(outcome.error, keys),
        progress=_masked(outcome.progress, keys),
        logs=None if outcome.logs is None else keys.mask_all(outcome.logs),
    )


def _masked(text: str | None, keys: SecretKeys) -> str | None:
    return keys.mask_text(text) if text else text
