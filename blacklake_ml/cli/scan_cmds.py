"""``blacklake scan``: would loading these files run code?"""

from __future__ import annotations

import sys
from typing import Any

import click

from blacklake_ml.cli.args import at_ref, parse_uri
from blacklake_ml.cli.output import emit, note, printable
from blacklake_ml.cli.state import CliState, json_option, pass_state
from blacklake_ml.errors import PathNotFound

#: exit code when any file is not ``safe`` (bad input, not found, … keep their own codes)
EXIT_NOT_SAFE = 1


def _stored(state: CliState, uri: str) -> list[dict[str, Any]]:
    src = parse_uri(uri)
    repo = state.store().repo(src.repo)
    commit = repo.resolve(src.ref)
    with at_ref(src, commit):
        entries = repo.ls(commit, src.path, recursive=True)
    base = f"blacklake://{src.repo}/{src.ref}/"
    out = []
    for e in entries:
        if e["kind"] != "file":
            continue
        doc = repo.safety(commit, e["path"])
        out.append({"path": base + e["path"], "verdict": doc["verdict"],
                    "format": doc["format"], "reasons": doc["reasons"]})
    return out


@click.command("scan")
@click.argument("targets", nargs=-1, required=True, metavar="PATH_OR_URI...")
@json_option
@pass_state
def scan(state: CliState, targets: tuple[str, ...]) -> None:
    """Say, per file, whether loading it could run code: safe, unsafe (with reasons) or
    unknown (the scanner could not vouch for it). Folders and blacklake:// folders are
    scanned file by file; nothing is ever loaded. Exits 0 only when every file is safe.
    """
    from blacklake_ml.scan import SAFE, scan_paths, worst

    files: list[dict[str, Any]] = []
    for target in targets:
        if target.startswith("blacklake://"):
            files += _stored(state, target)
            continue
        try:
            found = scan_paths([target])
        except FileNotFoundError:
            raise PathNotFound(f"no such file or folder: {target}") from None
        files += [v.to_json(p) for p, v in found]
    verdict = worst(*(f["verdict"] for f in files)) if files else SAFE
    doc = {"verdict": verdict, "files": files}
    if not files:
        note(state, "no files to scan")
    lines = []
    for f in files:
        reason = f["reasons"][0] if f["reasons"] else ""
        more = f" (+{len(f['reasons']) - 1} more)" if len(f["reasons"]) > 1 else ""
        lines.append((f["verdict"], f["format"], printable(f["path"]),
                      printable(reason) + more))
    emit(state, doc, lines)
    if not state.json and files:
        counts = {v: sum(1 for f in files if f["verdict"] == v)
                  for v in ("safe", "unsafe", "unknown")}
        click.echo(f"{verdict}: {counts['safe']} safe, {counts['unsafe']} unsafe, "
                   f"{counts['unknown']} unknown", err=True)
    if verdict != SAFE:
        sys.exit(EXIT_NOT_SAFE)




COMMANDS = [scan]
