"""Parallel content-defined chunking cuts exactly where the sequential cutter does.

Chunk boundaries are part of the store format (they decide chunk ids, so dedup between
versions): the parallel cutter must agree with :meth:`Chunker.cut` on every input, including
inputs where the parts never resynchronise (constant bytes: every chunk is max-size).
"""

from __future__ import annotations

import os
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blacklake_ml.core.chunking import PARALLEL_MIN, Chunker, ChunkerParams

POOL = ThreadPoolExecutor(max_workers=4)


def sequential(ch: Chunker, data: bytes) -> list[tuple[int, int]]:
    out, off = [], 0
    for piece in ch.cut(data):
        out.append((off, len(piece)))
        off += len(piece)
    return out


def _data(kind: str, n: int, seed: int) -> bytes:
    rng = random.Random(seed)
    if kind == "random":
        return rng.randbytes(n)
    if kind == "zeros":
        return bytes(n)
    if kind == "repeating":  # a short period: boundaries recur at the same phase
        unit = rng.randbytes(rng.randint(1, 5000))
        return (unit * (n // len(unit) + 1))[:n]
    # random with long constant runs (sparse checkpoints, padding)
    out = bytearray(rng.randbytes(n))
    for _ in range(8):
        a = rng.randrange(n)
        out[a:a + rng.randint(1, 600_000)] = bytes(min(n - a, 600_000))
    return bytes(out[:n])


@pytest.mark.parametrize("kind", ["random", "zeros", "repeating", "runs"])
@pytest.mark.parametrize("parts", [2, 3, 4])
def test_parallel_cut_equals_sequential(kind: str, parts: int) -> None:
    ch = Chunker()
    for seed, n in enumerate((PARALLEL_MIN, PARALLEL_MIN + 1, 9 * 1024 * 1024 + 12345)):
        data = _data(kind, n, seed)
        assert ch.cut_offsets(data, POOL.submit, parts) == sequential(ch, data)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32), extra=st.integers(0, 3 * 1024 * 1024),
       parts=st.integers(2, 5), small=st.booleans())
def test_parallel_cut_equals_sequential_generated(seed: int, extra: int, parts: int,
                                                  small: bool) -> None:
    # small chunk parameters make many seams land near boundaries
    ch = Chunker(ChunkerParams(avg=4096, min=1024, max=16384) if small else ChunkerParams())
    data = random.Random(seed).randbytes(PARALLEL_MIN + extra)
    assert ch.cut_offsets(data, POOL.submit, parts) == sequential(ch, data)


def test_small_and_empty_buffers() -> None:
    ch = Chunker()
    assert ch.cut_offsets(b"", POOL.submit) == []
    data = os.urandom(100_000)
    assert ch.cut_offsets(data, POOL.submit) == sequential(ch, data)
    assert ch.cut_offsets(data) == sequential(ch, data)


def test_put_of_a_large_file_keeps_the_sequential_file_id(tmp_path: Path) -> None:
    """Through the whole write path (windows, carried tails, parallel halves): the stored
    file is the one sequential cutting describes, byte for byte the same object id."""
    from blacklake_ml.api import Store
    from blacklake_ml.core.objects import FileManifest
    from blacklake_ml.service.ingest import WINDOW, chunk_id

    rng = random.Random(7)
    data = rng.randbytes(WINDOW + 5 * 1024 * 1024) + bytes(3 * 1024 * 1024) + rng.randbytes(999)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    ch = Chunker()
    # big files: no inline SHA-256 (version 2 manifest)
    expect = FileManifest(len(data), None, tuple((chunk_id(p), len(p)) for p in ch.cut(data))).id
    with Store.open(tmp_path / "home") as store:
        repo = store.create_repo("r")
        repo.put(src, "big.bin", message="big")
        assert repo.entry("main", "big.bin").id == expect
        assert repo.read_bytes("main", "big.bin") == data
