"""Files named like models that are not: rejected from their first bytes (``NotRecognised``),
reported as the file's error with ``recognised: false``, and never confused with damaged
files of the format, whose facts (unsafe globals above all) are kept as before."""

from __future__ import annotations

import io
import os
import pickle
import random

import pytest
from extract_helpers import evil_pickle, torch_zip_with

from blacklake_ml.extract import registry
from blacklake_ml.extract._pickle_scan import OPCODE_BYTES
from blacklake_ml.extract.local import BytesSource, SourceReader


def _facts(name: str, data: bytes) -> registry.Facts:
    facts = registry.extract_file(BytesSource(name, data))
    assert facts is not None, name
    return facts


def _junk(first: bytes, n: int = 4096) -> bytes:
    return first + random.Random(first).randbytes(n - len(first))


def test_random_bytes_named_like_models_are_not_recognised() -> None:
    bad_opcode = next(bytes([b]) for b in range(256) if bytes([b]) not in OPCODE_BYTES)
    for name, data, extractor, words in [
        ("w.pkl", _junk(bad_opcode), "pickle", "not a pickle: invalid pickle opcode"),
        ("w.pkl", b"", "pickle", "not a pickle: the file is empty"),
        ("w.pt", _junk(b"\x13"), "pytorch", "not a PyTorch checkpoint"),
        ("w.csv", _junk(b"a,b\x00"), "csv", "NUL bytes"),
    ]:
        f = _facts(name, data)
        assert (f.extractor, f.recognised) == (extractor, False), (name, f)
        assert f.error and words in f.error
        assert f.to_json()["recognised"] is False and f.to_json()["error"] == f.error


def test_a_stream_that_parses_a_few_opcodes_then_breaks_is_not_a_pickle() -> None:
    # 'a' (APPEND) is a valid opcode that needs a stack: the machine stops at byte 0
    f = _facts("w.pkl", b"a" + os.urandom(100))
    assert not f.recognised and "stack underflow" in (f.error or "")


def test_damaged_pickles_that_named_something_keep_their_facts(tmp_path) -> None:
    evil = evil_pickle(tmp_path / "marker")
    cut = _facts("evil.pkl", evil[:-3])  # truncated after naming os.system
    assert cut.recognised and cut.error
    assert "system" in " ".join(cut.facts.get("unsafe", []))  # posix.system
    # protocol-0 text (a valid first opcode, then a global) is still followed to the end
    proto0 = _facts("evil0.pkl", evil_pickle(tmp_path / "m", protocol=0))
    assert proto0.recognised and not proto0.error
    assert "system" in " ".join(proto0.facts["unsafe"])
    # a PROTO start that then breaks is a damaged pickle: reported with its facts, a card
    broken = _facts("w.pkl", b"\x80\x02\xff" + os.urandom(200))
    assert broken.recognised and broken.error and broken.facts["format"] == "pickle"
    # the same for a legacy torch checkpoint start
    torch = _facts("w.pt", b"\x80\x02\xff" + os.urandom(200))
    assert torch.recognised and torch.extractor == "pytorch" and torch.error


def test_a_real_pickle_and_a_torch_zip_are_still_extracted() -> None:
    plain = _facts("d.pkl", pickle.dumps({"a": [1, 2, 3]}, protocol=0))
    assert plain.recognised and not plain.error and plain.facts["format"] == "pickle"
    zipped = _facts("model.bin", torch_zip_with(pickle.dumps({}, protocol=2)))
    assert zipped.extractor == "pytorch" and zipped.recognised


def test_prefilter_asks_exactly_the_extractors_that_match() -> None:
    """The registry consults only extractors whose declared suffixes/magics allow a file;
    for every built-in, that must give what asking every extractor gives."""
    rng = random.Random(5)
    exts = [".pkl", ".PT", ".pth", ".bin", ".ckpt", ".csv", ".tsv", ".tab", ".parquet", ".pq",
            ".gguf", ".onnx", ".keras", ".skops", ".safetensors", ".joblib", ".sav", ".pickle",
            ".npy", ".json", ".dat", ".tar.gz", ""]
    heads = [b"", b"PK\x03\x04", b"GGUF", b"PAR1", b"\x80\x02", b"\x00" * 8]
    for ext in exts:
        for head in heads:
            head = head + rng.randbytes(60)
            name = f"x{ext}"
            brute = [x for x in registry.file_extractors() if x.matches(name, head)]
            assert registry.file_extractors_matching(name, head) == brute, (name, head[:4])


@pytest.mark.parametrize("read_ahead", [1, 3, 7, 64 * 1024])
def test_source_reader_readline_is_the_file_readline(read_ahead: int) -> None:
    data = b"INT 1\n\nS'x'\n" + b"y" * 300 + b"\nno newline at the end"
    ours = SourceReader(BytesSource("t", data), read_ahead=read_ahead)
    ref = io.BytesIO(data)
    for size in [-1, 3, 1, 0, 1000, -1, 5, None, -1, -1, -1]:
        assert ours.readline(size) == ref.readline(size), size
        assert ours.tell() == ref.tell()
    ours.seek(2)
    ref.seek(2)
    assert ours.read(4) == ref.read(4) and ours.readline() == ref.readline()
