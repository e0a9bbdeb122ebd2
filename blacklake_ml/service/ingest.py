"""Turning local bytes into stored files: chunk, hash, deduplicate, pack. The hot write path.

Large files stream through fixed windows read into private buffers (so the bytes hashed are
exactly the bytes written, even if the source file changes underneath), in a pipeline that
keeps both cores busy: while worker threads compute the chunk BLAKE3s of window *i*, the
caller's thread reads and cuts window *i+1* and a writer thread stores the new chunks of
window *i-1*. blake3 and pyfastcdc release the GIL on large inputs. Large files get no
whole-file SHA-256 on this path (see :class:`~blacklake_ml.core.objects.FileManifest`).

Small files are handled in batches: one catalog round trip decides, for the whole batch, which
chunks the store already has. Chunks found in the store are not written again; their ids are
recorded in :attr:`Ingestor.required` so the commit can check, atomically with its ref update,
that a concurrent ``gc`` did not collect them meanwhile.
"""

from __future__ import annotations

import hashlib
import mmap
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from blacklake_ml.catalog import BlobRow, Catalog
from blacklake_ml.core.chunking import Chunker
from blacklake_ml.core.ids import Kind, object_id
from blacklake_ml.core.objects import DIGEST_INLINE_MAX, FileManifest
from blacklake_ml.core.progress import NULL_PROGRESS, Progress
from blacklake_ml.errors import Cancelled, PathNotFound
from blacklake_ml.service.packs import PackWriter

LARGE_FILE = DIGEST_INLINE_MAX
#: bytes read per pipeline step; small, because buffers are memory touched for the first
#: time, which is what costs on these VMs (4 x 8 MiB; 32 MiB windows were no faster)
WINDOW = 8 * 1024 * 1024
SMALL_BATCH_FILES = 512
SMALL_BATCH_BYTES = 64 * 1024 * 1024


def chunk_id(view: bytes | bytearray | memoryview) -> str:
    """Id of a chunk body."""
    return object_id(Kind.CHUNK, view)


@dataclass
class _Cut:
    """A chunk of a buffer: id, offset into the buffer, length."""

    cid: str
    off: int
    n: int


def _hash_cuts(buf: bytes | bytearray | mmap.mmap, cuts: list[tuple[int, int]]) -> list[_Cut]:
    view = memoryview(buf)
    return [_Cut(chunk_id(view[o:o + n]), o, n) for o, n in cuts]


