"""Reading out of a commit: file-like access, ``get`` and ``checkout`` to local disk.

Local writes never leave the target directory: every name is validated again on the way
out, parent directories are created without following symlinks planted in the target, and
files are written to a temp name and renamed into place.
"""

from __future__ import annotations

import bisect
import io
import os
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from blacklake_ml.core.names import normalize_path
from blacklake_ml.core.objects import FileManifest, TreeEntry
from blacklake_ml.core.progress import NULL_PROGRESS, Progress
from blacklake_ml.errors import DirectoryNotEmpty, InvalidPath
from blacklake_ml.service.objectdb import ObjectDB
from blacklake_ml.service.trees import walk_files


class BlobReader(io.RawIOBase):
    """A seekable, read-only binary file over a stored file (chunks fetched on demand)."""

    def __init__(self, odb: ObjectDB, manifest: FileManifest, name: str = "") -> None:
        super().__init__()
        self._odb = odb
        self._m = manifest
        self.name = name
        self._starts: list[int] = []
        pos = 0
        for _, n in manifest.chunks:
            self._starts.append(pos)
            pos += n
        self._pos = 0
        self._cached: tuple[int, bytes] | None = None

    @property
    def size(self) -> int:
        """File size in bytes."""
        return self._m.size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._m.size}[whence]
        pos = base + offset
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def _chunk(self, i: int) -> bytes:
        if self._cached is None or self._cached[0] != i:
            self._cached = (i, self._odb.chunk(self._m.chunks[i][0]))
        return self._cached[1]

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        out = memoryview(b).cast("B")
        done = 0
        while done < len(out) and self._pos < self._m.size:
            i = bisect.bisect_right(self._starts, self._pos) - 1
            data = self._chunk(i)
            off = self._pos - self._starts[i]
            n = min(len(data) - off, len(out) - done)
            out[done:done + n] = data[off:off + n]
            done += n
            self._pos += n
        return done

    def readall(self) -> bytes:
        if self._pos == 0:
            self._pos = self._m.size
            return self._odb.read_file(self._m)
        return super().readall()


def _ensure_dirs(root: Path, parts: list[str], made: set[Path]) -> Path:
    """Create ``root/parts...`` one level at a time, refusing to pass through symlinks
    (a link planted in the target must not redirect writes outside it)."""
    cur = root
    for part in parts:
        cur = cur / part
        if cur in made:
            continue
        if cur.is_symlink():
            raise InvalidPath(f"refusing to write through the symlink {cur}")
        if not cur.exists():
            os.mkdir(cur)
        elif not cur.is_dir():
            raise InvalidPath(f"{cur} exists and is not a directory")
        made.add(cur)
    return cur


def write_file(odb: ObjectDB, manifest: FileManifest, target: Path,
               progress: Progress = NULL_PROGRESS) -> None:
    """Write a stored file to ``target`` atomically (temp name + rename)."""
    # The temp name does not embed the target's: a 255-byte name (the segment limit) plus
    # a suffix would exceed what the filesystem accepts for one name.
    tmp = target.with_name(f".blacklake-{uuid.uuid4().hex}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, 0o644)
    try:
        with os.fdopen(fd, "wb", buffering=0) as f:
            threads = 2 if manifest.size > 8 * 1024 * 1024 else 1
            if not odb.copy_local(manifest, f.fileno(), threads=threads, progress=progress):
                for piece in odb.iter_file(manifest, threads=threads):
                    f.write(piece)
                    progress.advance(len(piece))
        if target.is_symlink():
            target.unlink()
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def export_tree(odb: ObjectDB, files: Iterable[tuple[str, TreeEntry]], dest: Path,
                progress: Progress = NULL_PROGRESS) -> int:
    """Write ``(relative path, entry)`` files below ``dest``; returns bytes written."""
    root = Path(os.path.realpath(dest))
    root.mkdir(parents=True, exist_ok=True)
    items = list(files)
    total = sum(e.size for _, e in items)
    progress.start(total, "B", f"writing {len(items)} files")
    odb.prefetch_files(e.id for _, e in items)
    made: set[Path] = set()
    jobs: list[tuple[FileManifest, Path]] = []
    for rel, entry in items:
        parts = normalize_path(rel, allow_root=False).split("/")
        target = _ensure_dirs(root, parts[:-1], made) / parts[-1]
        if target.is_dir() and not target.is_symlink():
            raise InvalidPath(f"cannot write file {target}: a directory is in the way")
        jobs.append((odb.file(entry.id), target))
    try:
        big = [j for j in jobs if j[0].size > 8 * 1024 * 1024]
        small = [j for j in jobs if j[0].size <= 8 * 1024 * 1024]
        for manifest, target in big:
            write_file(odb, manifest, target, progress)
        if small:
            with ThreadPoolExecutor(max_workers=2) as pool:
                list(pool.map(lambda j: write_file(odb, j[0], j[1], progress), small))
    finally:
        progress.finish()
    return total


def checkout(odb: ObjectDB, tree_id: str, dest: Path, *, force: bool = False,
             progress: Progress = NULL_PROGRESS) -> int:
    """Materialise a tree into ``dest``; refuses a non-empty ``dest`` unless ``force``."""
    if dest.exists() and not dest.is_dir():
        raise InvalidPath(f"{dest} exists and is not a directory")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise DirectoryNotEmpty(f"{dest} is not empty (use --force to write into it)")
    return export_tree(odb, walk_files(odb, tree_id), dest, progress)
