"""File-level differences between two trees, pruned by Merkle ids."""

from __future__ import annotations

from dataclasses import dataclass, field

from blacklake_ml.catalog import PathChange
from blacklake_ml.core.names import join_path
from blacklake_ml.core.objects import DIGEST_INLINE_MAX, TreeEntry
from blacklake_ml.service.objectdb import ObjectDB
from blacklake_ml.service.trees import walk_files
from blacklake_ml.shapes import TreeDiffDoc, tree_diff_json


@dataclass
class TreeDiff:
    """Files added, removed and modified (content or metadata) from tree A to tree B."""

    added: dict[str, TreeEntry] = field(default_factory=dict)
    removed: dict[str, TreeEntry] = field(default_factory=dict)
    modified: dict[str, tuple[TreeEntry, TreeEntry]] = field(default_factory=dict)

    def path_changes(self) -> list[PathChange]:
        """The diff as catalog rows: ``A``dded, ``D``eleted, ``M``odified file paths."""
        return [PathChange(p, "A") for p in self.added] + \
            [PathChange(p, "D") for p in self.removed] + \
            [PathChange(p, "M") for p in self.modified]

    def after(self, path: str) -> TreeEntry | None:
        """The entry at ``path`` on the B side (None if removed or untouched)."""
        if path in self.added:
            return self.added[path]
        if path in self.modified:
            return self.modified[path][1]
        return None

    def paths(self) -> set[str]:
        """Every file path the diff touches."""
        return set(self.added) | set(self.removed) | set(self.modified)

    def to_json(self) -> TreeDiffDoc:
        """``{"added": [...], "removed": [...], "modified": [...]}`` sorted by path."""
        return tree_diff_json(self.added, self.removed, self.modified)


def diff_trees(odb: ObjectDB, a: str | None, b: str | None, prefix: str = "",
               out: TreeDiff | None = None) -> TreeDiff:
    """Diff tree ``a`` against tree ``b`` (None = empty), skipping equal subtrees."""
    out = out if out is not None else TreeDiff()
    if a == b:
        return out
    rows_a = odb.tree(a).rows() if a else []
    rows_b = odb.tree(b).rows() if b else []
    # Merge-walk the two sorted row lists; identical rows (same name, kind, id, meta) are
    # skipped without building entries, so a 100k-entry directory with one change is cheap.
    i = j = 0
    while i < len(rows_a) or j < len(rows_b):
        ra = rows_a[i] if i < len(rows_a) else None
        rb = rows_b[j] if j < len(rows_b) else None
        if ra is not None and rb is not None and ra[0] == rb[0]:
            i += 1
            j += 1
            if ra == rb:
                continue
            _diff_pair(odb, prefix, TreeEntry.from_row(ra), TreeEntry.from_row(rb), out)
        elif rb is None or (ra is not None and ra[0] < rb[0]):
            i += 1
            _diff_pair(odb, prefix, TreeEntry.from_row(ra), None, out)  # type: ignore[arg-type]
        else:
            j += 1
            _diff_pair(odb, prefix, None, TreeEntry.from_row(rb), out)
    return out


def _diff_pair(odb: ObjectDB, prefix: str, ea: TreeEntry | None, eb: TreeEntry | None,
               out: TreeDiff) -> None:
    """Record the difference between two entries of the same name (either may be None)."""
    name = (ea or eb).name  # type: ignore[union-attr]
    path = join_path(prefix, name)
    if ea is not None and eb is not None:
        if ea.id == eb.id and ea.kind == eb.kind and dict(ea.meta) == dict(eb.meta):
            return
        if ea.is_dir and eb.is_dir:
            diff_trees(odb, ea.id, eb.id, path, out)
            return
        if not ea.is_dir and not eb.is_dir:
            # One content can have two ids: big files stored before and after manifests
            # dropped the inline SHA-256 (only files of DIGEST_INLINE_MAX or more).
            if ea.size == eb.size >= DIGEST_INLINE_MAX and dict(ea.meta) == dict(eb.meta) \
                    and odb.file(ea.id).same_content(odb.file(eb.id)):
                return
            out.modified[path] = (ea, eb)
            return
    if ea is not None:
        if ea.is_dir:
            out.removed.update(walk_files(odb, ea.id, path))
        else:
            out.removed[path] = ea
    if eb is not None:
        if eb.is_dir:
            out.added.update(walk_files(odb, eb.id, path))
        else:
            out.added[path] = eb
