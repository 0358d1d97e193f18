"""``cronwell templates ...``: the named defaults jobs start from (``templates:`` in a jobs
file defines them; ``cronwell apply`` stores them)."""

from __future__ import annotations

import json

import click

from cronwell.app import Cronwell, TemplateInUse, TemplateNotFound
from cronwell.cli.errors import InputError
from cronwell.cli.masking import masked_template
from cronwell.cli.options import database_option, json_option, json_value, open_app, print_rows
from cronwell.templates import Template

COLUMNS = ("name", "fields", "jobs", "description")
template_argument = click.argument("template", metavar="TEMPLATE")


@click.group()
def templates() -> None:
    """Named job defaults: a job names one and overrides its fields."""


@templates.command("list")
@database_option
@json_option
def templates_list(database: str | None, as_json: bool) -> None:
    """Every template with the fields it sets and the jobs that use it."""
    app = open_app(database)
    users = _users(app)
    rows = [
        {
            "name": template.name,
            "fields": ", ".join(sorted(template.fields)),
            "jobs": ", ".join(users.get(template.name, [])),
            "description": template.description,
        }
        for template in app.list_templates()
    ]
    print_rows(rows, COLUMNS, as_json)


@templates.command("show")
@template_argument
@database_option
def templates_show(template: str, database: str | None) -> None:
    """TEMPLATE's fields and the jobs that use it, as JSON."""
    app = open_app(database)
    found = _template(app, template)
    shown = {
        **masked_template(app.secret_keys, found.as_dict()),
        "jobs": _users(app).get(found.name, []),
    }
    click.echo(json.dumps(shown, indent=2, default=json_value))


@templates.command("delete")
@template_argument
@database_option
def templates_delete(template: str, database: str | None) -> None:
    """Delete TEMPLATE; refused while a job uses it."""
    app = open_app(database)
    try:
        app.delete_template(template)
    except TemplateNotFound:
        raise InputError(f"TEMPLATE: no template named {template!r}") from None
    except TemplateInUse as error:
        raise InputError(f"TEMPLATE: {error}") from None
    click.echo(f"template {template}: deleted")


def _template(app: Cronwell, name: str) -> Template:
    try:
        return app.get_template(name)
    except TemplateNotFound:
        raise InputError(f"TEMPLATE: no template named {name!r}") from None


def _users(app: Cronwell) -> dict[str, list[str]]:
    """The names of the live jobs using each template."""
    users: dict[str, list[str]] = {}
    for job in app.list_schedules():
        if job.spec.template is not None:
            users.setdefault(job.spec.template, []).append(job.name)
    return users
