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
from concurrent.futures import Future, ThreadPoolExecutor
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


def write_file(odb: ObjectDB, manifest: FileManifest, target: Path,
               progress: Progress = NULL_PROGRESS, *, dir_fd: int | None = None) -> None:
    """Write a stored file to ``target`` atomically (temp name + rename).

    With ``dir_fd`` (a descriptor of ``target``'s directory, opened without following
    links), the temp file and the rename go through it, so nothing swapped into the path
    meanwhile can redirect the write (a checkout's big files).
    """
    # The temp name does not embed the target's: a 255-byte name (the segment limit) plus
    # a suffix would exceed what the filesystem accepts for one name.
    name = f".blacklake-{uuid.uuid4().hex}.tmp"
    tmp = name if dir_fd is not None else str(target.with_name(name))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, 0o644, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "wb", buffering=0) as f:
            threads = 2 if manifest.size > 8 * 1024 * 1024 else 1
            if not odb.copy_local(manifest, f.fileno(), threads=threads, progress=progress):
                for piece in odb.iter_file(manifest, threads=threads):
                    f.write(piece)
                    progress.advance(len(piece))
        # rename never follows a link at the destination: one there is replaced, not written
        # through
        if dir_fd is not None:
            os.replace(tmp, target.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        else:
            os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        raise


#: files up to this size are read in batches and written from memory (small-file path)
SMALL_FILE = 1024 * 1024
#: bytes of small files read into memory at once
SMALL_BATCH_BYTES = 32 * 1024 * 1024
#: threads writing small files: creating a file is almost all kernel time (the GIL is
#: released), which two threads overlap where the filesystem's journal is the bottleneck
WRITE_THREADS = 2
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC
_NEW_FILE_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                   | os.O_CLOEXEC)


