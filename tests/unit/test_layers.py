"""The pure modules stay pure: schedules/ imports the standard library's time math only."""

from __future__ import annotations

import ast
from pathlib import Path

import cronwell.schedules

PURE_STDLIB = {
    "__future__", "abc", "bisect", "calendar", "collections", "dataclasses", "datetime",
    "enum", "hashlib", "re", "typing", "zoneinfo",
}  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_schedules_import_nothing_that_does_io() -> None:
    package = Path(cronwell.schedules.__file__).parent
    for path in sorted(package.glob("*.py")):
        for module in imported_modules(path):
            top = module.split(".")[0]
            assert module.startswith("cronwell.schedules") or top in PURE_STDLIB, (
                f"{path.name} imports {module}"
            )
