"""Malformed and malicious inputs: truncations of every format, absurd sizes and counts, zip
bombs, deep nesting. Every case must end as ``Facts.error`` (or flagged facts), never as an
exception, and nothing from the file may run."""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest
from extract_helpers import facts_of, gguf_bytes, truncated_copies

from blacklake_ml.extract import registry
from blacklake_ml.extract.local import LocalDirView

# cut points: inside the magic/header, the middle, and just before the end
CUTS = [1, 7, 40, 0.5, -3]


def _offsets(path: Path) -> list[int]:
    size = path.stat().st_size
    return sorted({int(size * c) if isinstance(c, float) else c for c in CUTS})


def _assert_truncations_fail(path: Path, out: Path) -> None:
    for cut in truncated_copies(path, out, _offsets(path)):
        f = registry.extract_file(__import__("blacklake_ml.extract.local",
                                             fromlist=["LocalFileSource"]
                                             ).LocalFileSource(cut))
        assert f is not None, cut.name
        assert f.error, f"{cut.name}: truncated file gave no error: {f.facts}"
        assert "\n" not in f.error


def test_truncated_onnx(onnx_file: dict[str, Any], tmp_path: Path) -> None:
    _assert_truncations_fail(onnx_file["path"], tmp_path)


def test_truncated_onnx_wire(onnx_file: dict[str, Any], tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    from blacklake_ml.extract import onnx_ext

    monkeypatch.setattr(onnx_ext, "FULL_LOAD_MAX_BYTES", 0)
    _assert_truncations_fail(onnx_file["path"], tmp_path)


@pytest.mark.parametrize("name", ["state.pt", "legacy.pth", "whole.pt"])
def test_truncated_torch(torch_files: dict[str, Any], tmp_path: Path, name: str) -> None:
    _assert_truncations_fail(torch_files["dir"] / name, tmp_path)


def test_truncated_safetensors_gguf_keras(safetensors_file: dict[str, Any],
                                          gguf_file: dict[str, Any],
                                          keras_file: dict[str, Any], tmp_path: Path) -> None:
    for i, path in enumerate([safetensors_file["path"], gguf_file["path"],
                              keras_file["path"]]):
        _assert_truncations_fail(path, tmp_path / str(i))


@pytest.mark.parametrize("name", ["lr.pkl", "pipe.pickle", "rf.joblib", "rf_gzip.joblib",
                                  "rf_xz.joblib", "lr.skops"])
def test_truncated_sklearn(sklearn_files: dict[str, Any], tmp_path: Path, name: str) -> None:
    _assert_truncations_fail(sklearn_files["dir"] / name, tmp_path)


def test_truncated_parquet(tables: dict[str, Any], tmp_path: Path) -> None:
    _assert_truncations_fail(tables["dir"] / "data.parquet", tmp_path)


def test_truncated_malicious_pickle_keeps_the_flag(tmp_path: Path) -> None:
    """A cut after the dangerous global: the error is recorded *and* the global flagged."""
    from extract_helpers import evil_pickle

    marker = tmp_path / "PWNED_cut"
    data = evil_pickle(marker, protocol=2)
    cut = data.index(b"system") + 20
    (tmp_path / "cut.pkl").write_bytes(data[:cut])
    f = facts_of(tmp_path / "cut.pkl")
    assert f.error and "truncated" in f.error
    assert f.facts["unsafe"] == ["posix.system"]
    assert not marker.exists()


def test_safetensors_absurd_header_length(tmp_path: Path) -> None:
    path = tmp_path / "huge.safetensors"
    path.write_bytes(struct.pack("<Q", 2**60) + b"{}")
    f = facts_of(path)
    assert f.error and "exceeds" in f.error and str(2**60) in f.error


def test_safetensors_bad_entries(tmp_path: Path) -> None:
    for header, expect in [
        ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, "bad dtype or shape"),
        ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 400]}}, "truncated"),
        ([1, 2], "not a JSON object"),
    ]:
        raw = json.dumps(header).encode()
        path = tmp_path / "bad.safetensors"
        path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 4)
        f = facts_of(path)
        assert f.error and expect in f.error, (header, f.error)