class _DirWriter:
    """Writes small files below ``root`` through directory descriptors.

    Each directory is created (``mkdir`` relative to its parent's descriptor) and opened
    with ``O_NOFOLLOW | O_DIRECTORY``, so a symlink planted anywhere in the target can
    neither redirect a write nor be walked through, whatever happens between two calls;
    files are created under a temp name (``O_EXCL | O_NOFOLLOW``) and renamed into place
    within the same directory, so a name only ever shows a whole file. Per file that is
    four system calls (create, write, close, rename) on short names, without a path walk.
    Descriptors are kept for the directory chain of the last file (files come depth-first),
    so a tree of any size holds only its depth in descriptors.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._stack: list[tuple[str, int]] = [("", os.open(root, _DIR_FLAGS))]
        self._token = uuid.uuid4().hex[:16]
        self._n = 0

    def close(self) -> None:
        """Close every directory descriptor."""
        while self._stack:
            os.close(self._stack.pop()[1])

    def dir_fd(self, parts: list[str]) -> int:
        """The descriptor of ``root/parts...`` (created as needed, never through a link)."""
        stack = self._stack
        keep = 1
        while keep < len(stack) and keep - 1 < len(parts) and stack[keep][0] == parts[keep - 1]:
            keep += 1
        while len(stack) > keep:
            os.close(stack.pop()[1])
        for part in parts[len(stack) - 1:]:
            parent = stack[-1][1]
            try:
                os.mkdir(part, 0o777, dir_fd=parent)
            except FileExistsError:
                pass
            try:
                fd = os.open(part, _DIR_FLAGS, dir_fd=parent)
            except OSError:
                where = self.root.joinpath(*parts[:len(stack)])
                if where.is_symlink():
                    raise InvalidPath(f"refusing to write through the symlink {where}") from None
                raise InvalidPath(f"{where} exists and is not a directory") from None
            stack.append((part, fd))
        return stack[-1][1]

    def write(self, parts: list[str], data: bytes) -> None:
        """Write ``data`` atomically as the file ``root/parts...``."""
        dfd = self.dir_fd(parts[:-1])
        name = parts[-1]
        while True:
            # The temp name does not embed the target's: a 255-byte name (the segment limit)
            # plus a suffix would exceed what the filesystem accepts for one name.
            self._n += 1
            tmp = f".blacklake-{self._token}-{self._n}.tmp"
            try:
                fd = os.open(tmp, _NEW_FILE_FLAGS, 0o644, dir_fd=dfd)
                break
            except FileExistsError:
                self._token = uuid.uuid4().hex[:16]
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
            os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException as exc:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except FileNotFoundError:
                pass
            if isinstance(exc, (IsADirectoryError, NotADirectoryError)):
                where = self.root.joinpath(*parts)
                raise InvalidPath(f"cannot write file {where}: a directory is in the way") \
                    from None
            raise


def _check_way(root: Path, items: list[tuple[list[str], TreeEntry]]) -> None:
    """Refuse, before anything is written, a target whose existing entries are in the way:
    a symlink or a file where a directory goes, a directory where a file goes."""
    seen: set[Path] = set()
    for parts, _ in items:
        cur = root
        for part in parts[:-1]:
            cur = cur / part
            if cur in seen:
                continue
            seen.add(cur)
            if cur.is_symlink():
                raise InvalidPath(f"refusing to write through the symlink {cur}")
            if cur.exists() and not cur.is_dir():
                raise InvalidPath(f"{cur} exists and is not a directory")
        target = cur / parts[-1]
        if target.is_dir() and not target.is_symlink():
            raise InvalidPath(f"cannot write file {target}: a directory is in the way")


def export_tree(odb: ObjectDB, files: Iterable[tuple[str, TreeEntry]], dest: Path,
                progress: Progress = NULL_PROGRESS) -> int:
    """Write ``(relative path, entry)`` files below ``dest``; returns bytes written.

    Small files (up to :data:`SMALL_FILE`) are read in batches (:meth:`ObjectDB.read_small_files`:
    a few ranged reads, every chunk verified) and written from memory by a
    :class:`_DirWriter`; larger ones are copied by :func:`write_file`. Every name is
    validated again, and a target that already holds something is checked for entries in
    the way before anything is written.
    """
    root = Path(os.path.realpath(dest))
    root.mkdir(parents=True, exist_ok=True)
    items = [(normalize_path(rel, allow_root=False).split("/"), e) for rel, e in files]
    total = sum(e.size for _, e in items)
    progress.start(total, "B", f"writing {len(items)} files")
    try:
        with os.scandir(root) as it:
            fresh = next(it, None) is None
        if not fresh:
            _check_way(root, items)
        odb.prefetch_files(e.id for _, e in items)
        big: list[tuple[list[str], FileManifest]] = []
        pending: list[Future[None]] = []
        writers = [_DirWriter(root) for _ in range(WRITE_THREADS)]
        writer = writers[0]
        pool = ThreadPoolExecutor(max_workers=WRITE_THREADS,
                                  thread_name_prefix="blacklake-write") \
            if WRITE_THREADS > 1 else None
        try:
            batch: list[tuple[list[str], FileManifest]] = []
            size = 0
            for parts, e in items:
                m = odb.file(e.id)
                if m.size > SMALL_FILE:
                    big.append((parts, m))
                    continue
                batch.append((parts, m))
                size += m.size
                if size >= SMALL_BATCH_BYTES:
                    _write_batch(odb, writers, pool, batch, progress, pending)
                    batch, size = [], 0
            _write_batch(odb, writers, pool, batch, progress, pending)
            _wait(pending)
            for parts, m in big:
                # through the directory's descriptor: created and opened without
                # following links, like the small files'
                write_file(odb, m, root.joinpath(*parts), progress,
                           dir_fd=writer.dir_fd(parts[:-1]))
        finally:
            if pool is not None:
                pool.shutdown(wait=True)  # no writer may still use a descriptor closed below
            for w in writers:
                w.close()
    finally:
        progress.finish()
    return total


def _write_batch(odb: ObjectDB, writers: list[_DirWriter], pool: ThreadPoolExecutor | None,
                 batch: list[tuple[list[str], FileManifest]], progress: Progress,
                 pending: list[Future[None]]) -> None:
    """Read one batch of small files and hand it to the writers: with a pool, as two halves
    at once (the system calls release the GIL, and the halves mostly fall in different
    directories, so their creates do not queue on one directory's lock), while this thread
    goes on to read the next batch. ``pending`` holds the previous batch's writes, waited
    for (and their errors raised) before this batch is handed over."""
    if not batch:
        return
    contents = odb.read_small_files([m for _, m in batch])
    jobs = list(zip((parts for parts, _ in batch), contents))

    def run(writer: _DirWriter, part: list[tuple[list[str], bytes]]) -> None:
        for parts, data in part:
            writer.write(parts, data)
            progress.advance(len(data))

    _wait(pending)
    if pool is None or len(jobs) < 64:
        run(writers[0], jobs)
        return
    half = len(jobs) // 2
    pending += [pool.submit(run, writers[0], jobs[:half]),
                pool.submit(run, writers[1], jobs[half:])]


def _wait(pending: list[Future[None]]) -> None:
    """Wait for every write in ``pending`` (all of them, even after a failure), then raise
    the first failure."""
    errors = [f.exception() for f in pending]
    pending.clear()
    for exc in errors:
        if exc is not None:
            raise exc


def checkout(odb: ObjectDB, tree_id: str, dest: Path, *, force: bool = False,
             progress: Progress = NULL_PROGRESS) -> int:
    """Materialise a tree into ``dest``; refuses a non-empty ``dest`` unless ``force``."""
    if dest.exists() and not dest.is_dir():
        raise InvalidPath(f"{dest} exists and is not a directory")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise DirectoryNotEmpty(f"{dest} is not empty (use --force to write into it)")
    return export_tree(odb, walk_files(odb, tree_id), dest, progress)
