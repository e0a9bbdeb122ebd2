"""Local-disk storage: the embedded default under ``$BLACKLAKE_HOME/objects``.

Implemented on ``os`` directly rather than fsspec's LocalFileSystem because crash safety
needs exact control: bytes go to a temp file in the target directory, are fsynced, then
renamed into place (atomic on POSIX), and ranged reads use ``pread`` on cached descriptors.
"""

from __future__ import annotations

import builtins
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

from blacklake_ml.errors import ObjectNotFound, StorageError
from blacklake_ml.storage import direct_io
from blacklake_ml.storage.base import ObjectStorage, SpoolWriter, StorageItem

TEMP_PREFIX = ".tmp-"


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in directory ``path`` durable (POSIX)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


#: writes below this size are gathered in memory; the buffer is written at SPOOL_BUFFER
SPOOL_DIRECT = 64 * 1024
SPOOL_BUFFER = 1024 * 1024


class _LocalSpool(SpoolWriter):
    """A temp file in the target directory, renamed into place on commit.

    Bulk data (a spool whose first :data:`~blacklake_ml.storage.direct_io.STAGE_SIZE` bytes
    arrived mostly in large writes: the chunks of a big file) is written with ``O_DIRECT``
    through recycled staging buffers instead of through the page cache. On the VMs this
    runs on, a page-cache page touched for the first time costs far more than the copy into
    it (measured: a buffered 1 GiB write took 0.3-2.3 s of CPU, the same bytes with
    ``O_DIRECT`` 0.75 s of device time and almost no CPU), and a multi-GiB checkpoint
    should not evict the user's working set either. Spools of small objects stay buffered:
    what a put just wrote is often read back at once (the search indexer), and the page
    cache serves that. The mode is chosen once, at the first full staging buffer, and kept;
    a filesystem that refuses ``O_DIRECT`` (tmpfs) just stays buffered.
    """

    def __init__(self, storage: LocalStorage, key: str, size_hint: int | None = None) -> None:
        self._storage = storage
        self._key = key
        self._final = storage._path(key)
        self._final.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self._final.parent / f"{TEMP_PREFIX}{uuid.uuid4().hex}"
        self._fd: int | None = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        self._size = 0
        self._buf = bytearray()
        self._fsync = storage.fsync
        # Bulk-capable spools (packs: the caller gave a size hint) stage their first bytes
        # until the mode is known; None once buffered.
        self._stage: direct_io.Stage | None = \
            direct_io.Stage() if size_hint and direct_io.SUPPORTED else None
        self._direct_fd: int | None = None
        self._large_bytes = 0  # bytes that arrived in writes of >= SPOOL_DIRECT (mode choice)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert self._fd is not None, "spool already closed"
        n = len(data)
        if self._stage is not None:
            if n >= SPOOL_DIRECT:
                self._large_bytes += n
            view = memoryview(data).cast("B")
            while view and self._stage is not None:
                view = view[self._stage.put(view):]
                if self._stage.full:
                    self._stage_full()
            self._size += n
            if view:  # the spool went buffered half-way through this write
                self._write_all(view)
            return
        if n < SPOOL_DIRECT:
            # Many small objects (a dataset of 4 KiB files, their manifests) would cost a
            # system call each: gather them, and write the buffer when it fills.
            self._buf += data
            self._size += n
            if len(self._buf) >= SPOOL_BUFFER:
                self._flush()
            return
        self._flush()
        self._write_all(memoryview(data))
        self._size += n

    def _stage_full(self) -> None:
        """Write the full staging buffer, choosing the mode the first time."""
        assert self._stage is not None
        stage = self._stage
        if self._direct_fd is None:
            if 2 * self._large_bytes < stage.flushed + stage.fill:
                self._go_buffered()  # mostly small objects: keep them in the page cache
                return
            self._direct_fd = direct_io.open_direct(self._tmp)
            if self._direct_fd is None:
                self._go_buffered()
                return
        with stage.pending() as block:
            ok = direct_io.pwrite_direct(self._direct_fd, block, stage.flushed)
        if ok:
            stage.advance()
        else:
            self._go_buffered()

    def _go_buffered(self) -> None:
        """Leave staging for good: what is staged is written through the buffered
        descriptor, which is then positioned at the end of the data."""
        assert self._fd is not None and self._stage is not None
        stage, self._stage = self._stage, None
        self._close_direct()
        with stage.pending() as view:
            end = direct_io.pwrite_all(self._fd, view, stage.flushed)
        os.lseek(self._fd, end, os.SEEK_SET)
        stage.release()

    def _close_direct(self) -> None:
        if self._direct_fd is not None:
            os.close(self._direct_fd)
            self._direct_fd = None

    def _write_all(self, view: memoryview) -> None:
        assert self._fd is not None
        while view:
            view = view[os.write(self._fd, view):]

    def _flush(self) -> None:
        if self._buf:
            self._write_all(memoryview(self._buf))
            self._buf.clear()

    @property
    def size(self) -> int:
        return self._size

    def commit(self) -> None:
        assert self._fd is not None, "spool already closed"
        try:
            if self._stage is not None:
                self._finish_stage()
            self._flush()
            if self._fsync:
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
            os.replace(self._tmp, self._final)
            self._storage._forget(self._key)  # a cached fd would still read the old file
            if self._fsync:
                fsync_dir(self._final.parent)
        except OSError as exc:
            self.abort()
            raise StorageError(f"cannot write {self._final}: {exc}") from exc

    def _finish_stage(self) -> None:
        """Write what is left staged and trim the file to its size."""
        assert self._fd is not None and self._stage is not None
        stage = self._stage
        if self._direct_fd is None:
            self._go_buffered()
            return
        if stage.fill:
            # O_DIRECT writes whole aligned blocks: pad the tail, then cut the file back.
            with stage.padded() as block:
                ok = direct_io.pwrite_direct(self._direct_fd, block, stage.flushed)
            if not ok:
                self._go_buffered()
                return
            os.ftruncate(self._fd, self._size)
        self._close_direct()
        self._stage = None
        stage.release()

    def abort(self) -> None:
        self._close_direct()
        if self._stage is not None:
            self._stage.release()
            self._stage = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        try:
            os.unlink(self._tmp)
        except FileNotFoundError:
            pass


