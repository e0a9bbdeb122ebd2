"""The object-storage interface every backend implements.

Storage holds only immutable, content-named blobs (pack files and their indexes) plus one
small marker file. The interface is a handful of primitives, in the fsspec spirit; these
docstrings are the spec, and ``tests/test_storage_conformance.py`` holds every backend to it.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from typing_extensions import Self

from blacklake_ml.core.redact import redact_url


@dataclass(frozen=True)
class StorageItem:
    """A listed object: key relative to the storage root, size in bytes, mtime (epoch s)."""

    key: str
    size: int
    mtime: float


class SpoolWriter(ABC):
    """Collects the bytes of one new object and publishes it atomically on :meth:`commit`.

    Until ``commit`` returns, no reader can see the object under its key; :meth:`abort` (also
    called by ``__exit__`` on error) leaves nothing behind but, at worst, an unnamed temp file
    that ``gc`` removes.
    """

    @abstractmethod
    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Append bytes."""

    @abstractmethod
    def commit(self) -> None:
        """Make the object durable and visible under its key (idempotent for equal bytes)."""

    @abstractmethod
    def abort(self) -> None:
        """Discard everything written."""

    @property
    @abstractmethod
    def size(self) -> int:
        """Bytes written so far."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()


class ObjectStorage(ABC):
    """A flat key -> bytes store. Keys are relative, '/'-separated, never start with '/'.

    Implementations must make every write atomic (readers see the whole object or nothing),
    raise :class:`~blacklake_ml.errors.ObjectNotFound` for missing keys and
    :class:`~blacklake_ml.errors.StorageError` for other failures, and be safe to use from
    several threads at once.
    """

    #: The URL this storage was opened from. May carry credentials (``s3://key:secret@b``,
    #: ``?sig=...``): show :attr:`display_url` instead, never this.
    url: str

    @property
    def display_url(self) -> str:
        """:attr:`url` with passwords and secret query parameters masked (for messages,
        ``describe``, status answers and logs)."""
        return redact_url(self.url)

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` atomically, replacing any previous object."""

    @abstractmethod
    def spool(self, key: str, size_hint: int | None = None) -> SpoolWriter:
        """Start writing a (large) object that appears under ``key`` on commit.

        ``size_hint`` (the expected size, if known) lets a backend reserve space up front.
        """

    @abstractmethod
    def get_bytes(self, key: str, start: int | None = None, end: int | None = None) -> bytes:
        """Read the object, or the byte range ``[start, end)`` of it."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """True if ``key`` holds an object."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[StorageItem]:
        """Every object whose key starts with ``prefix`` (a directory-like prefix)."""

    def get_ranges(self, key: str, ranges: Sequence[tuple[int, int]]) -> builtins.list[bytes]:
        """Read several ``[start, end)`` ranges of one object (backends may batch)."""
        return [self.get_bytes(key, s, e) for s, e in ranges]

    def local_path(self, key: str) -> str | None:
        """A local filesystem path holding ``key``'s bytes, if this backend has one.

        Lets readers verify through ``mmap`` and copy in the kernel; None elsewhere.
        """
        return None

    def close(self) -> None:
        """Release cached handles or connections."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.display_url!r})"
