"""Tasks the API tests register, so an operator may name them."""

from __future__ import annotations


def report(limit: int = 10) -> int:
    return limit


def sync() -> str:
    return "synced"
