"""A task that shows what its process's environment holds."""

from __future__ import annotations

import os


def show(name: str) -> str | None:
    print(f"{name}={os.environ.get(name)}")
    return os.environ.get(name)
