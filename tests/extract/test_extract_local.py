"""Local sources and SourceReader: file-object semantics and ranged reads."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import pytest
from extract_helpers import CountingSource

from blacklake_ml.extract.local import (
    BytesSource,
    LocalDirView,
    LocalFileSource,
    SliceSource,
    SourceReader,
)


def test_local_file_source_clamps(tmp_path: Path) -> None:
    p = tmp_path / "f.bin"
    p.write_bytes(bytes(range(256)))
    src = LocalFileSource(p)
    assert (src.name, src.size) == ("f.bin", 256)
    assert src.read(250, 300) == bytes(range(250, 256))
    assert src.read(-5, 3) == b"\x00\x01\x02"
    assert src.read(10, 5) == b""


def test_source_reader_behaves_like_bytesio() -> None:
    data = bytes(random.Random(1).randrange(256) for _ in range(300_000))
    ref = io.BytesIO(data)
    reader = SourceReader(BytesSource("x", data), read_ahead=4096)
    rng = random.Random(2)
    for _ in range(400):
        op = rng.random()
        if op < 0.3:
            off = rng.randrange(-10, len(data) + 10)
            off = max(off, 0)
            assert reader.seek(off) == ref.seek(off)
        elif op < 0.4:
            delta = rng.randrange(-100, 100)
            target = max(0, ref.tell() + delta)
            assert reader.seek(target - reader.tell(), io.SEEK_CUR) == ref.seek(target)
        elif op < 0.45:
            assert reader.seek(-rng.randrange(0, 50), io.SEEK_END) == ref.seek(
                reader.tell() - len(data), io.SEEK_END)
        else:
            n = rng.choice([1, 7, 100, 5000, 70_000])
            assert reader.read(n) == ref.read(n)
        assert reader.tell() == ref.tell()
    reader.seek(0)
    assert reader.read() == data
    assert reader.readable() and reader.seekable() and not reader.writable()
    with pytest.raises(OSError):
        reader.seek(-1)


def test_zipfile_over_source_reader_reads_only_what_it_needs(tmp_path: Path) -> None:
    big = tmp_path / "big.zip"
    payload = random.Random(3).randbytes(8 * 1024 * 1024)
    with zipfile.ZipFile(big, "w", zipfile.ZIP_STORED) as z:
        z.writestr("weights.bin", payload)
        z.writestr("config.json", b'{"a": 1}')
    src = CountingSource(big)
    with zipfile.ZipFile(SourceReader(src)) as z:
        assert z.read("config.json") == b'{"a": 1}'
    assert src.bytes_read < 300 * 1024, src.bytes_read  # not the 8 MiB member


def test_slice_source(tmp_path: Path) -> None:
    base = BytesSource("b", b"0123456789")
    s = SliceSource(base, 2, 5, "part")
    assert (s.size, s.read(0, 100), s.read(1, 3)) == (5, b"23456", b"34")
    with pytest.raises(ValueError):
        SliceSource(base, 8, 5, "bad")


def test_local_dir_view(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("hello")
    (tmp_path / "b.bin").write_bytes(b"12")
    v = LocalDirView(tmp_path)
    assert v.entries() == [("b.bin", "f", 2), ("sub", "d", 0)]
    assert v.entries("sub") == [("a.txt", "f", 5)]
    assert v.open("sub/a.txt").read(0, 5) == b"hello"
    for bad in ("../etc/passwd", "/etc/passwd", "sub/../b.bin", "a\x00b"):
        with pytest.raises(ValueError):
            v.open(bad)
    with pytest.raises(FileNotFoundError):
        v.open("sub")
