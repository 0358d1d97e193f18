"""A module an operator names but may not have imported: the tests check it never was."""

from __future__ import annotations


def task() -> None:
    return None