@pytest.mark.parametrize("data, expect", [
    (gguf_bytes(2**40), "tensor count"),
    (gguf_bytes(1, 2**50), "metadata count"),
    (gguf_bytes(0, 1) + struct.pack("<Q", 2**62), "string of"),
    (gguf_bytes(1, 0, version=99), "unsupported GGUF version"),
    (gguf_bytes(0, 1) + struct.pack("<Q", 3) + b"key" + struct.pack("<IIQ", 9, 4, 2**40),
     "array length"),
    (gguf_bytes(1, 0) + struct.pack("<Q", 1) + b"t" + struct.pack("<I", 1000), "tensor rank"),
])
def test_gguf_hostile_counts(tmp_path: Path, data: bytes, expect: str) -> None:
    path = tmp_path / "hostile.gguf"
    path.write_bytes(data)
    f = facts_of(path)
    assert f.error and expect in f.error, f.error


def test_zip_bomb_member_is_refused(keras_file: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", b" " * (64 * 1024 * 1024))  # 64 MiB of spaces: ~64 KiB
        z.writestr("metadata.json", b"{}")
    f = facts_of(path)
    assert f.error and ("zip bomb" in f.error or "limit" in f.error), f.error


def test_zip_bomb_in_skops_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.skops"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("schema.json", b"{}")
        z.writestr("a.npy", b"\0" * (32 * 1024 * 1024))
    f = facts_of(path)
    assert f.error and "zip bomb" in f.error


def test_deeply_nested_json_config(hf_dirs: dict[str, Any], tmp_path: Path) -> None:
    d = tmp_path / "deep"
    shutil.copytree(hf_dirs["sharded"], d)
    (d / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    f = registry.extract_dir(LocalDirView(d))
    assert f is not None and f.error and "nested too deeply" in f.error


def test_deeply_nested_pickle(tmp_path: Path) -> None:
    """100k nested lists: the symbolic machine is iterative, no recursion limit is hit."""
    path = tmp_path / "deep.pkl"
    path.write_bytes(b"\x80\x02" + b"]" * 100_000 + b"a" * 99_999 + b".")
    f = facts_of(path)
    assert f.error is None and f.facts["details"]["scan_complete"]


def test_garbage_is_an_error_for_every_file_format(tmp_path: Path) -> None:
    for name in ("m.onnx", "m.pt", "m.safetensors", "m.gguf", "m.keras", "m.pkl", "m.skops",
                 "m.parquet"):
        path = tmp_path / name
        head = b"PK\x03\x04" if name.endswith((".pt", ".keras", ".skops")) else b"\x80\x04"
        path.write_bytes(head + bytes(range(256)) * 4)
        f = registry.extract_file(
            __import__("blacklake_ml.extract.local", fromlist=["x"]).LocalFileSource(path))
        assert f is not None and f.error, (name, f)


def test_csv_binary_and_wide(tmp_path: Path) -> None:
    (tmp_path / "bin.csv").write_bytes(b"a,b\n\x00\x01,2\n")
    assert "NUL" in (facts_of(tmp_path / "bin.csv").error or "")
    (tmp_path / "wide.csv").write_text(",".join(f"c{i}" for i in range(5000)) + "\n")
    assert "columns" in (facts_of(tmp_path / "wide.csv").error or "")


def test_csv_quoted_newlines_give_an_estimate(tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame({"text": ["line one\nline two"] * 300, "n": range(300)})
    frame.to_csv(tmp_path / "multi.csv", index=False)
    facts = facts_of(tmp_path / "multi.csv").facts
    assert facts["details"]["rows_estimated"] is True
    assert facts["rows"] == 300
