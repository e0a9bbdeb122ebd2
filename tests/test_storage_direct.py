"""The local spool's direct-I/O mode: bulk spools bypass the page cache, small-object spools
stay buffered, and a filesystem refusing ``O_DIRECT`` falls back without losing a byte."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from blacklake_ml.storage import LocalStorage
from blacklake_ml.storage import direct_io
from blacklake_ml.storage.direct_io import STAGE_SIZE

pytestmark = pytest.mark.skipif(not direct_io.SUPPORTED, reason="no O_DIRECT on this platform")


def _write(storage: LocalStorage, key: str, pieces: list[bytes], hint: int | None) -> object:
    sp = storage.spool(key, size_hint=hint)
    for p in pieces:
        sp.write(p)
    return sp


def _pieces(sizes: list[int], seed: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(n) for n in sizes]


@pytest.mark.parametrize("sizes", [
    [8, 3 * STAGE_SIZE + 12_345],                     # magic + one big run: direct
    [8] + [1 << 20] * 20 + [77],                      # many 1 MiB runs, odd tail
    [8, STAGE_SIZE - 8],                              # exactly one stage, nothing left over
    [8, STAGE_SIZE - 8, 1],                           # one byte past a stage
    [8, 5 * STAGE_SIZE // 2, 4096, 100, 2 * STAGE_SIZE],  # small objects between runs
])
def test_bulk_spool_goes_direct_and_keeps_every_byte(tmp_path: Path, sizes: list[int]) -> None:
    storage = LocalStorage(tmp_path / "objects")
    pieces = _pieces(sizes)
    sp = _write(storage, "packs/a.pack", pieces, hint=64 << 20)
    if sum(sizes) >= STAGE_SIZE:
        assert sp._direct_fd is not None  # type: ignore[attr-defined]
    assert not storage.exists("packs/a.pack")  # nothing visible before commit
    sp.commit()  # type: ignore[attr-defined]
    assert storage.get_bytes("packs/a.pack") == b"".join(pieces)
    assert os.path.getsize(storage.local_path("packs/a.pack")) == sum(sizes)  # type: ignore[arg-type]


def test_spool_of_small_objects_stays_buffered(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "objects")
    pieces = _pieces([4096] * (2 * STAGE_SIZE // 4096 + 3))
    sp = _write(storage, "packs/s.pack", pieces, hint=64 << 20)
    assert sp._direct_fd is None and sp._stage is None  # type: ignore[attr-defined]
    sp.commit()  # type: ignore[attr-defined]
    assert storage.get_bytes("packs/s.pack") == b"".join(pieces)


def test_spool_without_size_hint_never_stages(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "objects")
    data = _pieces([STAGE_SIZE * 2 + 5])[0]
    sp = _write(storage, "k", [data], hint=None)
    assert sp._stage is None  # type: ignore[attr-defined]
    sp.commit()  # type: ignore[attr-defined]
    assert storage.get_bytes("k") == data


def test_abort_of_a_direct_spool_leaves_nothing(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "objects")
    sp = _write(storage, "packs/x.pack", _pieces([3 * STAGE_SIZE + 1]), hint=64 << 20)
    sp.abort()  # type: ignore[attr-defined]
    assert not storage.exists("packs/x.pack")
    assert list((tmp_path / "objects" / "packs").iterdir()) == []


def test_filesystem_refusing_o_direct_falls_back_to_buffered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the open with O_DIRECT fails (older tmpfs, some FUSE filesystems), the spool
    stays buffered. (Simulated: this machine's filesystems all accept it.)"""
    monkeypatch.setattr(direct_io, "open_direct", lambda path: None)
    storage = LocalStorage(tmp_path / "objects")
    pieces = _pieces([8, 3 * STAGE_SIZE + 999])
    sp = _write(storage, "packs/t.pack", pieces, hint=64 << 20)
    assert sp._direct_fd is None and sp._stage is None  # type: ignore[attr-defined]
    sp.commit()  # type: ignore[attr-defined]
    assert storage.get_bytes("packs/t.pack") == b"".join(pieces)


def test_direct_write_refused_mid_spool_is_rewritten_buffered(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    """A filesystem that opens with O_DIRECT but rejects a write (EINVAL) loses nothing."""
    calls = {"n": 0}
    real = direct_io.pwrite_direct

    def flaky(fd: int, view: memoryview, offset: int) -> bool:
        calls["n"] += 1
        return False if calls["n"] == 2 else real(fd, view, offset)

    monkeypatch.setattr(direct_io, "pwrite_direct", flaky)
    storage = LocalStorage(tmp_path / "objects")
    pieces = _pieces([8, 4 * STAGE_SIZE + 5, 300])
    sp = _write(storage, "packs/f.pack", pieces, hint=64 << 20)
    sp.commit()  # type: ignore[attr-defined]
    assert calls["n"] == 2
    assert storage.get_bytes("packs/f.pack") == b"".join(pieces)


def test_staging_buffers_are_recycled(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "objects")
    for i in range(direct_io.POOL_MAX + 3):
        sp = _write(storage, f"packs/{i}.pack", _pieces([STAGE_SIZE + 1], seed=i), hint=1 << 26)
        sp.commit()  # type: ignore[attr-defined]
    assert 1 <= len(direct_io._free) <= direct_io.POOL_MAX
