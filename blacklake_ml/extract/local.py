"""Sources over local files and bytes, and :class:`SourceReader`, a file object over any Source.

Extractors see bytes only through :class:`~blacklake_ml.extract.base.Source` range reads, so the
same code works on a stored blob (chunks fetched on demand) and on a local file. Libraries that
want a file object (``zipfile``, ``h5py``, ``pyarrow``) get a :class:`SourceReader`, which turns
their seeks and small reads into a few range reads through a small read-ahead buffer, so opening
a zip's central directory or a Parquet footer reads kilobytes, not the whole file.
"""

from __future__ import annotations

import io
import os
from pathlib import Path, PurePosixPath
from typing import Any

from blacklake_ml.extract.base import Source

#: default read-ahead of :class:`SourceReader`: one range read serves many small reads
READ_AHEAD = 64 * 1024


class LocalFileSource:
    """A :class:`Source` over a file on the local disk (opened per read, so nothing leaks)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.name = self.path.name
        self.size = self.path.stat().st_size

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` clamped to the file size."""
        start = max(0, start)
        end = min(end, self.size)
        if end <= start:
            return b""
        with open(self.path, "rb") as f:
            f.seek(start)
            return f.read(end - start)

    def __repr__(self) -> str:
        return f"LocalFileSource({str(self.path)!r})"


class BytesSource:
    """A :class:`Source` over bytes already in memory (a decompressed zip member, tests)."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name = name
        self.data = data
        self.size = len(data)

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` clamped to the data."""
        return self.data[max(0, start):max(0, min(end, self.size))]


class SliceSource:
    """A :class:`Source` over ``length`` bytes of another source starting at ``offset`` (an
    uncompressed zip member read in place, without copying it)."""

    def __init__(self, base: Source, offset: int, length: int, name: str) -> None:
        if offset < 0 or length < 0 or offset + length > base.size:
            raise ValueError(f"slice [{offset}, {offset + length}) outside a {base.size}-byte file")
        self.base = base
        self.offset = offset
        self.size = length
        self.name = name

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the slice, clamped to its length."""
        start = max(0, start)
        end = min(end, self.size)
        if end <= start:
            return b""
        return self.base.read(self.offset + start, self.offset + end)


class SourceReader(io.RawIOBase):
    """A seekable, read-only binary file object over a :class:`Source`.

    Reads are served from a read-ahead buffer of ``read_ahead`` bytes; a read larger than the
    buffer goes straight to the source. ``fetched`` counts the bytes asked of the source, so
    tests (and callers) can check that only the needed ranges were read.
    """

    def __init__(self, src: Source, read_ahead: int = READ_AHEAD) -> None:
        super().__init__()
        self.src = src
        self.name = src.name
        self._size = src.size
        self._pos = 0
        self._read_ahead = max(1, read_ahead)
        self._buf = b""
        self._buf_start = 0
        #: total bytes requested from the source so far
        self.fetched = 0

    # -- io.RawIOBase protocol ------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise OSError(f"negative seek position {pos}")
        self._pos = pos
        return pos

    def size(self) -> int:
        """Total size of the source (pyarrow asks file objects for it)."""
        return self._size

    def _fetch(self, start: int, end: int) -> bytes:
        data = self.src.read(start, end)
        self.fetched += len(data)
        return data

    def readinto(self, b: Any) -> int:
        # Always fills ``b`` up to EOF: callers (zipfile, pickletools, h5py) treat a short
        # read as the end of the data, as they would with a buffered file.
        view = memoryview(b).cast("B")
        want = min(len(view), max(0, self._size - self._pos))
        done = 0
        while done < want:
            left = want - done
            off = self._pos - self._buf_start
            if 0 <= off < len(self._buf):
                got = self._buf[off:off + left]
            elif left >= self._read_ahead:
                # a big read: don't pollute the buffer, read exactly what was asked
                got = self._fetch(self._pos, self._pos + left)
            else:
                self._buf = self._fetch(self._pos, self._pos + self._read_ahead)
                self._buf_start = self._pos
                got = self._buf[:left]
            if not got:  # the source is shorter than it claimed
                break
            n = len(got)
            view[done:done + n] = got
            done += n
            self._pos += n
        return done

    def readline(self, size: int | None = -1) -> bytes:
        """Up to and including the next ``\\n`` (at most ``size`` bytes), from the buffer.

        ``io.RawIOBase.readline`` reads one byte per call; a protocol-0 pickle's text
        arguments (``INT``, ``STRING``, ``GLOBAL`` lines) would then cost a Python call per
        byte -- 100 us for a random-bytes ``.pkl`` whose first opcode takes a line.
        """
        left = max(0, self._size - self._pos)
        limit = left if size is None or size < 0 else min(size, left)
        pieces: list[bytes] = []
        got = 0
        while got < limit:
            off = self._pos - self._buf_start
            if not 0 <= off < len(self._buf):
                self._buf = self._fetch(self._pos, self._pos + self._read_ahead)
                self._buf_start = self._pos
                off = 0
                if not self._buf:  # the source is shorter than it claimed
                    break
            stop = min(len(self._buf), off + limit - got)
            nl = self._buf.find(b"\n", off, stop)
            piece = self._buf[off:stop if nl < 0 else nl + 1]
            pieces.append(piece)
            got += len(piece)
            self._pos += len(piece)
            if nl >= 0:
                break
        return b"".join(pieces)

    def readall(self) -> bytes:
        """The rest of the source (callers cap what they hand to this)."""
        data = self.read(self._size - self._pos) if self._pos < self._size else b""
        return data or b""

    def truncate(self, size: int | None = None) -> int:
        raise io.UnsupportedOperation("SourceReader is read-only")


class LocalDirView:
    """A :class:`~blacklake_ml.extract.base.DirView` over a local folder.

    ``relpath`` arguments are ``/``-separated and relative; absolute paths and ``..`` segments are
    rejected so a view never reads outside its folder by name (symlinks inside it are followed,
    as a local caller chose the folder).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise NotADirectoryError(f"not a directory: {self.path}")
        self.name = self.path.name

    def _resolve(self, relpath: str) -> Path:
        if not relpath:
            return self.path
        if "\x00" in relpath or relpath.startswith("/") or "\\" in relpath:
            raise ValueError(f"invalid relative path {relpath!r}")
        parts = PurePosixPath(relpath).parts
        if any(p in ("..", ".") for p in parts):
            raise ValueError(f"invalid relative path {relpath!r}")
        return self.path.joinpath(*parts)

    def entries(self, relpath: str = "") -> list[tuple[str, str, int]]:
        """Direct children of ``relpath`` as ``(name, "f"|"d", size)`` sorted by name."""
        out: list[tuple[str, str, int]] = []
        with os.scandir(self._resolve(relpath)) as it:
            for e in it:
                try:
                    if e.is_dir():
                        out.append((e.name, "d", 0))
                    elif e.is_file():
                        out.append((e.name, "f", e.stat().st_size))
                except OSError:  # a dangling symlink or a file removed meanwhile: not there
                    continue
        out.sort()
        return out

    def open(self, relpath: str) -> LocalFileSource:
        """A source for the file at ``relpath`` (``FileNotFoundError`` if there is none)."""
        p = self._resolve(relpath)
        if not p.is_file():
            raise FileNotFoundError(f"no file {relpath!r} in {self.path}")
        return LocalFileSource(p)

    def __repr__(self) -> str:
        return f"LocalDirView({str(self.path)!r})"
