"""Moving data in and out: ``put``, ``get``, ``rm``, ``checkout`` and ``ls``."""

from __future__ import annotations

import os
from typing import Any

import click

from blacklake_ml.cli.args import at_ref, parse_meta, parse_uri, put_destination
from blacklake_ml.cli.output import emit, human_size, model_warnings, note, table
from blacklake_ml.cli.state import CliState, json_option, pass_state

META_HELP = "metadata KEY=VALUE (repeatable)."


def _commit_lines(state: CliState, result: Any, branch: str) -> list[str]:
    if not result.created:
        note(state, f"nothing changed: {branch} already has this content")
    return [result.commit]


@click.command("put")
@click.argument("local", type=click.Path(path_type=str))
@click.argument("uri")
@click.option("-m", "--message", required=True, help="Commit message.")
@click.option("--meta", multiple=True, metavar="K=V", help="File " + META_HELP)
@click.option("--commit-meta", multiple=True, metavar="K=V", help="Commit " + META_HELP)
@click.option("--follow-symlinks", is_flag=True,
              help="Store what symlinks pointing outside LOCAL point to (refused by default).")
@json_option
@pass_state
def put(state: CliState, local: str, uri: str, message: str, meta: tuple[str, ...],
        commit_meta: tuple[str, ...], follow_symlinks: bool) -> None:
    """Commit LOCAL (a file, or a directory's contents) at URI, whose ref is a branch.

    A file goes to the URI path itself, or below it under its own name when the path is
    the root, ends with '/', or is an existing directory. In a directory, symlinks that
    stay inside it are stored as their targets' contents; one leading outside is an error
    (nothing is committed) unless --follow-symlinks is given.
    """
    from blacklake_ml.core.names import validate_message
    from blacklake_ml.errors import PathNotFound

    # Validate everything before touching the store, so bad input changes nothing.
    target = parse_uri(uri)
    file_meta, cmeta = parse_meta(meta), parse_meta(commit_meta)
    validate_message(message)
    if not os.path.exists(local):
        raise PathNotFound(f"no such file or directory: {local}")
    repo = state.store().repo(target.repo)
    result = repo.put(local, put_destination(uri, target), branch=target.ref, message=message,
                      meta=file_meta, commit_meta=cmeta, progress=state.progress(),
                      follow_symlinks=follow_symlinks)
    emit(state, result.to_json(), _commit_lines(state, result, target.ref))


@click.command("get")
@click.argument("uri")
@click.option("-o", "--output", "out", type=click.Path(path_type=str), metavar="OUT",
              help="Where to write (default: the URI's last path segment, or the repo name).")
@json_option
@pass_state
def get(state: CliState, uri: str, out: str | None) -> None:
    """Copy the file or directory at URI to local disk."""
    src = parse_uri(uri)
    repo = state.store().repo(src.repo)
    commit = repo.resolve(src.ref)  # read one commit even if the branch moves meanwhile
    with at_ref(src, commit):
        entry = repo.entry(commit, src.path)
    out = out or (src.path.rsplit("/", 1)[-1] if src.path else src.repo)
    written_to = out
    if not entry.is_dir and os.path.isdir(out):
        written_to = os.path.join(out, src.path.rsplit("/", 1)[-1])
    with model_warnings():
        nbytes = repo.get(commit, src.path, out, progress=state.progress())
    doc = {"uri": uri, "commit": commit, "kind": entry.kind,
           "output": os.path.abspath(written_to), "bytes": nbytes}
    emit(state, doc, [f"wrote {human_size(nbytes)} to {written_to}"])


@click.command("rm")
@click.argument("uri")
@click.option("-m", "--message", required=True, help="Commit message.")
@json_option
@pass_state
def rm(state: CliState, uri: str, message: str) -> None:
    """Commit the removal of the file or directory at URI (its ref is a branch)."""
    from blacklake_ml.core.names import normalize_path, validate_message

    target = parse_uri(uri)
    normalize_path(target.path, allow_root=False)
    validate_message(message)
    repo = state.store().repo(target.repo)
    result = repo.rm(target.path, branch=target.ref, message=message)
    emit(state, result.to_json(), _commit_lines(state, result, target.ref))


@click.command("checkout")
@click.argument("uri")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, path_type=str))
@click.option("--force", is_flag=True, help="Write into DIR even if it is not empty.")
@json_option
@pass_state
def checkout(state: CliState, uri: str, directory: str, force: bool) -> None:
    """Write the tree at URI (its path selects a subdirectory) into DIR."""
    src = parse_uri(uri)
    repo = state.store().repo(src.repo)
    commit = repo.resolve(src.ref)
    with model_warnings(), at_ref(src, commit):
        nbytes = repo.checkout(commit, directory, path=src.path, force=force,
                               progress=state.progress())
    doc = {"uri": uri, "commit": commit, "path": src.path,
           "directory": os.path.abspath(directory), "bytes": nbytes}
    emit(state, doc, [f"checked out {commit[:12]} ({human_size(nbytes)}) into {directory}"])


@click.command("ls")
@click.argument("uri")
@click.option("-r", "--recursive", is_flag=True, help="List every file below the path.")
@json_option
@pass_state
def ls(state: CliState, uri: str, recursive: bool) -> None:
    """List the directory (or show the file) at URI."""
    src = parse_uri(uri)
    entries = state.store().repo(src.repo).ls(src.ref, src.path, recursive=recursive)
    if state.json:
        emit(state, entries)
        return
    rows = [[e["kind"], str(e["size"]), e["path"] + ("/" if e["kind"] == "dir" else ""),
             " ".join(f"{k}={v}" for k, v in sorted(e["meta"].items()))] for e in entries]
    table(["kind", "size", "path", "meta"], rows)


COMMANDS = [put, get, rm, checkout, ls]
