"""Combining histories: ``merge``, ``cherry-pick`` and ``revert``.

Conflicts raise :class:`~blacklake_ml.errors.MergeConflict`; the error handler in
:mod:`blacklake_ml.cli.main` prints the conflicting paths (and ``{"conflicts": [...]}`` on
stdout with ``--json``).
"""

from __future__ import annotations

from typing import Any

import click

from blacklake_ml.cli.args import parse_strategy
from blacklake_ml.cli.output import emit, note
from blacklake_ml.cli.state import CliState, json_option, pass_state
from blacklake_ml.shapes import merge_result_json


def _report(state: CliState, result: Any, branch: str, nothing: str,
            **extra: Any) -> None:
    if result.fast_forward:
        note(state, f"fast-forwarded {branch} to {result.commit[:12]}")
    elif not result.created:
        note(state, nothing.format(branch=branch))
    doc = {**merge_result_json(result), **extra}
    emit(state, doc, [result.commit])


@click.command("merge")
@click.argument("repo")
@click.argument("source")
@click.argument("target")
@click.option("-m", "--message", help="Merge commit message.")
@click.option("--strategy", "strategies", multiple=True, metavar="[GLOB=]ours|theirs",
              help="Resolve conflicts with one side, for all paths or those matching GLOB "
                   "(repeatable).")
@click.option("--no-ff", is_flag=True, help="Create a merge commit even if a fast-forward "
                                            "would do.")
@json_option
@pass_state
def merge(state: CliState, repo: str, source: str, target: str, message: str | None,
          strategies: tuple[str, ...], no_ff: bool) -> None:
    """Merge SOURCE (any ref) into branch TARGET of REPO."""
    from blacklake_ml.core.names import validate_message

    strategy = parse_strategy(strategies)
    # An explicit -m must be a real message (the service would silently replace "").
    msg = validate_message(message) if message is not None else f"Merge {source} into {target}"
    handle = state.store().repo(repo)
    source_id = handle.resolve(source)
    result = handle.merge(source_id, target, message=msg, strategy=strategy, no_ff=no_ff)
    _report(state, result, target, "already up to date: {branch} contains " + source)


@click.command("cherry-pick")
@click.argument("repo")
@click.argument("commit")
@click.argument("target")
@json_option
@pass_state
def cherry_pick(state: CliState, repo: str, commit: str, target: str) -> None:
    """Apply the change COMMIT made onto branch TARGET of REPO."""
    result = state.store().repo(repo).cherry_pick(commit, target)
    _report(state, result, target, "nothing changed: {branch} already has this change")


@click.command("revert")
@click.argument("repo")
@click.argument("commit")
@click.argument("branch")
@json_option
@pass_state
def revert(state: CliState, repo: str, commit: str, branch: str) -> None:
    """Commit the inverse of COMMIT's change onto BRANCH of REPO."""
    result = state.store().repo(repo).revert(commit, branch)
    _report(state, result, branch, "nothing changed: {branch} does not have this change")


COMMANDS = [merge, cherry_pick, revert]
