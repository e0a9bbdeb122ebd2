"""Typed, verified access to objects: locate in the catalog, read from packs, check hashes.

Every body read is verified against its id before use. Decoded trees, files and commits are
immutable, so they are cached (LRU, by id) for the life of the store handle. Object
*locations* are cached too (a server answering thousands of small reads otherwise asks the
catalog twice per file): a pack is never rewritten, so a cached location stays right until
``gc`` deletes the pack after moving or dropping its objects; a read that finds the pack gone
forgets the cached locations involved and locates again in the catalog, once.
"""

from __future__ import annotations

import errno
import mmap
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from blacklake_ml.catalog import Catalog, ObjectLocation
from blacklake_ml.core.ids import Kind, object_id, verify
from blacklake_ml.core.objects import EMPTY_TREE, Commit, FileManifest, Tree
from blacklake_ml.errors import CorruptObject, ObjectNotFound
from blacklake_ml.service.packs import pack_key
from blacklake_ml.storage import ObjectStorage

#: Largest single ranged read when streaming a file's chunks.
READ_SPAN = 16 * 1024 * 1024
#: Largest hole between two objects still read as one range by ObjectDB._read_many (reading
#: a few unneeded bytes is cheaper than another read call).
MERGE_GAP = 64 * 1024
#: Chunks located per catalog round trip when streaming.
LOCATE_BATCH = 2048
#: Object locations kept per store handle (about 200 bytes each).
LOCATION_CACHE = 100_000

EMPTY_TREE_ID = EMPTY_TREE.id


def _PACK_ORDER(loc: ObjectLocation) -> tuple[str, int]:
    return loc.pack, loc.offset


def _chunk_at(locs: dict[str, ObjectLocation], cid: str, n: int) -> ObjectLocation:
    """The location of chunk ``cid`` of length ``n`` (as a manifest lists it), checked."""
    loc = locs.get(cid)
    if loc is None:
        raise ObjectNotFound(f"chunk {cid[:16]} is missing (run `blacklake fsck`)")
    if loc.length != n:
        raise CorruptObject(f"chunk {cid[:16]} has length {loc.length}, the file says {n}")
    return loc


def _copy_range(src: int, dst: int, src_off: int, length: int, dst_off: int) -> None:
    """Copy bytes between descriptors in the kernel, falling back to pread/pwrite."""
    while length > 0:
        try:
            n = os.copy_file_range(src, dst, length, src_off, dst_off)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            n = os.pwrite(dst, os.pread(src, min(length, 8 << 20), src_off), dst_off)
        if n == 0:
            raise CorruptObject("pack ended early while copying")
        src_off += n
        dst_off += n
        length -= n


