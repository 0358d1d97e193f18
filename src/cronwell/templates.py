"""Templates: named defaults that jobs start from (pure: no I/O).

A template holds any job fields but ``name`` (a schedule, a timezone, a retry policy, a
queue, ...). A job that names a template is the template's fields with the job's own laid
over them: a mapping field (``retry``, ``misfire``, ``kwargs``, ``metadata``, ``env``) is
merged key by key, ``tags`` are the union, any other field is the job's when it gives one.

The job's own fields are kept beside the result (``overrides`` in its canonical form), so
when the template changes the job is made again from the new template and the same own
fields: what the job set itself stays, what it took from the template follows it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cronwell.spec import NAME, JobSpec, SpecError

MERGED = frozenset({"retry", "misfire", "kwargs", "metadata", "env"})
# What a template cannot hold: the job's identity and its link to the template itself.
NOT_IN_TEMPLATE = frozenset({"name", "template", "overrides"})
_PLACEHOLDER = "template-check"


@dataclass(frozen=True, slots=True)
class Template:
    """A valid template: a name and the job fields it gives."""

    name: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    @classmethod
    def parse(cls, data: Mapping[str, Any], place: str = "") -> Template:
        """A Template from external input, or a SpecError naming every problem."""
        if not isinstance(data, Mapping):
            raise SpecError([(place, "must be a mapping of template fields")])
        name = data.get("name")
        if not isinstance(name, str) or not re.fullmatch(NAME, name):
            raise SpecError([(_at(place, "name"), f"{name!r} is not a template name")])
        description = data.get("description", "")
        fields = {key: value for key, value in data.items() if key not in ("name", "description")}
        _check_fields(fields, place)
        return cls(name, fields, description if isinstance(description, str) else "")

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> Template:
        """The template as stored (``as_dict``): checked when it was stored, so read as is."""
        fields = {key: value for key, value in data.items() if key not in ("name", "description")}
        return cls(data["name"], fields, data.get("description", ""))

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, **self.fields}


def _check_fields(fields: Mapping[str, Any], place: str) -> None:
    """The fields validate as a job's would: a bad value is refused with the template, not
    later with every job that uses it."""
    forbidden = [
        (_at(place, key), "a template cannot set it") for key in fields if key in NOT_IN_TEMPLATE
    ]
    if forbidden:
        raise SpecError(forbidden)
    probe = dict(fields)
    if "task" not in probe and "command" not in probe:  # the job gives its own target
        probe["task"] = _PLACEHOLDER
    try:
        JobSpec.parse({**probe, "name": _PLACEHOLDER}, place)
    except SpecError as error:
        raise SpecError(
            [(where, problem) for where, problem in error.problems if not _is_name(where, place)]
        ) from None


def _is_name(where: str, place: str) -> bool:
    return where == _at(place, "name")


def resolve(own: Mapping[str, Any], template: Template | None) -> dict[str, Any]:
    """The definition of a job from its own fields and its template (None: no template).

    The result carries ``template`` and ``overrides`` (the job's own fields but its name),
    so that a change of the template can make the job again."""
    own = {key: value for key, value in own.items() if key not in ("template", "overrides")}
    if template is None:
        return own
    merged = dict(template.fields)
    if "task" in own or "command" in own:  # the job's target replaces the template's
        merged.pop("task", None)
        merged.pop("command", None)
    for key, value in own.items():
        merged[key] = _laid_over(key, merged.get(key), value)
    overrides = {key: value for key, value in own.items() if key != "name"}
    return {**merged, "template": template.name, "overrides": overrides}


def _laid_over(key: str, under: Any, over: Any) -> Any:
    if key in MERGED and isinstance(under, Mapping) and isinstance(over, Mapping):
        return {**under, **over}
    if key == "tags" and isinstance(under, list) and isinstance(over, list):
        return list(dict.fromkeys([*under, *over]))
    return over


def own_fields(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a stored job set itself: its overrides and name when it has a template,
    else its whole definition."""
    if definition.get("template") is None:
        return {k: v for k, v in definition.items() if k not in ("template", "overrides")}
    return {"name": definition["name"], **definition.get("overrides", {})}


def joining(definition: Mapping[str, Any]) -> dict[str, Any]:
    """What stays its own of a job without a template that joins one: its name, its target
    and the fields it sets to other than their defaults. The rest it takes from the
    template, as a job defined with the template from the start would."""
    target = {key: definition[key] for key in ("name", "task", "command") if definition.get(key)}
    baseline = JobSpec.parse(target).canonical()
    return {
        key: value
        for key, value in definition.items()
        if key in target or (key not in NOT_IN_TEMPLATE and value != baseline.get(key))
    }


def _at(place: str, key: str) -> str:
    return f"{place}.{key}" if place else key


def parse_templates(items: Any, place: str = "templates") -> list[Template]:
    """Every template of a list, or one SpecError naming every problem of every template."""
    if not isinstance(items, list):
        raise SpecError([(place, "must be a list of templates")])
    found: list[Template] = []
    problems: list[tuple[str, str]] = []
    for index, item in enumerate(items):
        try:
            template = Template.parse(item, f"{place}[{index}]")
        except SpecError as error:
            problems.extend(error.problems)
            continue
        if any(template.name == other.name for other in found):
            problems.append((f"{place}[{index}].name", f"{template.name!r} is defined twice"))
        found.append(template)
    if problems:
        raise SpecError(problems)
    return found


def resolve_all(items: Any, known: Mapping[str, Template], place: str = "jobs") -> Any:
    """Job definitions with their templates laid under them; one SpecError names every job
    whose template is unknown. What is not a list of mappings is left for the job parser to
    refuse."""
    if not isinstance(items, list):
        return items
    resolved: list[Any] = []
    problems: list[tuple[str, str]] = []
    for index, item in enumerate(items):
        name = item.get("template") if isinstance(item, Mapping) else None
        if name is None:
            resolved.append(item)
        elif isinstance(name, str) and name in known:
            resolved.append(resolve(item, known[name]))
        else:
            problems.append((f"{place}[{index}].template", f"no template named {name!r}"))
    if problems:
        raise SpecError(problems)
    return resolved