class Ingestor:
    """Stores file contents for one commit; collects manifests, digests and dedup facts."""

    def __init__(self, catalog: Catalog, writer: PackWriter, chunker: Chunker,
                 progress: Progress = NULL_PROGRESS,
                 cancelled: Callable[[], bool] = lambda: False,
                 remember_chunk: Callable[[str, bytes], None] | None = None) -> None:
        self.catalog = catalog
        #: told each single-chunk small content with its id (ObjectDB.remember_chunk)
        self._remember = remember_chunk
        self.writer = writer
        self.chunker = chunker
        self.progress = progress
        self._cancelled = cancelled
        #: ids found already stored (not written by us): must survive until the ref moves
        self.required: set[str] = set()
        self._known: set[str] = set()
        self.blobs: dict[str, BlobRow] = {}
        self.files = 0
        self.bytes = 0
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="blacklake-hash")

    def close(self) -> None:
        """Stop worker threads."""
        self._pool.shutdown(wait=True)

    # -- dedup ----------------------------------------------------------------------------
    def _missing(self, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` must be written (neither written by us nor already stored)."""
        unknown = [i for i in dict.fromkeys(ids)
                   if i not in self.writer.written and i not in self._known]
        if not unknown:
            return set()
        found = self.catalog.existing(unknown)
        self._known.update(found)
        self.required.update(found)
        return set(unknown) - found

    def _write_cuts(self, buf: bytes | bytearray | memoryview | mmap.mmap, cuts: Sequence[_Cut],
                    missing: set[str]) -> None:
        """Write the missing chunks of one buffer, coalescing adjacent ones into runs."""
        view = memoryview(buf)
        written = self.writer.written
        seen: set[str] = set()  # a chunk repeated inside this buffer is written once
        run: list[tuple[str, int]] = []
        run_start = run_end = 0
        for c in cuts:
            if c.cid not in missing or c.cid in seen or c.cid in written:
                continue
            seen.add(c.cid)
            if run and c.off == run_end:
                run.append((c.cid, c.n))
                run_end += c.n
                continue
            if run:
                self.writer.add_run(Kind.CHUNK, run, view[run_start:run_end])
            run, run_start, run_end = [(c.cid, c.n)], c.off, c.off + c.n
        if run:
            self.writer.add_run(Kind.CHUNK, run, view[run_start:run_end])

    def _check_cancel(self) -> None:
        if self._cancelled():
            raise Cancelled("cancelled; nothing was committed")

    # -- large files ----------------------------------------------------------------------
    def _large(self, path: str, size: int) -> FileManifest:
        chunks: list[tuple[str, int]] = []
        # Three stages, so no single one bounds the throughput: this thread reads and cuts
        # (one half of each window cut on cut_pool); the pool computes the chunk BLAKE3s (a
        # window split in two); one thread checks which chunks are new and writes them into
        # the pack, in order.
        cut_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blacklake-cut")
        write_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blacklake-write")
        nbuf = 4
        # Anonymous maps, not bytearrays: a bytearray is zero-filled up front (a pass over
        # 128 MiB before the first byte is read); a map's pages appear as they are read into.
        ring = [mmap.mmap(-1, WINDOW + self.chunker.params.max) for _ in range(nbuf)]
        busy: list[list[Future[Any]]] = [[] for _ in range(nbuf)]

        def store(buf: mmap.mmap, futs: list[Future[list[_Cut]]]) -> None:
            cuts = [c for fut in futs for c in fut.result()]
            chunks.extend((c.cid, c.n) for c in cuts)
            self._write_cuts(buf, cuts, self._missing(c.cid for c in cuts))
            self.progress.advance(sum(c.n for c in cuts))

        try:
            with open(path, "rb", buffering=0) as f:
                carry = b""
                done = 0
                turn = 0
                while True:
                    self._check_cancel()
                    slot = turn % nbuf
                    turn += 1
                    for fut in busy[slot]:
                        fut.result()  # every stage is done with this buffer (or failed)
                    buf = ring[slot]
                    buf[:len(carry)] = carry
                    view = memoryview(buf)
                    n, want = len(carry), len(carry) + WINDOW
                    while n < want:
                        got = f.readinto(view[n:want])
                        if not got:
                            break
                        n += got
                    done += n - len(carry)
                    eof = n < want
                    # cut in two halves at once (content-defined cutting is the slowest
                    # stage; the seam is resynchronised so the cuts are the sequential ones)
                    cuts = self.chunker.cut_offsets(view[:n], cut_pool.submit)
                    del view
                    if not eof and cuts:
                        # The last piece ended at the window edge, not at a content boundary:
                        # cut it again with the next window (CDC restarts identically there).
                        lo, ln = cuts.pop()
                        carry = bytes(buf[lo:lo + ln])
                    else:
                        carry = b""
                    half = (len(cuts) + 1) // 2
                    futs = [self._pool.submit(_hash_cuts, buf, cuts[:half]),
                            self._pool.submit(_hash_cuts, buf, cuts[half:])]
                    busy[slot] = [write_pool.submit(store, buf, futs)]
                    if eof:
                        break
                for pending in busy:
                    for fut in pending:
                        fut.result()
        finally:
            cut_pool.shutdown(wait=True)
            write_pool.shutdown(wait=True)
        if done != size:
            size = done  # the file changed size while we read it: record what we stored
        return FileManifest(size=size, sha256=None, chunks=tuple(chunks))

    # -- small files ----------------------------------------------------------------------
    def _hash_small(self, data: bytes) -> tuple[str | None, list[_Cut]]:
        # The manifest's version depends on the size alone, so equal contents get equal
        # file ids whether they came from disk or from memory.
        sha = hashlib.sha256(data).hexdigest() if len(data) < DIGEST_INLINE_MAX else None
        cuts = []
        off = 0
        for piece in self.chunker.cut(data):
            cuts.append(_Cut(chunk_id(piece), off, len(piece)))
            off += len(piece)
        return sha, cuts

    def _hash_many(self, items: Sequence[bytes | str]) -> list[tuple[bytes, str | None, list[_Cut]]]:
        """Read (paths) and hash many small contents, split across the worker threads.

        One task per worker rather than one per file: per-task overhead would dominate
        for 4 KiB files.
        """
        def work(part: Sequence[bytes | str]) -> list[tuple[bytes, str | None, list[_Cut]]]:
            out = []
            for item in part:
                if isinstance(item, str):
                    with open(item, "rb") as f:
                        data = f.read()
                else:
                    data = item
                out.append((data, *self._hash_small(data)))
            return out

        if len(items) < 16:
            return work(items)
        half = (len(items) + 1) // 2
        futs = [self._pool.submit(work, items[:half]), self._pool.submit(work, items[half:])]
        return futs[0].result() + futs[1].result()

    def _small_batch(self, items: Sequence[bytes | str]) -> list[FileManifest]:
        hashed = self._hash_many(items)
        missing = self._missing(c.cid for _, _, cuts in hashed for c in cuts)
        out = []
        remember = self._remember
        for data, sha, cuts in hashed:
            if missing:
                self._write_cuts(data, cuts, missing)
            if remember is not None and len(cuts) == 1:
                remember(cuts[0].cid, data)
            out.append(FileManifest(size=len(data), sha256=sha,
                                    chunks=tuple((c.cid, c.n) for c in cuts)))
            self.progress.advance(len(data))
        return out

    # -- public ---------------------------------------------------------------------------
    def store_bytes(self, datas: Sequence[bytes]) -> list[tuple[str, FileManifest]]:
        """Store in-memory contents; returns ``(file id, manifest)`` per item, in order."""
        manifests: list[FileManifest] = []
        batch: list[bytes] = []
        size = 0
        for data in datas:
            batch.append(bytes(data))
            size += len(data)
            if len(batch) >= SMALL_BATCH_FILES or size >= SMALL_BATCH_BYTES:
                self._check_cancel()
                manifests.extend(self._small_batch(batch))
                batch, size = [], 0
        if batch:
            manifests.extend(self._small_batch(batch))
        return self._finish(manifests)

    def store_paths(self, paths: Sequence[str], sizes: Sequence[int] | None = None
                    ) -> list[tuple[str, FileManifest]]:
        """Store local files; returns ``(file id, manifest)`` per path, in order.

        ``sizes`` (from a directory scan) saves a ``stat`` per file.
        """
        if sizes is None:
            sizes = []
            for p in paths:
                try:
                    sizes.append(os.stat(p).st_size)
                except FileNotFoundError:
                    raise PathNotFound(f"no such file: {p}") from None
        results: list[FileManifest | None] = [None] * len(paths)
        batch_idx: list[int] = []
        size = 0

        def flush_small() -> None:
            nonlocal batch_idx, size
            if batch_idx:
                self._check_cancel()
                try:
                    made = self._small_batch([paths[i] for i in batch_idx])
                except FileNotFoundError as exc:
                    raise PathNotFound(f"no such file: {exc.filename}") from None
                for i, m in zip(batch_idx, made):
                    results[i] = m
            batch_idx, size = [], 0

        for i, p in enumerate(paths):
            if sizes[i] >= LARGE_FILE:
                flush_small()
                self._check_cancel()
                results[i] = self._large(p, sizes[i])
                continue
            batch_idx.append(i)
            size += sizes[i]
            if len(batch_idx) >= SMALL_BATCH_FILES or size >= SMALL_BATCH_BYTES:
                flush_small()
        flush_small()
        return self._finish([m for m in results if m is not None])

    def _finish(self, manifests: list[FileManifest]) -> list[tuple[str, FileManifest]]:
        """Write the file objects (deduplicated) and record their digests."""
        bodies = [m.encode() for m in manifests]
        ids = [object_id(Kind.FILE, b) for b in bodies]
        missing = self._missing(ids)
        for oid, body, m in zip(ids, bodies, manifests):
            if oid in missing and oid not in self.writer.written:
                self.writer.add(Kind.FILE, oid, body)
            self.blobs[oid] = BlobRow(oid, m.size, m.sha256)
            self.files += 1
            self.bytes += m.size
        return list(zip(ids, manifests))
