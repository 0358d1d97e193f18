"""Parsed job definitions, cached by (job, version): parsing costs more than using them."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from cronwell.policies import MisfirePolicy, OverlapPolicy
from cronwell.schedules import Schedule
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


@dataclass(frozen=True, slots=True)
class Planning:
    """What the scheduler reads of a job's definition to plan its runs."""

    schedule: Schedule
    misfire: MisfirePolicy
    overlap: OverlapPolicy
    max_attempts: int

    @classmethod
    def of(cls, spec: JobSpec) -> Planning:
        return cls(spec.schedule, spec.misfire, spec.overlap, spec.retry.max_attempts)


class PlanningCache:
    """Planning views by (job, version), bounded as SpecCache is.

    Jobs whose definitions differ only where planning does not look (name, task, arguments,
    ...) share one view, parsed schedule included: ten thousand jobs on one cron expression
    are parsed once. A schedule's due times depend on the job's name only through a jitter,
    which only the mapping form can set: jobs with such a schedule share nothing.
    """

    def __init__(self, size: int = 10_000) -> None:
        self._plannings: OrderedDict[tuple[int, int], Planning] = OrderedDict()
        self._shared: dict[Hashable, Planning] = {}
        self._size = size

    def get(self, job_id: int, version: int, canonical: Mapping[str, Any]) -> Planning:
        key = (job_id, version)
        planning = self._plannings.get(key)
        if planning is None:
            planning = self._plannings[key] = self._share(canonical)
            if len(self._plannings) > self._size:
                self._plannings.popitem(last=False)
        self._plannings.move_to_end(key)
        return planning

    def _share(self, canonical: Mapping[str, Any]) -> Planning:
        shape = _shape(canonical)
        if shape is None:
            return Planning.of(JobSpec.from_canonical(canonical))
        planning = self._shared.get(shape)
        if planning is None:
            if len(self._shared) >= self._size:
                self._shared.clear()
            planning = self._shared[shape] = Planning.of(JobSpec.from_canonical(canonical))
        return planning


def _shape(canonical: Mapping[str, Any]) -> Hashable | None:
    """What planning reads of a canonical definition, as a dictionary key; None when that
    cannot be told apart from the rest (a mapping schedule, an unexpected form)."""
    try:
        source, retry, misfire = canonical["schedule"], canonical["retry"], canonical["misfire"]
        if not isinstance(source, str):
            return None
        shape = (
            source,
            canonical["timezone"],
            canonical["overlap"],
            retry["strategy"],
            retry["max_attempts"],
            tuple(sorted(misfire.items())),
        )
        hash(shape)  # unhashable parts raise here, not in the lookup
    except (KeyError, TypeError, AttributeError):
        return None
    return shape
