"""The task registry: the callables jobs may name, by a short name or a dotted path.

A job stores the dotted path (``pkg.module:function``) of its task, so a worker in another
process imports it by that path; the short name is for people and files.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cronwell.spec import DOTTED_PATH


class UnknownTask(LookupError):
    """A task name the registry does not know; ``str()`` says which."""


@dataclass(frozen=True, slots=True)
class Task:
    name: str
    path: str
    function: Callable[..., Any]


class Registry:
    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}

    def add(self, function: Callable[..., Any], name: str | None = None) -> Task:
        """Register a module-level function (a worker process imports it by its path)."""
        qualname = getattr(function, "__qualname__", "")
        if "<locals>" in qualname or "<lambda>" in qualname:
            raise ValueError(f"task {qualname!r} must be a module-level function")
        task = Task(name or function.__name__, f"{function.__module__}:{qualname}", function)
        existing = self._tasks.get(task.name)
        if existing is not None and existing.path != task.path:
            raise ValueError(f"task name {task.name!r} is taken by {existing.path}")
        self._tasks[task.name] = task
        return task

    def resolve(self, task: str | Callable[..., Any], *, check_import: bool = True) -> str:
        """The dotted path for a registered name, a registered function or a dotted path.

        A dotted path that is not registered must import (unless ``check_import`` is off).
        """
        if callable(task):
            return self.add(task).path
        if task in self._tasks:
            return self._tasks[task].path
        if not DOTTED_PATH.fullmatch(task):
            raise UnknownTask(f"task {task!r} is not registered (known: {self.names() or 'none'})")
        if check_import:
            _import(task)
        return task

    def knows(self, task: str) -> bool:
        """Whether ``task`` is a registered task's name or dotted path."""
        return task in self._tasks or any(known.path == task for known in self._tasks.values())

    def names(self) -> str:
        return ", ".join(sorted(self._tasks))

    def tasks(self) -> list[Task]:
        """Every registered task, by name: what another registry may take over."""
        return [self._tasks[name] for name in sorted(self._tasks)]


def _import(path: str) -> Callable[..., Any]:
    module_name, _, attribute = path.partition(":")
    try:
        found: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as error:
        raise UnknownTask(f"task {path!r} cannot be imported: {error}") from None
    except Exception as error:  # the module itself failed while it was imported
        problem = f"{type(error).__name__}: {error}"
        raise UnknownTask(f"task {path!r} failed on import: {problem}") from None
    if not callable(found):
        raise UnknownTask(f"task {path!r} is not callable")
    return found  # type: ignore[no-any-return]
