"""``blacklake lineage``: what a stored thing came from and what came from it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import click

from blacklake_ml.catalog.lineage_base import MAX_GRAPH_DEPTH as MAX_DEPTH
from blacklake_ml.catalog.lineage_base import GraphDirection
from blacklake_ml.cli.output import emit, note, print_json
from blacklake_ml.cli.state import CliState, json_option, pass_state


def describe(node: dict[str, Any]) -> str:
    """One node as a short line: label, where/what, kind."""
    if node.get("repo") is not None:
        where = f"{node['repo']}:{node.get('path') or '/'} @{str(node.get('commit'))[:12]}"
        return f"{where} ({node['kind']})"
    if node["kind"] == "run":
        f = node.get("facets", {})
        return f"{node['label']} ({node.get('system')} {f.get('type', 'run')} {f.get('run_id')})"
    return f"{node.get('uri') or node['id']} ({node['kind']})"


def tree_lines(graph: dict[str, Any], way: str) -> Iterator[str]:
    """The graph as an indented tree from the centre, following edges ``way`` (up/down);
    a node reached twice is printed once, then referred to with ``(see above)``."""
    nodes = {n["id"]: n for n in graph["nodes"]}
    links: dict[str, list[tuple[str, str]]] = {}
    center = graph["center"]
    for e in graph["edges"]:
        a, b = (e["target"], e["source"]) if way == "up" else (e["source"], e["target"])
        links.setdefault(a, []).append((e["kind"], b))
        # Lineage recorded for an enclosing folder (or, for a folder, for what it holds)
        # applies both ways: walk through it instead of stopping at the "contains" edge.
        if e["kind"] == "contains" and center == (e["target"] if way == "down"
                                                  else e["source"]):
            other = e["source"] if way == "down" else e["target"]
            links.setdefault(center, []).append(("within" if way == "down" else "holds",
                                                 other))
    arrow = "<-" if way == "up" else "->"
    shown: set[str] = {center}

    def walk(node_id: str, indent: int) -> Iterator[str]:
        for kind, other in sorted(links.get(node_id, []), key=lambda kv: (kv[0], kv[1])):
            if other == center:
                continue  # back where we started (a folder's "contains" edge)
            seen = other in shown
            shown.add(other)
            tail = "  (see above)" if seen else ""
            yield f"{'  ' * indent}{arrow} {kind:<12} {describe(nodes[other])}{tail}"
            if not seen:
                yield from walk(other, indent + 1)

    yield from walk(center, 1)


@click.command("lineage")
@click.argument("start", metavar="URI")
@click.option("--depth", type=click.IntRange(1, MAX_DEPTH), default=3, show_default=True,
              help="How many edges out to follow.")
@click.option("--up", "way", flag_value="up", help="Only upstream (what it came from).")
@click.option("--down", "way", flag_value="down", help="Only downstream (what came from it).")
@click.option("--openlineage", is_flag=True,
              help="Print OpenLineage run events (JSON, one array) for the runs in the graph.")
@json_option
@pass_state
def lineage(state: CliState, start: str, depth: int, way: str | None,
            openlineage: bool) -> None:
    """Recorded lineage of URI: runs that produced or consumed it, upstream and downstream.

    URI is a blacklake:// URI (a branch or tag resolves to its commit; lineage recorded for
    the same content at other commits and for enclosing folders counts) or a node key such
    as run:mlflow:<run id>.
    """
    store = state.store()
    if openlineage:
        print_json(store.lineage.openlineage(start, depth=depth))
        return
    direction = cast(GraphDirection, way or "both")
    graph = store.lineage.graph(start, depth=depth, direction=direction)
    center = {n["id"]: n for n in graph["nodes"]}[graph["center"]]
    lines = [describe(center)]
    for w in ("up", "down"):
        if direction in (w, "both"):
            body = list(tree_lines(graph, w))
            lines.append("upstream:" if w == "up" else "downstream:")
            lines += body or ["  (nothing recorded)"]
    if graph["truncated"]:
        note(state, "graph truncated: use a smaller --depth")
    emit(state, graph, lines)


COMMANDS = [lineage]
