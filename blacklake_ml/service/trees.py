"""Editing and walking Merkle trees.

A change set maps canonical paths to a new :class:`TreeEntry` (put) or ``None`` (delete, of
a file or a whole directory). Applying it rewrites only the trees on the paths to the changed
entries; every untouched subtree keeps its id, so committing one file in a 100k-file
repository writes a handful of small objects.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from blacklake_ml.core.ids import Kind, object_id
from blacklake_ml.core.names import join_path
from blacklake_ml.core.objects import DIR, FILE, Tree, TreeEntry
from blacklake_ml.errors import InvalidPath, PathNotFound
from blacklake_ml.service.objectdb import EMPTY_TREE_ID, ObjectDB
from blacklake_ml.service.packs import PackWriter


@dataclass(frozen=True)
class Root:
    """A root tree with its totals."""

    id: str
    size: int
    nfiles: int


def _nest(changes: Mapping[str, TreeEntry | None]) -> dict[str, Any]:
    """``{"a/b": e}`` -> ``{"a": {"b": e}}``; a leaf is a TreeEntry, or None for delete."""
    root: dict[str, Any] = {}
    for path, entry in changes.items():
        parts = path.split("/")
        node = root
        for part in parts[:-1]:
            child = node.get(part)
            if child is None or isinstance(child, TreeEntry):
                if isinstance(child, TreeEntry):
                    raise InvalidPath(f"cannot put both {part!r} and paths below it")
                child = node[part] = {}
            node = child
        leaf = parts[-1]
        if isinstance(node.get(leaf), dict):
            raise InvalidPath(f"cannot put both {path!r} and paths below it")
        node[leaf] = entry
    return root


class TreeBuilder:
    """Applies change sets to trees, writing new tree objects to a :class:`PackWriter`."""

    def __init__(self, odb: ObjectDB, writer: PackWriter) -> None:
        self.odb = odb
        self.writer = writer
        #: tree objects this builder wrote
        self.written: list[str] = []

    def apply(self, root_id: str, changes: Mapping[str, TreeEntry | None], *,
              missing_ok: bool = False) -> Root:
        """Apply ``changes`` to the tree ``root_id``; returns the new root.

        Deleting a path that does not exist raises :class:`PathNotFound` unless
        ``missing_ok``; putting a file where a directory is (or below a file) raises
        :class:`InvalidPath`.
        """
        new = self._apply(root_id, _nest(changes), "", missing_ok)
        if new is None:
            return Root(EMPTY_TREE_ID, 0, 0)
        return Root(new.id, new.size, new.nfiles)

    def _write(self, tree: Tree) -> str:
        body = tree.encode()

        oid = object_id(Kind.TREE, body)
        if oid != EMPTY_TREE_ID:
            self.writer.add(Kind.TREE, oid, body)
            self.written.append(oid)
            self.odb.remember_tree(tree, oid)
        return oid

    def _apply(self, tree_id: str | None, nested: dict[str, Any], prefix: str,
               missing_ok: bool) -> TreeEntry | None:
        tree = self.odb.tree(tree_id) if tree_id else Tree()
        updates: dict[str, TreeEntry | None] = {}
        for name, change in nested.items():
            path = join_path(prefix, name)
            current = tree.get(name)
            if isinstance(change, dict):
                if current is not None and not current.is_dir:
                    raise InvalidPath(f"cannot write below {path!r}: it is a file")
                sub = self._apply(current.id if current else None, change, path, missing_ok)
                if sub is None and current is None:
                    continue
                updates[name] = None if sub is None else TreeEntry(
                    name, DIR, sub.id, sub.size, sub.nfiles)
            elif change is None:
                if current is None:
                    if missing_ok:
                        continue
                    raise PathNotFound(f"no such path: {path}")
                updates[name] = None
            else:
                if current is not None and current.is_dir and change.kind == FILE:
                    raise InvalidPath(f"cannot put a file at {path!r}: it is a directory")
                updates[name] = TreeEntry(name, change.kind, change.id, change.size,
                                          change.nfiles, change.meta)
        # What the new tree points at that its predecessor did not: unchanged entries are
        # reachable from the parent commit, which the ref's compare-and-swap protects.
        self.writer.referenced.update(e.id for e in updates.values() if e is not None)
        new = tree.with_changes(updates)
        if len(new) == 0:
            return None
        if new is tree and tree_id:
            return TreeEntry(prefix.rsplit("/", 1)[-1], DIR, tree_id, tree.size, tree.nfiles)
        oid = self._write(new)
        return TreeEntry(prefix.rsplit("/", 1)[-1], DIR, oid, new.size, new.nfiles)


def lookup(odb: ObjectDB, root_id: str, path: str) -> TreeEntry | None:
    """The entry at ``path`` below ``root_id`` ('' gives a synthetic root entry), or None."""
    root = odb.tree(root_id)
    if not path:
        return TreeEntry("", DIR, root_id, root.size, root.nfiles)
    tree = root
    parts = path.split("/")
    for i, part in enumerate(parts):
        entry = tree.get(part)
        if entry is None:
            return None
        if i == len(parts) - 1:
            return entry
        if not entry.is_dir:
            return None
        tree = odb.tree(entry.id)
    return None


def walk_files(odb: ObjectDB, tree_id: str, prefix: str = "") -> Iterator[tuple[str, TreeEntry]]:
    """Every file below ``tree_id`` as ``(path, entry)``, depth-first in name order."""
    for entry in odb.tree(tree_id):
        path = join_path(prefix, entry.name)
        if entry.is_dir:
            yield from walk_files(odb, entry.id, path)
        else:
            yield path, entry
