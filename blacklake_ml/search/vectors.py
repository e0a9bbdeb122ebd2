"""The dense vector index: FAISS, persisted under the store's home, synced from the catalog.

The catalog is the truth (vectors by text hash, an append-only card change log); the FAISS
file is a cache that remembers the last change it applied and replays the rest on load, so
any number of processes converge, and a lost or stale file is only a slower first query.

Index type by size: an exact ``IndexIDMap2(IndexFlatIP)`` up to ``FLAT_MAX`` vectors, above it
``IndexIVFFlat`` (inner product, ~4·√n lists, trained on the vectors present; rebuilt when
the collection has grown 4× past its training size). Both support add/remove by card id.

A saved IVF index is opened memory-mapped (``IO_FLAG_MMAP``): a query touches only the
lists it probes, so a fresh process neither reads nor holds the whole file (~150 MB at 100k
cards). Mapped lists are read-only; the first change to apply re-reads the file in full.

The state file also remembers ``embedded_seq``: a change-log position at which no card lacked
a vector, so a process that finds the log still there need not scan the card table for texts
to embed (which costs ~0.2 s at 100k cards).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from blacklake_ml.catalog.search_base import SearchIndex
from blacklake_ml.errors import MissingDependency

FLAT_MAX = 20_000
NPROBE = 24
SAVE_AFTER = 2000  # unsaved changes before a sync writes the file itself


def _faiss() -> Any:
    try:
        import faiss
    except ImportError:
        raise MissingDependency("dense search (FAISS)", "search") from None
    return faiss


class VectorIndex:
    """FAISS index of card vectors for one catalog and embedding model."""

    def __init__(self, directory: Path, catalog_key: str, model: str, dim: int) -> None:
        tag = hashlib.sha256(f"{catalog_key}\0{model}".encode()).hexdigest()[:16]
        self.path = directory / f"vectors-{tag}.faiss"
        self.state_path = self.path.with_suffix(".json")
        self.model = model
        self.dim = dim
        self.seq = 0
        self.trained_n = 0
        #: every card of a change up to here had a vector (-1: unknown); see the module doc
        self.embedded_seq = -1
        self._index: Any = None
        self._mapped = False
        self._dirty = 0
        self._lock = threading.RLock()
        self._load()

    # -- persistence -----------------------------------------------------------------------
    def _load(self, mmap: bool = True) -> None:
        faiss = _faiss()
        try:
            state = json.loads(self.state_path.read_text())
            if state.get("model") != self.model or state.get("dim") != self.dim:
                return
            index = faiss.read_index(str(self.path), faiss.IO_FLAG_MMAP if mmap else 0)
        except (OSError, ValueError, RuntimeError, KeyError):
            return  # missing or unreadable: rebuilt from the catalog on first sync
        self._index, self.seq = index, int(state["seq"])
        # FAISS maps only IVF lists; a flat index is read into memory whatever the flag.
        self._mapped = mmap and isinstance(index, faiss.IndexIVF)
        self.trained_n = int(state.get("trained_n", 0))
        self.embedded_seq = int(state.get("embedded_seq", -1))
        self._dirty = 0

    def _state(self) -> dict[str, Any]:
        return {"model": self.model, "dim": self.dim, "seq": self.seq,
                "trained_n": self.trained_n, "ntotal": self.ntotal,
                "embedded_seq": self.embedded_seq}

    def _write_state(self) -> None:
        tmp_state = self.state_path.with_name(f".{self.state_path.name}.{os.getpid()}.tmp")
        tmp_state.write_text(json.dumps(self._state()))
        os.replace(tmp_state, self.state_path)

    def mark_embedded(self, seq: int) -> None:
        """Record that no card of a change up to ``seq`` lacks a vector. Persisted at once
        (the state file only) when the index itself has nothing unsaved, else with it."""
        with self._lock:
            if seq == self.embedded_seq:
                return
            self.embedded_seq = seq
            if self._index is not None and not self._dirty and self.state_path.exists():
                try:
                    self._write_state()
                except OSError:
                    pass  # only a cache: the next process scans again

    def save(self) -> None:
        """Write the index and its state atomically (temp + rename)."""
        with self._lock:
            if self._index is None or not self._dirty:
                return
            faiss = _faiss()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            faiss.write_index(self._index, str(tmp))
            os.replace(tmp, self.path)
            self._write_state()
            self._dirty = 0

    # -- building ----------------------------------------------------------------------------
    @property
    def ntotal(self) -> int:
        """Vectors in the index."""
        return int(self._index.ntotal) if self._index is not None else 0

    @property
    def kind(self) -> str:
        """"flat" or "ivf"."""
        return "ivf" if self.trained_n else "flat"

    def _new_index(self, sample: np.ndarray | None) -> Any:
        faiss = _faiss()
        n = 0 if sample is None else len(sample)
        if n <= FLAT_MAX:
            self.trained_n = 0
            return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        nlist = int(4 * math.sqrt(n))
        quantizer = faiss.IndexFlatIP(self.dim)
        index = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(sample)
        index.nprobe = NPROBE
        self.trained_n = n
        return index

    def rebuild(self, catalog: SearchIndex) -> None:
        """Build from every card vector in the catalog."""
        with self._lock:
            seq = catalog.last_change()
            ids: list[np.ndarray] = []
            vecs: list[np.ndarray] = []
            for batch in catalog.iter_vectors(self.model):
                ids.append(np.array([i for i, _ in batch], dtype=np.int64))
                vecs.append(np.frombuffer(b"".join(v for _, v in batch),
                                          dtype=np.float32).reshape(-1, self.dim))
            all_ids = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
            all_vecs = np.concatenate(vecs) if vecs else np.zeros((0, self.dim), np.float32)
            index = self._new_index(all_vecs if len(all_vecs) else None)
            if len(all_ids):
                index.add_with_ids(all_vecs, all_ids)
            self._index, self.seq = index, seq
            self._mapped = False
            self._dirty += 1
            self.save()

    def sync(self, catalog: SearchIndex, last: int | None = None) -> int:
        """Apply catalog changes since the last sync, up to at least ``last`` (the
        catalog's :meth:`~SearchIndex.last_change`, asked here unless the caller just
        did); the number of changes applied."""
        with self._lock:
            if last is None:
                last = catalog.last_change()
            if self._index is None or self.seq > last:
                # No file yet, or one ahead of the catalog's log (a catalog made anew at the
                # same URL): build from the vectors the catalog holds.
                if self._index is not None:
                    self.embedded_seq = -1  # that mark was of the other catalog's log
                self.rebuild(catalog)
                return self.ntotal
            applied = 0
            # Up to date (every query's case): no change-log query at all.
            replay = self.seq < last
            while replay:
                changes = catalog.changes_since(self.seq, 50_000)
                if not changes:
                    break
                if self._mapped:  # mapped lists are read-only: read the file in full
                    self._index, self._mapped = None, False
                    self._load(mmap=False)
                    if self._index is None:
                        self.rebuild(catalog)
                        return self.ntotal
                    continue
                if len(changes) > max(50_000, self.ntotal):
                    self.rebuild(catalog)  # cheaper than replaying a huge log
                    return len(changes)
                touched = {cid for _, cid, _ in changes}
                ids = np.fromiter(touched, dtype=np.int64)
                self._index.remove_ids(ids)
                live = catalog.vectors_for(self.model, sorted(touched))
                if live:
                    add_ids = np.fromiter(live, dtype=np.int64)
                    vecs = np.frombuffer(b"".join(live.values()), dtype=np.float32)
                    self._index.add_with_ids(vecs.reshape(-1, self.dim), add_ids)
                self.seq = changes[-1][0]
                applied += len(changes)
                self._dirty += len(changes)
            grown = self.trained_n and self.ntotal > 4 * self.trained_n
            crossed = not self.trained_n and self.ntotal > FLAT_MAX
            if grown or crossed:
                self.rebuild(catalog)
            elif self._dirty > max(SAVE_AFTER, self.ntotal // 20):
                # Writing the file costs seconds at 100k vectors: never on a small update's
                # path; the store's close() saves, and replaying a short log on load is cheap.
                self.save()
            return applied

    # -- querying ----------------------------------------------------------------------------
    def search(self, query: np.ndarray, k: int, allowed: list[int] | None = None
               ) -> list[tuple[int, float]]:
        """``(card id, cosine)`` best first; only ``allowed`` ids when given (exact then)."""
        faiss = _faiss()
        with self._lock:
            if self._index is None or self._index.ntotal == 0 or k <= 0:
                return []
            q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
            params = None
            if allowed is not None:
                if not allowed:
                    return []
                if len(allowed) * 5 >= self._index.ntotal:
                    # A broad filter: oversample the normal search and intersect (as good as
                    # an unfiltered query); too few eligible ids back -> the exact path below.
                    ok = set(allowed)
                    want = min(k, len(ok))
                    over = min(self._index.ntotal, 8 * k * self._index.ntotal // len(ok))
                    dist, ids = self._index.search(q, over)
                    got = [(int(i), float(d)) for i, d in zip(ids[0], dist[0])
                           if i >= 0 and int(i) in ok]
                    if len(got) >= want:
                        return got[:want]
                sel = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
                if self.trained_n:
                    # Probe every list: a filter must never hide a good match behind nprobe.
                    params = faiss.SearchParametersIVF(sel=sel, nprobe=self._index.nlist)
                else:
                    params = faiss.SearchParameters(sel=sel)
            k = min(k, self._index.ntotal)
            dist, ids = self._index.search(q, k, params=params)
        return [(int(i), float(d)) for i, d in zip(ids[0], dist[0]) if i >= 0]
