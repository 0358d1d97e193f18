"""Every ``$ cronwell ...`` example in the docs prints what the docs say it prints.

Output that depends on the current time (``explain``, or ``next`` without ``--after``) is
compared on its first line, the description, only.
"""

from __future__ import annotations

import io
import shlex
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from cronwell.cli import main

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@dataclass(frozen=True)
class Example:
    page: str
    command: str
    output: tuple[str, ...]
    previous: str | None  # the cronwell command before an `echo $?`

    @property
    def is_time_dependent(self) -> bool:
        words = shlex.split(self.command)
        return words[1] == "explain" or "--after" not in words


def examples() -> list[Example]:
    found = []
    for page in PAGES:
        for block in _console_blocks(page.read_text()):
            found.extend(_examples_in(page.relative_to(ROOT).as_posix(), block))
    return found


def _console_blocks(text: str) -> list[list[str]]:
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if current is None and line.strip() == "```console":
            current = []
        elif current is not None and line.strip() == "```":
            blocks.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def _examples_in(page: str, block: list[str]) -> list[Example]:
    found: list[Example] = []
    command, output, previous = None, [], None
    for line in [*block, "$ "]:
        if not line.startswith("$ "):
            output.append(line)
            continue
        if command is not None and (_is_checked(command) or command == "echo $?"):
            found.append(Example(page, command, tuple(output), previous))
            previous = command if command.startswith("cronwell ") else previous
        command, output = line[2:], []
    return found


# Commands a page cannot show exactly: they run until stopped or read a store.
UNCHECKED = ("run", "scheduler", "worker", "apply", "jobs", "runs", "dlq", "locks", "stats", "db")


def _is_checked(command: str) -> bool:
    words = shlex.split(command)
    return words[0] == "cronwell" and not (len(words) > 1 and words[1] in UNCHECKED)


def run(command: str) -> tuple[int, str]:
    """The exit code and everything printed. In-process: the CLI contract as a subprocess is
    tested in test_cli_schedules; here only the text matters, and 100+ starts cost seconds."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(shlex.split(command)[1:])
    return code, out.getvalue() + err.getvalue()


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")


EXAMPLES = examples()


def test_the_docs_have_examples() -> None:
    assert len(EXAMPLES) > 20


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"{e.page}: {e.command[:60]}")
def test_example_prints_what_the_docs_say(example: Example) -> None:
    if example.command == "echo $?":
        assert example.previous is not None
        assert [str(run(example.previous)[0])] == list(example.output)
        return
    printed = run(example.command)[1].rstrip("\n").split("\n")
    expected = [line for line in example.output if line != "..."]
    while expected and expected[-1] == "":
        expected.pop()
    if example.is_time_dependent:
        printed, expected = printed[:1], expected[:1]
    assert printed == expected
