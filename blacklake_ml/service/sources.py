"""Extractor views (:class:`~blacklake_ml.extract.base.Source` / ``DirView``) over stored
files and trees: extractors read headers through ranged chunk reads, never whole files."""

from __future__ import annotations

import posixpath

from blacklake_ml.core.objects import TreeEntry
from blacklake_ml.service.objectdb import ObjectDB
from blacklake_ml.service.read import BlobReader
from blacklake_ml.service.trees import lookup


class StoredSource:
    """Range reads of one stored file (chunks fetched and verified on demand)."""

    def __init__(self, odb: ObjectDB, file_id: str, name: str) -> None:
        self.name = name
        self._reader = BlobReader(odb, odb.file(file_id), name)
        self.size = self._reader.size

    def read(self, start: int, end: int) -> bytes:
        start = max(0, min(start, self.size))
        end = max(start, min(end, self.size))
        self._reader.seek(start)
        return self._reader.read(end - start) or b""


class StoredDirView:
    """A stored directory (tree) as extractors see it."""

    def __init__(self, odb: ObjectDB, tree_id: str, name: str) -> None:
        self.name = name
        self._odb = odb
        self._tree_id = tree_id

    def _entry(self, relpath: str) -> TreeEntry | None:
        return lookup(self._odb, self._tree_id, relpath.strip("/"))

    def entries(self, relpath: str = "") -> list[tuple[str, str, int]]:
        e = self._entry(relpath)
        if e is None or not e.is_dir:
            return []
        return [(x.name, "d" if x.is_dir else "f", x.size) for x in self._odb.tree(e.id)]

    def open(self, relpath: str) -> StoredSource:
        e = self._entry(relpath)
        if e is None or e.is_dir:
            raise FileNotFoundError(relpath)
        return StoredSource(self._odb, e.id, posixpath.basename(relpath))
