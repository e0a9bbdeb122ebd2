"""Pack files: many objects in one large storage object, plus an index file.

``packs/<id>.pack`` is a magic header followed by object bodies back to back;
``packs/<id>.idx`` lists ``[object id, kind code, offset, length]`` for each. The pack is
published first, then its index, then the catalog rows: a crash in between leaves only an
unindexed pack, which ``gc`` removes after the grace period. The ``.idx`` files make the
catalog's object index rebuildable from storage alone (``fsck --rebuild``).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import orjson
from typing_extensions import Self

from blacklake_ml.catalog import Catalog, ObjectLocation, PackRow
from blacklake_ml.core.ids import Kind
from blacklake_ml.errors import CorruptObject
from blacklake_ml.storage import ObjectStorage, SpoolWriter

MAGIC = b"BLPACK1\n"
PACK_TARGET_SIZE = 64 * 1024 * 1024
PACK_PREFIX = "packs/"


def pack_key(pack_id: str) -> str:
    """Storage key of a pack's data."""
    return f"{PACK_PREFIX}{pack_id}.pack"


def idx_key(pack_id: str) -> str:
    """Storage key of a pack's index."""
    return f"{PACK_PREFIX}{pack_id}.idx"


def encode_index(pack_id: str, objects: list[ObjectLocation]) -> bytes:
    """Serialise a pack index."""
    return orjson.dumps({"v": 1, "pack": pack_id,
                         "objects": [[o.id, o.kind, o.offset, o.length] for o in objects]})


def decode_index(data: bytes) -> tuple[str, list[ObjectLocation]]:
    """Parse a pack index written by :func:`encode_index`."""
    try:
        d = orjson.loads(data)
        pid = d["pack"]
        return pid, [ObjectLocation(o[0], int(o[1]), pid, int(o[2]), int(o[3]))
                     for o in d["objects"]]
    except (orjson.JSONDecodeError, KeyError, TypeError, IndexError, ValueError) as exc:
        raise CorruptObject(f"pack index does not decode: {exc}") from None


@dataclass
class _OpenPack:
    id: str
    spool: SpoolWriter
    objects: list[ObjectLocation] = field(default_factory=list)


class PackWriter:
    """Appends objects to packs, rolling to a new pack every ``target_size`` bytes.

    Full packs are published in a background thread while the caller keeps appending (upload
    and fsync overlap with chunking and hashing). :meth:`flush` publishes the open pack and
    waits; only then are the written objects indexed and safe to reference from a ref.
    Use as a context manager: an exception aborts unpublished packs.
    """

    def __init__(self, storage: ObjectStorage, catalog: Catalog,
                 target_size: int = PACK_TARGET_SIZE,
                 on_published: Callable[[list[ObjectLocation]], None] | None = None) -> None:
        self.storage = storage
        self.catalog = catalog
        self.target_size = target_size
        #: told the locations of each pack once it is indexed (the reader's location cache:
        #: the indexer reads back what a put wrote without asking the catalog per object)
        self._on_published = on_published
        self._pack: _OpenPack | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blacklake-pack")
        self._pending: list[Future[PackRow]] = []
        self._lock = threading.Lock()
        #: ids written by this writer (published or not): never written twice
        self.written: set[str] = set()
        #: ids the written trees point at (they must still exist when a ref moves)
        self.referenced: set[str] = set()
        self.published: list[PackRow] = []
        self.bytes_written = 0

    def _open(self) -> _OpenPack:
        if self._pack is None:
            pid = uuid.uuid4().hex
            spool = self.storage.spool(pack_key(pid), size_hint=self.target_size)
            spool.write(MAGIC)
            self._pack = _OpenPack(pid, spool)
        return self._pack

    def add(self, kind: Kind, oid: str, body: bytes | bytearray | memoryview) -> None:
        """Append one object (the caller computed ``oid``; duplicates are skipped)."""
        if oid in self.written:
            return
        pack = self._open()
        off = pack.spool.size
        pack.spool.write(body)
        n = len(body)
        pack.objects.append(ObjectLocation(oid, kind.code, pack.id, off, n))
        self.written.add(oid)
        self.bytes_written += n
        if pack.spool.size >= self.target_size:
            self._rotate()

    def add_run(self, kind: Kind, items: list[tuple[str, int]],
                data: bytes | bytearray | memoryview) -> None:
        """Append consecutive objects whose bodies are back to back in ``data``.

        One write for the whole run instead of one per object: a file's new chunks usually
        are a contiguous region of it.
        """
        pack = self._open()
        off = pack.spool.size
        pack.spool.write(data)
        for oid, n in items:
            pack.objects.append(ObjectLocation(oid, kind.code, pack.id, off, n))
            self.written.add(oid)
            off += n
        self.bytes_written += len(data)
        if pack.spool.size >= self.target_size:
            self._rotate()

    def _rotate(self) -> None:
        pack, self._pack = self._pack, None
        if pack is not None:
            self._check_failed()
            self._pending.append(self._pool.submit(self._publish, pack))

    def _check_failed(self) -> None:
        for fut in self._pending:
            if fut.done() and fut.exception() is not None:
                raise fut.exception()  # type: ignore[misc]

    def _publish(self, pack: _OpenPack) -> PackRow:
        pack.spool.commit()
        self.storage.put_bytes(idx_key(pack.id), encode_index(pack.id, pack.objects))
        row = PackRow(pack.id, pack.spool.size, len(pack.objects), time.time())
        self.catalog.add_pack(row, pack.objects)
        if self._on_published is not None:
            self._on_published(pack.objects)
        return row

    def flush(self) -> list[PackRow]:
        """Publish everything written so far and wait; returns the packs published."""
        self._rotate()
        pending, self._pending = self._pending, []
        rows = [f.result() for f in pending]
        self.published.extend(rows)
        return rows

    def abort(self) -> None:
        """Discard the open pack and wait for background publishing to stop."""
        if self._pack is not None:
            self._pack.spool.abort()
            self._pack = None
        for fut in self._pending:
            try:
                fut.result()
            except Exception:  # noqa: BLE001 - aborting anyway; the first error was raised
                pass
        self._pending = []

    def close(self) -> None:
        """Stop the background thread (after :meth:`flush` or :meth:`abort`)."""
        self._pool.shutdown(wait=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()
        self.close()
