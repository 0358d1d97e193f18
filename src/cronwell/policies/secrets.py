"""Secret masking: which keys name a secret, and values and text with their secrets as ``***``.

A key names a secret when it contains one of the patterns, case aside and with ``-`` read as
``_`` (``DB_PASSWORD``, ``X-Api-Key`` and ``api-key`` all contain ``api_key`` or
``password``). Masking is for what is stored to be shown (output, audit records, event
payloads) and what is shown; a job's own definition keeps its real values, because its task
needs them to run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cronwell.policies.base import PolicyError

MASK = "***"
CHANGED = "*** (changed)"  # a secret that differs between two definitions, in the later
DEFAULT_PATTERNS = ("password", "token", "secret", "api_key")
# The parts of a job definition whose values are looked up by key: args have no keys.
DEFINITION_MAPPINGS = ("kwargs", "env", "metadata")

# A key and its separator (``key=``, ``key: ``, ``"key": ``), starting where no word goes on
# before it: each key is looked at once, so masking takes time in proportion to the text.
_KEY = re.compile(r"""(?<![\w.\-])(?P<key>"[^"\n]*"|'[^'\n]*'|[\w.\-]+)[ \t]*[:=][ \t]*""")
# The value after it: quoted (with escapes), or up to a space or a delimiter.
_VALUE = re.compile(r""""(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s,;&}\]]+""")


def _normal(key: str) -> str:
    return key.lower().replace("-", "_")


@dataclass(frozen=True, slots=True)
class SecretKeys:
    """The patterns a key must contain to name a secret (see the module's docstring)."""

    patterns: tuple[str, ...] = DEFAULT_PATTERNS

    def __post_init__(self) -> None:
        if isinstance(self.patterns, str) or not all(
            isinstance(pattern, str) and pattern.strip() for pattern in self.patterns
        ):
            raise PolicyError("secret_keys", f"{self.patterns!r} is not a list of non-empty words")
        object.__setattr__(self, "patterns", tuple(_normal(p.strip()) for p in self.patterns))

    @classmethod
    def parse(cls, text: str) -> SecretKeys:
        """Patterns from comma-separated text (``CRONWELL_SECRET_KEYS``); blanks are ignored."""
        return cls(tuple(part.strip() for part in text.split(",") if part.strip()))

    def matches(self, key: Any) -> bool:
        """Whether ``key`` names a secret."""
        return isinstance(key, str) and any(p in _normal(key) for p in self.patterns)

    def mask_mapping(self, value: Any) -> Any:
        """A deep copy of ``value`` with every value under a secret key, at any depth of
        dicts and lists, as ``***``."""
        if isinstance(value, Mapping):
            return {k: MASK if self.matches(k) else self.mask_mapping(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.mask_mapping(item) for item in value]
        return value

    def mask_all(self, value: Any) -> Any:
        """``mask_mapping``, and ``mask_text`` on every string within: for structured logs,
        whose messages are free text."""
        if isinstance(value, str):
            return self.mask_text(value)
        if isinstance(value, Mapping):
            return {k: MASK if self.matches(k) else self.mask_all(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.mask_all(item) for item in value]
        return value

    def mask_definition(self, definition: Mapping[str, Any]) -> dict[str, Any]:
        """A job definition (canonical form) with the secrets of its kwargs, env and metadata
        masked; the rest as it is."""
        masked = dict(definition)
        for part in DEFINITION_MAPPINGS:
            if isinstance(masked.get(part), Mapping):
                masked[part] = self.mask_mapping(masked[part])
        return masked

    def keep_masked(
        self, definition: Mapping[str, Any], current: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``definition`` with every ``***`` under a secret key of its kwargs, env and
        metadata replaced by ``current``'s value there: a definition read through a masking
        edge and sent back whole keeps its secrets instead of storing the mask."""
        kept = dict(definition)
        for part in DEFINITION_MAPPINGS:
            kept[part] = self._unmasked(kept.get(part), current.get(part))
            if kept[part] is None and part not in definition:
                del kept[part]
        return kept

    def _unmasked(self, value: Any, current: Any) -> Any:
        if not (isinstance(value, Mapping) and isinstance(current, Mapping)):
            return value
        return {
            key: current[key]
            if self.matches(key) and item == MASK and key in current
            else self._unmasked(item, current.get(key))
            for key, item in value.items()
        }

    def mask_definitions(
        self, before: Mapping[str, Any], after: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Two definitions of a job masked for a diff: a secret whose value differs between
        them reads ``***`` before and ``*** (changed)`` after, so the diff says that it
        changed and not what it is."""
        old, new = self.mask_definition(before), self.mask_definition(after)
        for part in DEFINITION_MAPPINGS:
            was, now = before.get(part), after.get(part)
            if not (isinstance(was, Mapping) and isinstance(now, Mapping)):
                continue
            for key, value in now.items():
                if self.matches(key) and key in was and was[key] != value:
                    new[part][key] = CHANGED
        return old, new

    def mask_text(self, text: str) -> str:
        """Free text (a task's output) with the value of every ``key=value``, ``key: value``
        or ``"key": "value"`` whose key names a secret as ``***`` (quotes kept)."""
        parts: list[str] = []
        done = 0  # the text up to here is in ``parts``
        for key in _KEY.finditer(text):
            if key.start() < done or not self.matches(key["key"].strip("\"'")):
                continue
            value = _VALUE.match(text, key.end())
            if value is None:
                continue
            quote = value[0][0] if value[0][0] in "\"'" else ""
            parts += [text[done : key.end()], f"{quote}{MASK}{quote}"]
            done = value.end()
        return "".join([*parts, text[done:]])


DEFAULT_KEYS = SecretKeys()
