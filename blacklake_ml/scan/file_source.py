"""A :class:`~blacklake_ml.extract.base.Source` over an open binary file.

The scanner reads decompressed streams and inflated archive members through it: both the
format dispatcher (``formats``) and the archive scanners (``containers``) make them, so it
lives below both.
"""

from __future__ import annotations

from typing import IO


class FileSource:
    """A :class:`Source` over an open binary file (a decompressed temporary file)."""

    def __init__(self, f: IO[bytes], name: str) -> None:
        self.f = f
        self.name = name
        f.seek(0, 2)
        self.size = f.tell()

    def read(self, start: int, end: int) -> bytes:
        start, end = max(0, start), min(end, self.size)
        if end <= start:
            return b""
        self.f.seek(start)
        return self.f.read(end - start)
