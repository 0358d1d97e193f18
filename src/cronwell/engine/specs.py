"""Parsed job definitions, cached by (job, version): parsing costs more than using them."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from cronwell.spec import JobSpec


class SpecCache:
    """A bounded LRU of JobSpecs, so memory does not grow with the number of jobs."""

    def __init__(self, size: int = 10_000) -> None:
        self._specs: OrderedDict[tuple[int, int], JobSpec] = OrderedDict()
        self._size = size

    def has(self, job_id: int, version: int) -> bool:
        """Whether this version of the job is cached: ``get`` would not read ``canonical``."""
        return (job_id, version) in self._specs

    def get(self, job_id: int, version: int, canonical: Mapping[str, Any]) -> JobSpec:
        key = (job_id, version)
        spec = self._specs.get(key)
        if spec is None:
            spec = self._specs[key] = JobSpec.from_canonical(canonical)
            if len(self._specs) > self._size:
                self._specs.popitem(last=False)
        self._specs.move_to_end(key)
        return spec
