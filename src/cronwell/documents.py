"""A declarative document: what ``cronwell apply FILE`` reads and ``POST /api/v1/apply``
takes, parsed the one way both use (pure: the stored templates are handed in)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cronwell.spec import JobSpec, parse_jobs
from cronwell.templates import Template, parse_templates, resolve_all


def parse_document(
    document: Mapping[str, Any], stored: Iterable[Template]
) -> tuple[list[JobSpec], list[Template]]:
    """The document's jobs and templates. A job names a template of the document, else a
    stored one; one SpecError names every problem (``jobs[2].schedule: ...``)."""
    templates = parse_templates(document.get("templates", []))
    known = {template.name: template for template in stored}
    known |= {template.name: template for template in templates}
    return parse_jobs(resolve_all(document["jobs"], known)), templates
