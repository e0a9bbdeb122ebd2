"""safetensors files: the JSON header only (tensor names, dtypes, shapes, ``__metadata__``).

Layout: an 8-byte little-endian header length N, N bytes of JSON, then the tensor bytes. Only
the first ``8 + N`` bytes are read; absurd header lengths are refused before anything is read.
"""

from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from blacklake_ml.extract._util import (
    FormatError,
    LimitExceeded,
    bounded,
    clip,
    load_json,
    product,
    stem,
)
from blacklake_ml.extract.base import FileExtractor, Source

#: largest header accepted (the format's own reader refuses 100 MB too)
MAX_HEADER = 100_000_000
#: tensors listed one by one in the facts (all are counted)
MAX_LISTED = 1000

_FRAMEWORKS = {"pt": "pytorch", "tf": "tensorflow", "flax": "flax", "np": "numpy",
               "mlx": "mlx", "paddle": "paddle"}


@dataclass
class Header:
    """A parsed and validated safetensors header."""

    tensors: list[tuple[str, str, list[int]]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    header_bytes: int = 0

    @property
    def parameters(self) -> int:
        """Total element count."""
        return sum(product(shape) for _, _, shape in self.tensors)


def read_header(src: Source) -> Header:
    """Read and validate the header of a safetensors file (``ValueError`` if malformed)."""
    if src.size < 8:
        raise ValueError(f"not a safetensors file: {src.size} bytes, no header length")
    (n,) = struct.unpack("<Q", src.read(0, 8))
    if n > MAX_HEADER:
        raise LimitExceeded(f"safetensors header length {n} exceeds {MAX_HEADER} bytes")
    if 8 + n > src.size:
        raise ValueError(f"truncated safetensors file: header of {n} bytes, file has "
                         f"{src.size} bytes")
    raw = src.read(8, 8 + n)
    doc = load_json(raw, "safetensors header")
    if not isinstance(doc, dict):
        raise FormatError("safetensors header is not a JSON object")
    data_size = src.size - 8 - n
    h = Header(header_bytes=n)
    for name, info in doc.items():
        if name == "__metadata__":
            if isinstance(info, dict):
                h.metadata = {clip(str(k), 256): v for k, v in bounded(info).items()}
            continue
        if not isinstance(info, dict):
            raise FormatError(f"safetensors entry {clip(name, 80)!r} is not an object")
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if not isinstance(dtype, str) or not isinstance(shape, list) or not all(
                isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise ValueError(f"safetensors entry {clip(name, 80)!r} has a bad dtype or shape")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) for o in offsets)
                or not 0 <= offsets[0] <= offsets[1]):
            raise ValueError(f"safetensors entry {clip(name, 80)!r} has bad data_offsets")
        if offsets[1] > data_size:
            raise ValueError(f"truncated safetensors file: tensor {clip(name, 80)!r} ends at "
                             f"{offsets[1]}, only {data_size} data bytes present")
        h.tensors.append((name, dtype, shape))
    return h


def header_facts(h: Header) -> dict[str, Any]:
    """The ``details`` part shared with the Hugging Face directory extractor."""
    return {
        "tensor_count": len(h.tensors),
        "dtypes": dict(Counter(dt for _, dt, _ in h.tensors).most_common()),
        "tensors": [{"name": clip(n, 256), "dtype": dt, "shape": s}
                    for n, dt, s in h.tensors[:MAX_LISTED]],
    }


class SafetensorsExtractor(FileExtractor):
    """``.safetensors`` files."""

    name = "safetensors"
    version = 1
    priority = 10
    suffixes = (".safetensors",)

    def matches(self, filename: str, head: bytes) -> bool:
        return filename.lower().endswith(".safetensors")

    def extract(self, src: Source) -> dict[str, Any]:
        h = read_header(src)
        details = header_facts(h)
        details["header_bytes"] = h.header_bytes
        if h.metadata:
            details["metadata"] = h.metadata
        facts: dict[str, Any] = {"kind": "model", "format": "safetensors",
                                 "name": stem(src.name), "parameters": h.parameters,
                                 "details": details}
        fw = _FRAMEWORKS.get(str(h.metadata.get("format", "")))
        if fw:
            facts["framework"] = fw
        return facts
