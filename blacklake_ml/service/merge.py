"""Three-way merges of trees (the merge, cherry-pick and revert verbs of ``Repo`` use them).

Like dulwich's ``three_way_merge(object_store, ...)``: only the object reader is needed; new
trees go to the caller's ``PackWriter``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass

from blacklake_ml.core.names import overlapping
from blacklake_ml.core.objects import TreeEntry
from blacklake_ml.errors import InvalidInput, MergeConflict
from blacklake_ml.service.diff import diff_trees
from blacklake_ml.service.objectdb import ObjectDB
from blacklake_ml.service.packs import PackWriter
from blacklake_ml.service.trees import Root, TreeBuilder

STRATEGIES = ("ours", "theirs")
Strategy = str | Mapping[str, str] | None


def check_strategy(strategy: Strategy) -> Strategy:
    """Validate a strategy: None, ``"ours"``/``"theirs"``, or ``{glob: "ours"|"theirs"}``."""
    if strategy is None:
        return None
    if isinstance(strategy, str):
        if strategy not in STRATEGIES:
            raise InvalidInput(f"unknown merge strategy {strategy!r}: use ours or theirs")
        return strategy
    for pattern, choice in strategy.items():
        if choice not in STRATEGIES:
            raise InvalidInput(f"unknown merge strategy {choice!r} for {pattern!r}")
    return dict(strategy)


def _choice(strategy: Strategy, path: str) -> str | None:
    if strategy is None or isinstance(strategy, str):
        return strategy
    for pattern, choice in strategy.items():
        if fnmatch.fnmatchcase(path, pattern) or path.startswith(pattern.rstrip("/") + "/"):
            return choice
    return None


def _state(e: TreeEntry | None) -> tuple[str, dict[str, str]] | None:
    return None if e is None else (e.id, dict(e.meta))


@dataclass
class MergeOutcome:
    """The merged root and which conflicting paths a strategy resolved."""

    root: Root
    resolved: list[str]


def three_way(odb: ObjectDB, base: str | None, ours: str, theirs: str, *, writer: PackWriter,
              strategy: Strategy = None) -> MergeOutcome:
    """Merge tree ``theirs`` into tree ``ours`` relative to tree ``base``.

    File-level: a path changed on one side takes that side; changed on both to the same
    state is fine; changed differently is a conflict unless ``strategy`` picks a side.
    A file on one side where the other made a directory is always a conflict.
    """
    d_ours = diff_trees(odb, base, ours)
    d_theirs = diff_trees(odb, base, theirs)

    ours_paths, theirs_paths = d_ours.paths(), d_theirs.paths()
    changes: dict[str, TreeEntry | None] = {}
    conflicts: list[str] = []
    resolved: list[str] = []
    for path in sorted(theirs_paths):
        t_entry = d_theirs.after(path)
        if path in ours_paths:
            if _state(d_ours.after(path)) == _state(t_entry):
                continue
            choice = _choice(strategy, path)
            if choice is None:
                conflicts.append(path)
                continue
            resolved.append(path)
            if choice == "ours":
                continue
        changes[path] = t_entry
    # file <-> directory clashes between the two sides
    clash = overlapping(ours_paths - theirs_paths, theirs_paths - ours_paths)
    conflicts.extend(sorted(clash))
    if conflicts:
        raise MergeConflict(f"{len(set(conflicts))} conflicting paths: "
                            f"{', '.join(sorted(set(conflicts))[:10])}", conflicts)
    root = TreeBuilder(odb, writer).apply(ours, changes, missing_ok=True)
    return MergeOutcome(root, resolved)
