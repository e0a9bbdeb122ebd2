"""MinHash sketches of files' chunk sets, banded for locality-sensitive lookup.

Two files that share chunks (a fine-tune with frozen layers, a re-save, a partly quantized
variant) have similar chunk-id sets; the fraction of equal MinHash slots estimates their
Jaccard similarity, and equal band buckets make them candidates without scanning the store.
Candidates are then verified exactly against the file manifests.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from blacklake_ml.service.objectdb import ObjectDB

if TYPE_CHECKING:  # numpy is imported when a sketch is computed: a put of small files needs none
    import numpy as np

NUM_HASHES = 128
ROWS_PER_BAND = 2  # 64 bands of 2: Jaccard 0.1 -> ~47% candidate chance, 0.2 -> ~93%
NUM_BANDS = NUM_HASHES // ROWS_PER_BAND
#: smaller files are matched by identical content id only (a handful of chunks says little)
SKETCH_MIN_SIZE = 256 * 1024



@lru_cache(maxsize=1)
def _consts() -> tuple[Any, Any, Any, Any]:
    """numpy, the MinHash seeds and the two splitmix64 multipliers."""
    import numpy as np

    seeds = np.random.default_rng(0x5EED_B1AC).integers(0, 2**63, NUM_HASHES, dtype=np.uint64)
    return np, seeds, np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijection on uint64, so ``min(mix(x ^ seed))`` is a MinHash."""
    np, _, m1, m2 = _consts()
    z = (z ^ (z >> np.uint64(30))) * m1
    z = (z ^ (z >> np.uint64(27))) * m2
    return z ^ (z >> np.uint64(31))


def signature(chunk_ids: Sequence[str]) -> np.ndarray:
    """MinHash signature (``NUM_HASHES`` uint64) of a set of hex chunk ids."""
    np, seeds, _, _ = _consts()
    keys = np.fromiter({int(c[:16], 16) for c in chunk_ids}, dtype=np.uint64)
    if keys.size == 0:
        return np.full(NUM_HASHES, np.iinfo(np.uint64).max, dtype=np.uint64)
    sig = np.empty(NUM_HASHES, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i in range(0, NUM_HASHES, 16):  # bounded memory for files with many chunks
            block = _mix(keys[None, :] ^ seeds[i:i + 16, None])
            sig[i:i + 16] = block.min(axis=1)
    return sig


def buckets(sig: np.ndarray) -> list[int]:
    """One signed 63-bit bucket per band."""
    np = _consts()[0]
    bands = sig.reshape(NUM_BANDS, ROWS_PER_BAND)
    with np.errstate(over="ignore"):
        h = _mix(bands[:, 0] ^ _mix(bands[:, 1] ^ np.uint64(0x9E3779B97F4A7C15)))
    return [int(x) & 0x7FFF_FFFF_FFFF_FFFF for x in h]


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two stored signatures."""
    np = _consts()[0]
    sa, sb = np.frombuffer(a, dtype=np.uint64), np.frombuffer(b, dtype=np.uint64)
    return float(np.mean(sa == sb))


def sketch_rows(odb: ObjectDB, file_ids: Sequence[str]
                ) -> list[tuple[str, int, int, bytes, list[int]]]:
    """``(file_id, size, nchunks, signature, buckets)`` for catalog storage."""
    rows = []
    for fid in file_ids:
        m = odb.file(fid)
        sig = signature([c for c, _ in m.chunks])
        rows.append((fid, m.size, len(m.chunks), sig.tobytes(), buckets(sig)))
    return rows
