"""``cronwell jobs graph``: the dependencies between the live jobs, as text or as DOT."""

from __future__ import annotations

import json

import click

from cronwell.cli.jobs import jobs
from cronwell.cli.options import database_option, open_app
from cronwell.dag import EdgeKind, Graph


@jobs.command("graph")
@database_option
@click.option("--dot", is_flag=True, help="Graphviz DOT instead of text.")
def jobs_graph(database: str | None, dot: bool) -> None:
    """Every job, upstreams first, with what it waits for (fallback: runs when that job's
    run ends dead)."""
    graph = open_app(database).dependency_graph()
    for line in as_dot(graph) if dot else as_text(graph):
        click.echo(line)


def as_text(graph: Graph) -> list[str]:
    """One line per job in topological order: ``load <- transform (success), ...``."""
    lines = []
    for job in graph.order():
        upstreams = ", ".join(f"{e.upstream} ({e.kind})" for e in graph.upstreams(job))
        lines.append(f"{job} <- {upstreams}" if upstreams else job)
    return lines or ["no jobs"]


def as_dot(graph: Graph) -> list[str]:
    """A ``digraph`` with an edge per dependency, labelled by its kind; fallbacks dashed."""
    lines = ["digraph cronwell {"]
    lines += [f"  {_quoted(job)};" for job in graph.order()]
    for edge in graph.edges:
        style = ", style=dashed" if edge.kind is EdgeKind.FALLBACK else ""
        ends = f"{_quoted(edge.upstream)} -> {_quoted(edge.downstream)}"
        lines.append(f'  {ends} [label="{edge.kind}"{style}];')
    return [*lines, "}"]


def _quoted(name: str) -> str:
    return json.dumps(name)  # job names hold no character DOT and JSON quote differently
