"""Reading history: ``log`` and ``diff``."""

from __future__ import annotations

import click

from blacklake_ml.cli.args import parse_uri, single_path
from blacklake_ml.cli.output import emit
from blacklake_ml.cli.state import CliState, json_option, pass_state
from blacklake_ml.shapes import commit_json


@click.command("log")
@click.argument("uri")
@click.option("--path", "path", metavar="P", help="Only commits that changed P (or below it).")
@click.option("-n", "limit", type=click.IntRange(min=0), metavar="N",
              help="Show at most N commits.")
@json_option
@pass_state
def log(state: CliState, uri: str, path: str | None, limit: int | None) -> None:
    """Commits reachable from URI's ref, newest first (URI's path acts like --path)."""
    src = parse_uri(uri)
    only = single_path(src.path, path)
    rows = state.store().repo(src.repo).log(src.ref, path=only, limit=limit)
    docs = [commit_json(r) for r in rows]
    lines = [f"{d['id'][:12]}  {d['time'][:19].replace('T', ' ')}  {d['author']}  "
             f"{(d['message'].splitlines() or [''])[0]}" for d in docs]
    emit(state, docs, lines)


@click.command("diff")
@click.argument("uri_a")
@click.argument("uri_b")
@json_option
@pass_state
def diff(state: CliState, uri_a: str, uri_b: str) -> None:
    """Files added, removed and modified from URI_A to URI_B (same repository).

    If URI_A names a path, only that path (or what is below it) is compared.
    """
    from blacklake_ml.errors import InvalidInput

    a, b = parse_uri(uri_a), parse_uri(uri_b)
    if a.repo != b.repo:
        raise InvalidInput(f"diff compares refs of one repository, not {a.repo!r} and "
                           f"{b.repo!r}")
    if b.path and b.path != a.path:
        raise InvalidInput(f"diff compares one path at two refs; URI_A names {a.path!r} and "
                           f"URI_B names {b.path!r}")
    doc = state.store().repo(a.repo).diff(a.ref, b.ref, path=a.path).to_json()
    lines = [("A", e["path"]) for e in doc["added"]] + \
        [("D", e["path"]) for e in doc["removed"]] + \
        [("M", e["path"], f"({', '.join(e['changes'])})") for e in doc["modified"]]
    emit(state, doc, lines)


COMMANDS = [log, diff]
