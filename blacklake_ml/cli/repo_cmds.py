"""``repo create|list|delete``."""

from __future__ import annotations

import click

from blacklake_ml.cli.output import emit, table
from blacklake_ml.cli.state import CliState, json_option, pass_state, stdin_is_tty
from blacklake_ml.shapes import repo_json


@click.group("repo")
def repo() -> None:
    """Create, list and delete repositories."""


@repo.command("create")
@click.argument("name")
@click.option("--description", default="", metavar="TEXT", help="Free-text description.")
@click.option("--max-bytes", type=click.IntRange(min=0), metavar="N",
              help="Quota: largest logical size of any commit, in bytes.")
@click.option("--max-files", type=click.IntRange(min=0), metavar="N",
              help="Quota: most files in any commit.")
@json_option
@pass_state
def create(state: CliState, name: str, description: str, max_bytes: int | None,
           max_files: int | None) -> None:
    """Create repository NAME with a branch 'main' at an empty commit."""
    store = state.store()
    store.create_repo(name, description, max_bytes=max_bytes, max_files=max_files)
    emit(state, repo_json(store.catalog.get_repo(name)), [f"created repository {name}"])


@repo.command("list")
@json_option
@pass_state
def list_(state: CliState) -> None:
    """List repositories."""
    docs = [repo_json(r) for r in state.store().list_repos()]
    if state.json:
        emit(state, docs)
        return
    table(["name", "description"], [[d["name"], d["description"]] for d in docs])


@repo.command("delete")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
@pass_state
def delete(state: CliState, name: str, yes: bool) -> None:
    """Delete repository NAME with its branches and tags (gc reclaims the space)."""
    store = state.store()
    store.repo(name)  # fail on a bad or unknown name before asking anything
    # Ask only a person at a terminal; scripts (stdin not a TTY) delete directly.
    question = f"Delete repository {name!r} with all its branches and tags?"
    if not yes and stdin_is_tty() and not click.confirm(question, err=True):
        click.echo(f"blacklake: cancelled; repository {name} was not deleted", err=True)
        raise click.exceptions.Exit(1)
    store.delete_repo(name)
    emit(state, {"deleted": name}, [f"deleted repository {name}"])


COMMANDS = [repo]