class _LRU:
    def __init__(self, capacity: int) -> None:
        self._d: OrderedDict[str, Any] = OrderedDict()
        self._cap = capacity
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            v = self._d.get(key)
            if v is not None:
                self._d.move_to_end(key)
            return v

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._d[key] = value
            self._d.move_to_end(key)
            while len(self._d) > self._cap:
                self._d.popitem(last=False)

    def discard(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._d.pop(key, None)


class _Bodies:
    """Recently stored small chunk bodies, by id, within a byte budget (oldest dropped).

    Ingest hashed these very bytes to get their ids, so they are verified by construction;
    reading them back (the search indexer extracting what a put just wrote) costs no
    locate and no read.
    """

    def __init__(self, budget: int) -> None:
        self._d: OrderedDict[str, bytes] = OrderedDict()
        self._budget = budget
        self._size = 0
        self._lock = threading.Lock()

    def put(self, cid: str, body: bytes) -> None:
        with self._lock:
            if cid in self._d:
                return
            self._d[cid] = body
            self._size += len(body)
            while self._size > self._budget:
                _, old = self._d.popitem(last=False)
                self._size -= len(old)

    def get(self, cid: str) -> bytes | None:
        return self._d.get(cid)

    def clear(self) -> None:
        with self._lock:
            self._d.clear()
            self._size = 0


#: bytes of recently stored small chunks kept for reading back (see _Bodies)
RECENT_BODIES = 48 * 1024 * 1024
#: chunks up to this size are kept (a small file is one chunk)
RECENT_BODY_MAX = 16 * 1024


class ObjectDB:
    """Reads objects of one store."""

    def __init__(self, storage: ObjectStorage, catalog: Catalog) -> None:
        self.storage = storage
        self.catalog = catalog
        self._trees = _LRU(20_000)
        self._files = _LRU(20_000)
        self._commits = _LRU(10_000)
        self._locations = _LRU(LOCATION_CACHE)
        self._published_files = _LRU(LOCATION_CACHE)
        self._recent = _Bodies(RECENT_BODIES)

    # -- raw ------------------------------------------------------------------------------
    def locate_many(self, ids: Iterable[str]) -> dict[str, ObjectLocation]:
        """Locations of the stored objects among ``ids`` (cached ones without asking the
        catalog); ids not stored are absent from the result."""
        out: dict[str, ObjectLocation] = {}
        missing = []
        for oid in ids:
            loc = self._locations.get(oid)
            if loc is None:
                missing.append(oid)
            else:
                out[oid] = loc
        if missing:
            found = self.catalog.locate(missing)
            for oid, loc in found.items():
                self._locations.put(oid, loc)
            out.update(found)
        return out

    def remember_locations(self, locations: Iterable[ObjectLocation]) -> None:
        """Cache the locations of objects this process just published (a pack's index)."""
        file_code = Kind.FILE.code
        for loc in locations:
            self._locations.put(loc.id, loc)
            if loc.kind == file_code:
                self._published_files.put(loc.id, True)

    def remember_chunk(self, cid: str, body: bytes) -> None:
        """Keep a small chunk body this process has just hashed (``bytes``: immutable) for
        reading back without a read; larger bodies are ignored."""
        if len(body) <= RECENT_BODY_MAX:
            self._recent.put(cid, body)

    def forget_recent_bodies(self) -> None:
        """Drop the kept small bodies (once the ref listeners have read back the put)."""
        self._recent.clear()

    def published_here(self, ids: Iterable[str]) -> set[str]:
        """The file objects among ``ids`` that this handle published (new to the store when
        written: nothing derived from their content can be cached anywhere yet)."""
        return {i for i in ids if self._published_files.get(i) is not None}

    def forget_locations(self, ids: Iterable[str]) -> None:
        """Drop cached locations (their pack was found gone: locate them again)."""
        self._locations.discard(ids)

    def locate(self, oid: str) -> ObjectLocation:
        """Location of one object or :class:`ObjectNotFound`."""
        loc = self.locate_many([oid]).get(oid)
        if loc is None:
            raise ObjectNotFound(f"object {oid[:16]} is not in the store (run `blacklake fsck`)")
        return loc

    def read_raw(self, oid: str, kind: Kind) -> bytes:
        """The verified body of one object."""
        for attempt in range(2):
            loc = self.locate(oid)
            if loc.kind != kind.code:
                raise CorruptObject(f"object {oid[:16]} is a {Kind.from_code(loc.kind).value}, "
                                    f"expected a {kind.value}")
            try:
                body = self.storage.get_bytes(pack_key(loc.pack), loc.offset,
                                              loc.offset + loc.length)
            except ObjectNotFound:
                if attempt:
                    raise
                self.forget_locations([oid])  # gc moved it and deleted the old pack
                continue
            verify(kind, oid, body)
            return body
        raise AssertionError("unreachable")

    # -- typed ----------------------------------------------------------------------------
    def tree(self, oid: str) -> Tree:
        """A tree (the empty tree needs no storage)."""
        if oid == EMPTY_TREE_ID:
            return EMPTY_TREE
        t = self._trees.get(oid)
        if t is None:
            t = Tree.decode(self.read_raw(oid, Kind.TREE))
            self._trees.put(oid, t)
        return t

    def file(self, oid: str) -> FileManifest:
        """A file manifest."""
        m = self._files.get(oid)
        if m is None:
            m = FileManifest.decode(self.read_raw(oid, Kind.FILE))
            self._files.put(oid, m)
        return m

    def commit(self, oid: str) -> Commit:
        """A commit."""
        c = self._commits.get(oid)
        if c is None:
            c = Commit.decode(self.read_raw(oid, Kind.COMMIT))
            self._commits.put(oid, c)
        return c

    def remember_file(self, oid: str, manifest: FileManifest) -> None:
        """Cache a file manifest this process just wrote."""
        self._files.put(oid, manifest)

    def remember_tree(self, tree: Tree, oid: str | None = None) -> None:
        """Cache a tree this process just wrote (saves a read when committing again)."""
        self._trees.put(oid or tree.id, tree)

    def prefetch_files(self, ids: Iterable[str]) -> None:
        """Load many file manifests with one catalog round trip per batch (for checkout) and
        one ranged read per run of neighbouring manifests in a pack."""
        wanted = [i for i in dict.fromkeys(ids) if self._files.get(i) is None]
        for start in range(0, len(wanted), LOCATE_BATCH):
            part = wanted[start:start + LOCATE_BATCH]
            locs = self.locate_many(part)
            missing = [oid for oid in part if oid not in locs]
            if missing:
                raise ObjectNotFound(f"file object {missing[0][:16]} is missing (run fsck)")
            for oid, body in self._read_many([locs[oid] for oid in part], Kind.FILE).items():
                self._files.put(oid, FileManifest.decode(body))

    def _read_many(self, locs: list[ObjectLocation], kind: Kind, *, check: bool = True
                   ) -> dict[str, bytes]:
        """Verified bodies of many located objects of one kind.

        Objects are sorted by pack and offset, and neighbours (gaps up to
        :data:`MERGE_GAP`) are read with one ranged read of at most :data:`READ_SPAN`: a
        folder of 10,000 small files is a handful of reads, not 10,000. Every body is
        verified against its id; a pack found gone (gc since the locations were cached) is
        read object by object from where the catalog says the objects are now.
        """
        code = kind.code
        for loc in locs:
            if loc.kind != code:
                raise CorruptObject(f"object {loc.id[:16]} is a "
                                    f"{Kind.from_code(loc.kind).value}, expected a {kind.value}")
        runs: list[list[ObjectLocation]] = []
        run: list[ObjectLocation] = []
        pack, first, last_end = "", 0, 0
        for loc in sorted(locs, key=_PACK_ORDER):
            off = loc.offset
            if run and loc.pack == pack and off - last_end <= MERGE_GAP and \
                    off + loc.length - first <= READ_SPAN:
                run.append(loc)
                last_end = max(last_end, off + loc.length)
            else:
                run = [loc]
                runs.append(run)
                pack, first, last_end = loc.pack, off, off + loc.length
        out: dict[str, bytes] = {}
        for run in runs:
            base = run[0].offset
            end = max(x.offset + x.length for x in run)
            try:
                data = self.storage.get_bytes(pack_key(run[0].pack), base, end)
            except ObjectNotFound:
                self.forget_locations(x.id for x in run)
                for x in run:
                    out[x.id] = self.read_raw(x.id, kind)
                continue
            if len(run) == 1:
                if check:
                    verify(kind, run[0].id, data)
                out[run[0].id] = data
                continue
            view = memoryview(data)
            for x in run:
                body = view[x.offset - base:x.offset - base + x.length]
                if check:
                    verify(kind, x.id, body)
                out[x.id] = body.tobytes()
        return out

    def read_small_files(self, manifests: list[FileManifest], *, verified: bool = True
                         ) -> list[bytes]:
        """The verified contents of many (small) files, in order: chunks located together
        (cached locations first) and read by :meth:`_read_many`, so the cost is a few large
        reads plus one hash per chunk. The caller bounds the total size (it is in memory).

        ``verified=False`` skips the hashes, for readers that only derive metadata which
        never stands in for the content (the search indexer's extraction of what a put has
        just written), and takes small chunks this process has just stored from memory
        (:meth:`remember_chunk`): every read that returns bytes to a user, a checkout or the
        safety scanner reads the store and verifies them."""
        wanted = {cid: n for m in manifests for cid, n in m.chunks}
        bodies: dict[str, bytes] = {}
        if not verified:
            # Metadata readers take what this process has just stored from memory; readers
            # of content (checkout) always read the store, so damage there is seen.
            recent = self._recent.get
            for cid, n in wanted.items():
                body = recent(cid)
                if body is not None and len(body) == n:
                    bodies[cid] = body
        cids = [cid for cid in wanted if cid not in bodies]
        locs: dict[str, ObjectLocation] = {}
        for start in range(0, len(cids), LOCATE_BATCH):
            locs.update(self.locate_many(cids[start:start + LOCATE_BATCH]))
        for cid in cids:
            _chunk_at(locs, cid, wanted[cid])
        if locs:
            bodies.update(self._read_many(list(locs.values()), Kind.CHUNK, check=verified))
        return [bodies[m.chunks[0][0]] if len(m.chunks) == 1
                else b"".join(bodies[cid] for cid, _ in m.chunks) for m in manifests]

    # -- streaming file content -----------------------------------------------------------
    def _spans(self, manifest: FileManifest) -> Iterator[tuple[str, int, int, list[str]]]:
        """Group a file's chunks into ranged reads: (pack, start, end, [chunk ids])."""
        chunks = manifest.chunks
        for base in range(0, len(chunks), LOCATE_BATCH):
            part = chunks[base:base + LOCATE_BATCH]
            locs = self.locate_many(cid for cid, _ in part)
            span: list[Any] | None = None
            for cid, n in part:
                loc = _chunk_at(locs, cid, n)
                if (span is not None and span[0] == loc.pack and span[2] == loc.offset
                        and span[2] - span[1] + n <= READ_SPAN):
                    span[2] += n
                    span[3].append(cid)
                else:
                    if span is not None:
                        yield span[0], span[1], span[2], span[3]
                    span = [loc.pack, loc.offset, loc.offset + n, [cid]]
            if span is not None:
                yield span[0], span[1], span[2], span[3]

    def _read_span(self, span: tuple[str, int, int, list[str]],
                   manifest_lengths: dict[str, int]) -> bytes:
        pack, start, end, ids = span
        try:
            data = self.storage.get_bytes(pack_key(pack), start, end)
        except ObjectNotFound:
            # The span came from cached locations and gc has deleted that pack since:
            # read its chunks one by one from where the catalog says they are now.
            self.forget_locations(ids)
            return b"".join(self.read_raw(cid, Kind.CHUNK) for cid in ids)
        view = memoryview(data)
        off = 0
        for cid in ids:
            n = manifest_lengths[cid]
            verify(Kind.CHUNK, cid, view[off:off + n])
            off += n
        return data

    def iter_file(self, manifest: FileManifest, *, threads: int = 2,
                  lookahead: int = 4) -> Iterator[bytes]:
        """Yield a file's verified content in order, in pieces of up to ``READ_SPAN`` bytes.

        Reads and hash checks of the next spans run in a small thread pool (both release
        the GIL) while the caller writes the current one.
        """
        lengths = dict(manifest.chunks)
        spans = self._spans(manifest)
        if threads <= 1:
            for span in spans:
                yield self._read_span(span, lengths)
            return
        with ThreadPoolExecutor(max_workers=threads,
                                thread_name_prefix="blacklake-read") as pool:
            window: list[Any] = []
            for span in spans:
                window.append(pool.submit(self._read_span, span, lengths))
                if len(window) > lookahead:
                    yield window.pop(0).result()
            for fut in window:
                yield fut.result()

    def copy_local(self, manifest: FileManifest, out_fd: int, *, threads: int = 2,
                   progress: Any = None) -> bool:
        """Write a file into ``out_fd`` straight from local packs; False if not possible.

        The kernel copies the bytes (``copy_file_range``, one call per run of contiguous
        spans) while the chunks are verified through read-only ``mmap`` s of the packs (no
        copy into Python): with ``threads`` >= 2 the copy runs on a worker thread and the
        verification on two others, at the same time — copies into one file serialise on
        its inode anyway, so splitting the copy would gain nothing. The caller publishes
        the output only after this returns, so a chunk failing verification never becomes
        visible.
        """
        if self.storage.local_path(pack_key("x")) is None or not hasattr(os, "copy_file_range"):
            return False
        lengths = dict(manifest.chunks)
        jobs = self._local_spans(manifest)

        def pack_path(pack: str) -> str:
            return str(self.storage.local_path(pack_key(pack)))

        def open_pack(pack: str) -> int:
            try:
                return os.open(pack_path(pack), os.O_RDONLY)
            except FileNotFoundError:
                raise ObjectNotFound(f"pack {pack} is missing (run `blacklake fsck`)") from None

        def verify(job: tuple[tuple[str, int, int, list[str]], int]) -> None:
            (pack, start, end, ids), _ = job
            fd = open_pack(pack)
            try:
                if end > os.fstat(fd).st_size:
                    raise CorruptObject(f"pack {pack} is truncated")
                # Map just this span (page-aligned), pre-faulted in one go where supported.
                base = start - start % mmap.ALLOCATIONGRANULARITY
                flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
                with mmap.mmap(fd, end - base, flags=flags, prot=mmap.PROT_READ,
                               offset=base) as mm:
                    # No slice of the map may outlive this block (an exception's traceback
                    # holding one would keep the map from closing), hence the explicit
                    # releases and the error raised only after them.
                    bad = None
                    with memoryview(mm) as view:
                        off = start - base
                        for cid in ids:
                            n = lengths[cid]
                            with view[off:off + n] as piece:
                                if object_id(Kind.CHUNK, piece) != cid:
                                    bad = cid
                                    break
                            off += n
                if bad is not None:
                    raise CorruptObject(f"corrupt chunk object {bad[:16]} in pack {pack}")
            finally:
                os.close(fd)
            if progress is not None:
                progress.advance(end - start)

        def copy_all() -> None:
            # Runs of spans back to back in one pack are one kernel copy.
            runs: list[list[Any]] = []
            for (pack, start, end, _), out_off in jobs:
                last = runs[-1] if runs else None
                if last is not None and last[0] == pack and last[2] == start \
                        and last[3] + (last[2] - last[1]) == out_off:
                    last[2] = end
                else:
                    runs.append([pack, start, end, out_off])
            for pack, start, end, out_off in runs:
                fd = open_pack(pack)
                try:
                    _copy_range(fd, out_fd, start, end - start, out_off)
                finally:
                    os.close(fd)

        if threads <= 1 or len(jobs) <= 1:
            for job in jobs:
                verify(job)
            copy_all()
            return True
        # The copy on one worker; the verification split between this thread and another
        # (BLAKE3 of a span releases the GIL, so the halves run at once).
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="blacklake-copy") as pool:
            copying = pool.submit(copy_all)
            failed = threading.Event()

            def verify_all(part: list[tuple[tuple[str, int, int, list[str]], int]]) -> None:
                try:
                    for job in part:
                        if failed.is_set() or (copying.done() and
                                               copying.exception() is not None):
                            return  # reported below
                        verify(job)
                except BaseException:
                    failed.set()
                    raise

            half = (len(jobs) + 1) // 2
            other = pool.submit(verify_all, jobs[half:])
            try:
                verify_all(jobs[:half])
            finally:
                copying.result()  # wait for the copy either way; raise its error first
                other.result()
        return True

    def _local_spans(self, manifest: FileManifest, *, relocate: bool = True
                     ) -> list[tuple[tuple[str, int, int, list[str]], int]]:
        """``(span, offset in the file)`` for every span of ``manifest``; spans whose pack
        is gone (cached locations of a pack gc has deleted since) are located again."""
        jobs: list[tuple[tuple[str, int, int, list[str]], int]] = []
        pos = 0
        for span in self._spans(manifest):
            jobs.append((span, pos))
            pos += span[2] - span[1]
        gone = {p for p in {span[0] for span, _ in jobs}
                if not os.path.exists(str(self.storage.local_path(pack_key(p))))}
        if gone and relocate:
            self.forget_locations(cid for span, _ in jobs if span[0] in gone
                                  for cid in span[3])
            return self._local_spans(manifest, relocate=False)
        return jobs

    def read_file(self, manifest: FileManifest) -> bytes:
        """A whole file's content in memory (small files)."""
        return b"".join(self.iter_file(manifest, threads=1))

    def chunk(self, cid: str) -> bytes:
        """One verified chunk."""
        return self.read_raw(cid, Kind.CHUNK)