class LocalStorage(ObjectStorage):
    """Objects as files below a root directory."""

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True,
                 max_open: int = 64) -> None:
        self.root = Path(root).expanduser().resolve()
        self.url = f"file://{self.root}"
        self.fsync = fsync
        self.root.mkdir(parents=True, exist_ok=True)
        self._fds: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()
        self._max_open = max_open

    @classmethod
    def from_url(cls, url: str, **options: object) -> LocalStorage:
        """Open ``file:///abs/path`` or a plain path."""
        path = url.removeprefix("file://")
        return cls(path, **options)  # type: ignore[arg-type]

    def _path(self, key: str) -> Path:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise StorageError(f"invalid storage key {key!r}")
        return self.root / key

    def put_bytes(self, key: str, data: bytes) -> None:
        with self.spool(key) as sp:
            sp.write(data)
            sp.commit()

    def spool(self, key: str, size_hint: int | None = None) -> SpoolWriter:
        try:
            return _LocalSpool(self, key, size_hint)
        except OSError as exc:
            raise StorageError(f"cannot create {key}: {exc}") from exc

    def _dup_fd(self, key: str) -> int:
        """A private duplicate of the cached descriptor for ``key`` (caller closes it).

        Duplicating under the lock means another thread evicting or closing the cached
        descriptor can never make this read hit a recycled descriptor number.
        """
        with self._lock:
            fd = self._fds.get(key)
            if fd is None:
                try:
                    fd = os.open(self._path(key), os.O_RDONLY)
                except FileNotFoundError:
                    raise ObjectNotFound(f"storage object {key} is missing") from None
                except OSError as exc:
                    raise StorageError(f"cannot open {key}: {exc}") from exc
                self._fds[key] = fd
                while len(self._fds) > self._max_open:
                    _, old = self._fds.popitem(last=False)
                    os.close(old)
            else:
                self._fds.move_to_end(key)
            return os.dup(fd)

    def _forget(self, key: str) -> None:
        with self._lock:
            fd = self._fds.pop(key, None)
            if fd is not None:
                os.close(fd)

    def get_bytes(self, key: str, start: int | None = None, end: int | None = None) -> bytes:
        if start is None and end is None:
            try:
                return self._path(key).read_bytes()
            except FileNotFoundError:
                raise ObjectNotFound(f"storage object {key} is missing") from None
            except OSError as exc:
                raise StorageError(f"cannot read {key}: {exc}") from exc
        fd = self._dup_fd(key)
        try:
            start = start or 0
            if end is None:
                end = os.fstat(fd).st_size
            length = max(0, end - start)
            data = os.pread(fd, length, start) if length else b""
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc}") from exc
        finally:
            os.close(fd)
        if len(data) != length:
            raise StorageError(f"short read of {key} [{start}, {end}): object is truncated")
        return data

    def local_path(self, key: str) -> str | None:
        return str(self._path(key))

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._forget(key)
        try:
            os.unlink(self._path(key))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StorageError(f"cannot delete {key}: {exc}") from exc

    def list(self, prefix: str = "") -> Iterator[StorageItem]:
        base = self.root
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                full = Path(dirpath) / name
                key = full.relative_to(base).as_posix()
                if key.startswith(prefix) and not name.startswith(TEMP_PREFIX):
                    try:
                        st = full.stat()
                    except FileNotFoundError:
                        continue
                    yield StorageItem(key, st.st_size, st.st_mtime)

    def stale_temp_files(self, older_than: float) -> builtins.list[Path]:
        """Temp files of spools that never committed (crashed writers), by mtime."""
        out = []
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if name.startswith(TEMP_PREFIX):
                    full = Path(dirpath) / name
                    try:
                        if full.stat().st_mtime < older_than:
                            out.append(full)
                    except FileNotFoundError:
                        continue
        return out

    def close(self) -> None:
        with self._lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()
