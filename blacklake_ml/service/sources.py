"""Extractor views (:class:`~blacklake_ml.extract.base.Source` / ``DirView``) over stored
files and trees: extractors read headers through ranged chunk reads, never whole files."""

from __future__ import annotations

import posixpath

from blacklake_ml.core.objects import TreeEntry
from blacklake_ml.service.objectdb import ObjectDB
from blacklake_ml.service.read import BlobReader
from blacklake_ml.service.trees import lookup

#: files up to this size are fetched whole on the first read (one verified chunk read instead
#: of one per header probe: a folder of 10,000 small files that look like models)
WHOLE_BELOW = 64 * 1024


class StoredSource:
    """Range reads of one stored file (chunks fetched and verified on demand)."""

    def __init__(self, odb: ObjectDB, file_id: str, name: str) -> None:
        self.name = name
        self._odb = odb
        self._manifest = odb.file(file_id)
        self.size = self._manifest.size
        self._reader: BlobReader | None = None
        self._whole: bytes | None = None

    def read(self, start: int, end: int) -> bytes:
        start = max(0, min(start, self.size))
        end = max(start, min(end, self.size))
        if self.size <= WHOLE_BELOW:
            if self._whole is None:
                self._whole = self._odb.read_file(self._manifest)
            return self._whole[start:end]
        if self._reader is None:
            self._reader = BlobReader(self._odb, self._manifest, self.name)
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
