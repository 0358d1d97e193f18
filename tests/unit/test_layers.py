"""The pure modules stay pure: they import the standard library and each other, no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import cronwell

PURE_STDLIB = {
    "__future__", "abc", "bisect", "calendar", "collections", "dataclasses", "datetime",
    "enum", "hashlib", "itertools", "math", "re", "typing", "zoneinfo",
}  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


# Each pure module and what it may import beyond PURE_STDLIB: pure modules of ours only.
PURE_MODULES = {
    "schedules": ("cronwell.schedules",),
    "lifecycle.py": (),
    "policies": ("cronwell.schedules", "cronwell.lifecycle", "cronwell.policies"),
    "spec.py": ("cronwell.schedules", "cronwell.policies", "pydantic", "pydantic_core"),
    "dag.py": ("heapq", "cronwell.schedules", "cronwell.spec", "cronwell.lifecycle"),
    "crontab.py": ("cronwell.schedules", "cronwell.spec", "shlex", "yaml"),
    "auth.py": ("hmac", "secrets"),
}


@pytest.mark.parametrize("name", sorted(PURE_MODULES))
def test_pure_modules_import_nothing_that_does_io(name: str) -> None:
    place = Path(cronwell.__file__).parent / name
    paths = sorted(place.glob("*.py")) if place.is_dir() else [place]
    assert paths
    allowed = PURE_MODULES[name]
    for path in paths:
        for module in imported_modules(path):
            is_allowed = module.split(".")[0] in PURE_STDLIB or module.startswith(allowed)
            assert is_allowed, f"{name}: {path.name} imports {module}"
