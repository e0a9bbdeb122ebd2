"""Branches and tags: ``branch create|list|delete`` and ``tag create|list|delete``."""

from __future__ import annotations

import click

from blacklake_ml.cli.output import emit, table
from blacklake_ml.cli.state import CliState, json_option, pass_state
from blacklake_ml.shapes import ref_json


def _list(state: CliState, repo_name: str, kind: str) -> None:
    repo = state.store().repo(repo_name)
    refs = repo.branches() if kind == "branch" else repo.tags()
    docs = [ref_json(r) for r in refs]
    if state.json:
        emit(state, docs)
        return
    table(["name", "commit"], [[d["name"], d["commit"][:12]] for d in docs])


@click.group("branch")
def branch() -> None:
    """Create, list and delete branches."""


@branch.command("create")
@click.argument("repo")
@click.argument("name")
@click.option("--from", "from_ref", default="main", show_default=True, metavar="REF",
              help="Branch, tag or commit to start at.")
@json_option
@pass_state
def branch_create(state: CliState, repo: str, name: str, from_ref: str) -> None:
    """Create branch NAME in REPO."""
    row = state.store().repo(repo).create_branch(name, from_ref)
    emit(state, ref_json(row), [f"created branch {name} at {row.commit[:12]}"])


@branch.command("list")
@click.argument("repo")
@json_option
@pass_state
def branch_list(state: CliState, repo: str) -> None:
    """List the branches of REPO."""
    _list(state, repo, "branch")


@branch.command("delete")
@click.argument("repo")
@click.argument("name")
@json_option
@pass_state
def branch_delete(state: CliState, repo: str, name: str) -> None:
    """Delete branch NAME of REPO (its commits go at gc unless reachable otherwise)."""
    state.store().repo(repo).delete_branch(name)
    emit(state, {"deleted": name, "kind": "branch"}, [f"deleted branch {name}"])


@click.group("tag")
def tag() -> None:
    """Create, list and delete tags."""


@tag.command("create")
@click.argument("repo")
@click.argument("name")
@click.argument("ref")
@json_option
@pass_state
def tag_create(state: CliState, repo: str, name: str, ref: str) -> None:
    """Tag the commit REF resolves to as NAME in REPO."""
    row = state.store().repo(repo).create_tag(name, ref)
    emit(state, ref_json(row), [f"created tag {name} at {row.commit[:12]}"])


@tag.command("list")
@click.argument("repo")
@json_option
@pass_state
def tag_list(state: CliState, repo: str) -> None:
    """List the tags of REPO."""
    _list(state, repo, "tag")


@tag.command("delete")
@click.argument("repo")
@click.argument("name")
@json_option
@pass_state
def tag_delete(state: CliState, repo: str, name: str) -> None:
    """Delete tag NAME of REPO."""
    state.store().repo(repo).delete_tag(name)
    emit(state, {"deleted": name, "kind": "tag"}, [f"deleted tag {name}"])


COMMANDS = [branch, tag]
