"""Fixtures the store tests share."""

from __future__ import annotations

from typing import Any

import pytest

from cronwell.store import retention as store_retention
from cronwell.store.retention import Pruned


@pytest.fixture
def pruned_batches(monkeypatch: pytest.MonkeyPatch) -> list[Pruned]:
    """What each batch of a prune deleted, in order, with batches of 2 so that a few rows
    make several."""
    monkeypatch.setattr(store_retention, "BATCH", 2)
    batches: list[Pruned] = []
    prune_batch = store_retention.prune_batch

    def recorded(*args: Any, **kwargs: Any) -> Pruned:
        batches.append(prune_batch(*args, **kwargs))
        return batches[-1]

    monkeypatch.setattr(store_retention, "prune_batch", recorded)
    return batches
