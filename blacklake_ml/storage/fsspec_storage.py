"""Object storage on any fsspec filesystem: S3 (s3fs), GCS (gcsfs), Azure (adlfs), memory.

Large objects are spooled to a local temp file and uploaded with one ``put_file`` (s3fs turns
it into a multipart upload); object stores make a finished PUT atomic, so readers never see
half an object. Vendor exceptions are translated here, once.
"""

from __future__ import annotations

import builtins
import os
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

from blacklake_ml.core.redact import redact
from blacklake_ml.errors import ObjectNotFound, StorageError
from blacklake_ml.storage.base import ObjectStorage, SpoolWriter, StorageItem


def _translate(exc: BaseException, what: str) -> Exception:
    if isinstance(exc, FileNotFoundError):
        return ObjectNotFound(f"storage object {what} is missing")
    # Vendor messages can quote the endpoint or a presigned URL: mask before it travels.
    return StorageError(redact(f"storage error on {what}: {type(exc).__name__}: {exc}"))


class _FsspecSpool(SpoolWriter):
    def __init__(self, storage: FsspecStorage, key: str) -> None:
        self._storage = storage
        self._key = key
        self._file = tempfile.NamedTemporaryFile(prefix="blacklake-spool-", delete=False)
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._file.write(data)
        self._size += len(data)

    @property
    def size(self) -> int:
        return self._size

    def commit(self) -> None:
        self._file.close()
        try:
            self._storage.fs.put_file(self._file.name, self._storage._full(self._key))
        except Exception as exc:  # vendor errors vary by backend
            raise _translate(exc, self._key) from exc
        finally:
            self._cleanup()

    def abort(self) -> None:
        self._file.close()
        self._cleanup()

    def _cleanup(self) -> None:
        try:
            os.unlink(self._file.name)
        except FileNotFoundError:
            pass


class FsspecStorage(ObjectStorage):
    """Objects below ``url`` on an fsspec filesystem."""

    def __init__(self, url: str, **storage_options: Any) -> None:
        import fsspec  # local import: keeps `import blacklake_ml` light

        self.url = url.rstrip("/")
        self.fs, root = fsspec.core.url_to_fs(self.url, **storage_options)
        self.root = root.rstrip("/")
        if self.fs.protocol in ("file", "local") or "file" in self.fs.protocol:
            raise StorageError("use LocalStorage for local paths")

    @classmethod
    def from_url(cls, url: str, **options: Any) -> FsspecStorage:
        """Open ``url`` with fsspec ``options``."""
        return cls(url, **options)

    def _full(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise StorageError(f"invalid storage key {key!r}")
        return f"{self.root}/{key}"

    def put_bytes(self, key: str, data: bytes) -> None:
        try:
            self.fs.pipe_file(self._full(key), bytes(data))
        except Exception as exc:
            raise _translate(exc, key) from exc

    def spool(self, key: str, size_hint: int | None = None) -> SpoolWriter:
        return _FsspecSpool(self, key)

    def get_bytes(self, key: str, start: int | None = None, end: int | None = None) -> bytes:
        if start is not None and end is not None and end <= start:
            # An empty range is no valid HTTP Range; S3 would answer with the whole object.
            if not self.exists(key):
                raise ObjectNotFound(f"storage object {key} is missing")
            return b""
        try:
            data = self.fs.cat_file(self._full(key), start=start, end=end)
        except Exception as exc:
            raise _translate(exc, key) from exc
        if start is not None and end is not None and len(data) != end - start:
            raise StorageError(f"short read of {key} [{start}, {end}): object is truncated")
        return data

    def get_ranges(self, key: str, ranges: Sequence[tuple[int, int]]) -> builtins.list[bytes]:
        if len(ranges) <= 1 or any(e <= s for s, e in ranges):
            return [self.get_bytes(key, s, e) for s, e in ranges]
        full = self._full(key)
        try:
            # cat_ranges fetches concurrently on async filesystems (s3fs, gcsfs).
            out = self.fs.cat_ranges([full] * len(ranges), [s for s, _ in ranges],
                                     [e for _, e in ranges], on_error="raise")
        except Exception as exc:
            raise _translate(exc, key) from exc
        for (s, e), data in zip(ranges, out):
            if len(data) != e - s:
                raise StorageError(f"short read of {key} [{s}, {e}): object is truncated")
        return list(out)

    def exists(self, key: str) -> bool:
        try:
            return bool(self.fs.isfile(self._full(key)))
        except Exception as exc:
            raise _translate(exc, key) from exc

    def delete(self, key: str) -> None:
        try:
            self.fs.rm_file(self._full(key))
        except FileNotFoundError:
            pass
        except Exception as exc:
            raise _translate(exc, key) from exc

    def list(self, prefix: str = "") -> Iterator[StorageItem]:
        base = self.root
        try:
            self.fs.invalidate_cache()
            found = self.fs.find(f"{base}/{prefix}" if prefix else base, detail=True)
        except FileNotFoundError:
            return
        except Exception as exc:
            raise _translate(exc, prefix or "/") from exc
        for path, info in found.items():
            key = path[len(base) + 1:] if path.startswith(base + "/") else path
            if info.get("type") == "directory" or not key.startswith(prefix):
                continue
            mtime = info.get("LastModified") or info.get("mtime") or info.get("created") or 0
            if hasattr(mtime, "timestamp"):
                mtime = mtime.timestamp()
            yield StorageItem(key, int(info.get("size") or 0), float(mtime))
