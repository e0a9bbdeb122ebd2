"""Store-wide commands: ``init``, ``stats``, ``gc`` and ``fsck``."""

from __future__ import annotations

from typing import Any

import click

from blacklake_ml.cli.output import emit, key_values
from blacklake_ml.cli.state import CliState, json_option, pass_state

#: exit code of ``fsck`` when it found damage (that of CorruptObject, without importing it)
FSCK_FAILED = 7


@click.command("init")
@json_option
@pass_state
def init(state: CliState) -> None:
    """Create the store (or open an existing one) and print where it lives."""
    info = state.store().describe()
    lines = [f"BlackLake store at {info['home']}", f"  storage: {info['storage']}",
             f"  catalog: {info['catalog']}"]
    emit(state, info, lines)


@click.command("stats")
@click.argument("repo", required=False)
@json_option
@pass_state
def stats(state: CliState, repo: str | None) -> None:
    """Logical vs stored bytes and the dedup ratio, of REPO or the whole store."""
    doc = state.store().stats(repo)
    shown = {("scope" if k == "repo" else k): (v if v is not None else "whole store")
             for k, v in doc.items()}
    emit(state, doc, key_values(shown))


@click.command("gc")
@click.option("--grace", type=click.FloatRange(min=0), metavar="SECONDS",
              help="Keep packs younger than this (default: the configured gc_grace, 3600).")
@click.option("--dry-run", is_flag=True, help="Report what would be collected; change nothing.")
@json_option
@pass_state
def gc(state: CliState, grace: float | None, dry_run: bool) -> None:
    """Collect objects no branch or tag reaches, and repack sparse packs."""
    doc = state.store().gc(grace=grace, dry_run=dry_run, progress=state.progress())
    emit(state, doc, key_values(doc))


def describe_problem(problem: dict[str, Any]) -> str:
    """One line naming exactly what is wrong and where (object, pack, repo/ref/path)."""
    what = str(problem.get("problem", "problem"))
    where = [f"{key} {problem[key]}" for key in
             ("object", "kind", "repo", "ref", "path", "pack", "offset", "objects")
             if problem.get(key) is not None]
    return f"{what}: {', '.join(where)}" if where else what


@click.command("fsck")
@click.option("--rebuild", is_flag=True,
              help="First re-derive the catalog's indexes from the stored objects.")
@json_option
@pass_state
def fsck(state: CliState, rebuild: bool) -> None:
    """Verify every object's hash and every ref's history; exit non-zero on damage."""
    doc = state.store().fsck(rebuild=rebuild, progress=state.progress())
    problems = doc.get("problems") or []
    summary = f"checked {doc.get('objects_checked', 0)} objects in {doc.get('packs', 0)} packs"
    if doc.get("rebuilt"):
        summary += f" (rebuilt: {doc['rebuilt']})"
    lines = [describe_problem(p) for p in problems] if problems else [f"ok: {summary}"]
    emit(state, doc, lines)
    if not doc.get("ok", not problems):
        click.echo(f"blacklake: error: fsck found {len(problems)} problems ({summary})",
                   err=True)
        raise click.exceptions.Exit(FSCK_FAILED)


COMMANDS = [init, stats, gc, fsck]
