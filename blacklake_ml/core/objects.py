"""Canonical encoding of the object kinds above chunks: files, trees and commits.

Bodies are canonical JSON (orjson, sorted keys, no whitespace): deterministic, fast to encode
and decode in C even for 100k-entry trees, and readable when debugging a store. Objects are
immutable values; "changing" a tree makes a new :class:`Tree`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from blacklake_ml.core.ids import Kind, object_id
from blacklake_ml.errors import CorruptObject

_OPTS = orjson.OPT_SORT_KEYS


#: orjson's output is a bytes object over a buffer of at least 4 KiB, whatever its length;
#: bodies shorter than this are copied to their own size, because a put keeps one body per
#: small file until it is packed (100k small files: 390 MiB of slack, not 20 MiB of bodies)
_SHRINK_BELOW = 2048


def _dumps(value: Any) -> bytes:
    out = orjson.dumps(value, option=_OPTS)
    return memoryview(out).tobytes() if len(out) < _SHRINK_BELOW else out


def _loads(kind: Kind, body: bytes | memoryview) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise CorruptObject(f"{kind.value} object does not decode: {exc}") from None


# -- files ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileManifest:
    """A file: its size, ordered ``(chunk_id, length)`` list and, for files below
    :data:`DIGEST_INLINE_MAX`, its whole-file SHA-256.

    The chunk ids already verify every byte, so a second full hash pass over a big file
    would only serve interop (Git LFS / Hugging Face oids). Big files are therefore stored
    without it (body version 2): their SHA-256 is computed when first asked for and cached
    in the catalog (:meth:`blacklake_ml.service.repo.Repo.digests`). Small files keep it
    inline (version 1): hashing 4 KiB while it is in cache costs nothing.
    """

    size: int
    sha256: str | None
    chunks: tuple[tuple[str, int], ...]

    def encode(self) -> bytes:
        """Canonical body bytes."""
        if self.sha256 is None:
            return _dumps({"v": 2, "size": self.size, "chunks": [list(c) for c in self.chunks]})
        return _dumps({"v": 1, "size": self.size, "sha256": self.sha256,
                       "chunks": [list(c) for c in self.chunks]})

    @property
    def id(self) -> str:
        """The file object id."""
        return object_id(Kind.FILE, self.encode())

    def same_content(self, other: FileManifest) -> bool:
        """True if both describe the same bytes (the same chunks), whatever their versions:
        a file stored before and after the format change has two ids for one content."""
        return self.size == other.size and self.chunks == other.chunks

    @classmethod
    def decode(cls, body: bytes | memoryview) -> FileManifest:
        """Parse a body produced by :meth:`encode`."""
        d = _loads(Kind.FILE, body)
        try:
            chunks = tuple((c[0], int(c[1])) for c in d["chunks"])
            version = d.get("v")
            if version == 1:
                sha256: str | None = str(d["sha256"])
            elif version == 2 and "sha256" not in d:
                sha256 = None
            else:
                raise ValueError(f"unknown file object version {version!r}")
            m = cls(size=int(d["size"]), sha256=sha256, chunks=chunks)
        except (KeyError, TypeError, IndexError, ValueError, AttributeError) as exc:
            raise CorruptObject(f"file object is malformed: {exc}") from None
        if sum(n for _, n in chunks) != m.size:
            raise CorruptObject("file object is malformed: chunk lengths do not add up to size")
        return m


#: files at least this large are stored without an inline SHA-256 (the ingest's large-file
#: path; see :class:`FileManifest`)
DIGEST_INLINE_MAX = 8 * 1024 * 1024


# -- trees ----------------------------------------------------------------------------------
FILE = "file"
DIR = "dir"
_KIND_TO_CODE = {FILE: "f", DIR: "d"}
_CODE_TO_KIND = {"f": FILE, "d": DIR}


@dataclass(frozen=True)
class TreeEntry:
    """One name in a directory.

    ``id`` is a file object id (kind ``file``) or a tree id (kind ``dir``); ``size`` and
    ``nfiles`` are totals over the subtree for directories, so the root entry answers "how
    big is this commit" without a walk. ``meta`` is per-file user metadata.
    """

    name: str
    kind: str
    id: str
    size: int
    nfiles: int = 1
    meta: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_dir(self) -> bool:
        """True for a directory entry."""
        return self.kind == DIR

    def row(self) -> list[Any]:
        """The compact row stored in the tree body."""
        return [self.name, _KIND_TO_CODE[self.kind], self.id, self.size, self.nfiles,
                dict(self.meta) if self.meta else None]

    @classmethod
    def from_row(cls, row: list[Any]) -> TreeEntry:
        """Inverse of :meth:`row`."""
        return cls(row[0], _CODE_TO_KIND[row[1]], row[2], row[3], row[4], row[5] or {})


class Tree:
    """A directory: entries sorted by name (byte order of UTF-8, as Python sorts str)."""

    __slots__ = ("_names", "_rows")

    def __init__(self, rows: list[list[Any]] | None = None) -> None:
        self._rows: list[list[Any]] = rows if rows is not None else []
        self._names: list[str] = [r[0] for r in self._rows]

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[TreeEntry]:
        return (TreeEntry.from_row(r) for r in self._rows)

    def rows(self) -> list[list[Any]]:
        """The raw rows (read-only by convention): cheap equality checks for diffs."""
        return self._rows

    def get(self, name: str) -> TreeEntry | None:
        """The entry called ``name`` or None."""
        i = bisect.bisect_left(self._names, name)
        if i < len(self._names) and self._names[i] == name:
            return TreeEntry.from_row(self._rows[i])
        return None

    def with_changes(self, changes: Mapping[str, TreeEntry | None]) -> Tree:
        """A new tree with entries set (TreeEntry) or removed (None) by name."""
        if not changes:
            return self
        if len(changes) > 64:
            merged = {r[0]: r for r in self._rows}
            for name, entry in changes.items():
                if entry is None:
                    merged.pop(name, None)
                else:
                    merged[name] = entry.row()
            return Tree(sorted(merged.values(), key=lambda r: r[0]))
        rows = list(self._rows)
        names = list(self._names)
        for name, entry in changes.items():
            i = bisect.bisect_left(names, name)
            exists = i < len(names) and names[i] == name
            if entry is None:
                if exists:
                    del rows[i]
                    del names[i]
            elif exists:
                rows[i] = entry.row()
            else:
                rows.insert(i, entry.row())
                names.insert(i, name)
        return Tree(rows)

    @property
    def size(self) -> int:
        """Total logical bytes below this tree."""
        return sum(r[3] for r in self._rows)

    @property
    def nfiles(self) -> int:
        """Total files below this tree."""
        return sum(r[4] for r in self._rows)

    def encode(self) -> bytes:
        """Canonical body bytes."""
        return _dumps(self._rows)

    @property
    def id(self) -> str:
        """The tree id."""
        return object_id(Kind.TREE, self.encode())

    @classmethod
    def decode(cls, body: bytes | memoryview) -> Tree:
        """Parse a body produced by :meth:`encode`."""
        rows = _loads(Kind.TREE, body)
        if not isinstance(rows, list) or any(
            not isinstance(r, list) or len(r) != 6 or r[1] not in _CODE_TO_KIND for r in rows
        ):
            raise CorruptObject("tree object is malformed")
        return cls(rows)


EMPTY_TREE = Tree()


# -- commits --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Commit:
    """A snapshot: root tree, parents (first = the branch it was made on), who, when, why."""

    tree: str
    parents: tuple[str, ...]
    author: str
    committer: str
    time: str
    message: str
    meta: Mapping[str, str] = field(default_factory=dict)
    #: Logical size and file count of the whole snapshot (copied from the root tree).
    size: int = 0
    nfiles: int = 0

    def encode(self) -> bytes:
        """Canonical body bytes."""
        return _dumps({
            "v": 1, "tree": self.tree, "parents": list(self.parents), "author": self.author,
            "committer": self.committer, "time": self.time, "message": self.message,
            "meta": dict(self.meta), "size": self.size, "nfiles": self.nfiles,
        })

    @property
    def id(self) -> str:
        """The commit id."""
        return object_id(Kind.COMMIT, self.encode())

    @classmethod
    def decode(cls, body: bytes | memoryview) -> Commit:
        """Parse a body produced by :meth:`encode`."""
        d = _loads(Kind.COMMIT, body)
        try:
            return cls(tree=d["tree"], parents=tuple(d["parents"]), author=d["author"],
                       committer=d["committer"], time=d["time"], message=d["message"],
                       meta=d.get("meta") or {}, size=d.get("size", 0),
                       nfiles=d.get("nfiles", 0))
        except (KeyError, TypeError) as exc:
            raise CorruptObject(f"commit object is malformed: {exc}") from None
