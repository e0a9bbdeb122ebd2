"""GGUF files (llama.cpp): header, key/value metadata and tensor infos, parsed by hand.

Layout (GGUF v2/v3; v1 used 32-bit counts and lengths): magic ``GGUF``, uint32 version,
uint64 tensor count, uint64 metadata count, the metadata ``(key, type, value)`` entries, then
one ``(name, n_dims, dims…, ggml type, offset)`` info per tensor, then the aligned tensor data,
which is never read. Every count and length is checked against a cap before it is used, and
large arrays (the tokenizer vocabulary) are skipped by offset or walked without being kept.
"""

from __future__ import annotations

import math
import struct
from collections import Counter
from typing import Any

from blacklake_ml.extract._util import FormatError, LimitExceeded, check_count, clip, stem
from blacklake_ml.extract.base import FileExtractor, Source
from blacklake_ml.extract.local import SourceReader

MAX_TENSORS = 1_000_000
MAX_KV = 100_000
MAX_KEY = 65_535
#: longest metadata string value (chat templates are tens of KiB)
MAX_STRING = 16 * 1024 * 1024
#: most elements walked in a string array (vocabularies are a few 100k)
MAX_ARRAY = 20_000_000
MAX_DIMS = 8
#: arrays up to this length keep their values in the facts
SMALL_ARRAY = 64

# ggml/llama.cpp enums (values from the GGUF spec and gguf-py's constants)
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
    38: "MXFP4_MOE",
}
TENSOR_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1",
    10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 16: "IQ2_XXS",
    17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S",
    23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M",
    30: "BF16", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
}
# ggml type -> (elements per block, bytes per block), as gguf-py's GGML_QUANT_SIZES
BLOCK_SIZES = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
    9: (32, 40), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176),
    14: (256, 210), 15: (256, 292), 16: (256, 66), 17: (256, 74), 18: (256, 98),
    19: (256, 50), 20: (32, 18), 21: (256, 110), 22: (256, 82), 23: (256, 136), 24: (1, 1),
    25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8), 29: (256, 56), 30: (1, 2), 34: (256, 54),
    35: (256, 66), 39: (32, 17),
}
DEFAULT_ALIGNMENT = 32
# value type -> struct code of fixed-size scalars
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q",
            12: "d"}
_STRING, _ARRAY = 8, 9
_MISSING = object()


class _Reader:
    """Sequential little/big-endian reads with bounds checks."""

    def __init__(self, src: Source) -> None:
        self.f = SourceReader(src, read_ahead=256 * 1024)
        self.size = src.size
        self.endian = "<"
        self.wide = True  # v2+: 64-bit counts and lengths

    def take(self, n: int) -> bytes:
        data = self.f.read(n)
        if data is None or len(data) != n:
            raise ValueError(f"truncated GGUF file: wanted {n} bytes at offset {self.f.tell()}")
        return data

    def unpack(self, code: str) -> Any:
        fmt = self.endian + code
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def count(self) -> int:
        return int(self.unpack("Q" if self.wide else "I"))

    def string(self, cap: int) -> str:
        n = self.count()
        if n > cap:
            raise LimitExceeded(f"GGUF string of {n} bytes at offset {self.f.tell()} "
                                f"(limit {cap})")
        return self.take(n).decode("utf-8", "replace")

    def skip(self, n: int) -> None:
        if self.f.tell() + n > self.size:
            raise ValueError(f"truncated GGUF file: {n} bytes to skip at offset "
                             f"{self.f.tell()} run past the end")
        self.f.seek(n, 1)

    def value(self, vtype: int, depth: int = 0) -> Any:
        """A metadata value; large arrays come back as ``{"type", "length"}`` summaries."""
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string(MAX_STRING)
        if vtype != _ARRAY:
            raise ValueError(f"unknown GGUF value type {vtype}")
        if depth > 2:
            raise LimitExceeded("GGUF arrays nested too deeply")
        etype = self.unpack("I")
        n = check_count("GGUF array length", self.count(), MAX_ARRAY)
        if etype in _SCALARS:
            width = struct.calcsize(_SCALARS[etype])
            if n <= SMALL_ARRAY:
                return [self.unpack(_SCALARS[etype]) for _ in range(n)]
            self.skip(n * width)
        elif etype == _STRING and n <= SMALL_ARRAY:
            return [clip(self.string(MAX_STRING), 256) for _ in range(n)]
        elif etype == _STRING:
            for _ in range(n):
                self.skip(self.count())
        elif n <= SMALL_ARRAY:
            return [self.value(etype, depth + 1) for _ in range(n)]
        else:
            for _ in range(n):  # walked to find the next entry, not kept
                self.value(etype, depth + 1)
        return {"type": etype, "length": n}


def parse(src: Source) -> dict[str, Any]:
    """Header, metadata and tensor infos of a GGUF file (see the module docstring)."""
    r = _Reader(src)
    if r.take(4) != b"GGUF":
        raise ValueError("not a GGUF file (bad magic)")
    version = r.unpack("I")
    if version > 0xFFFF and struct.unpack(">I", struct.pack("<I", version))[0] <= 0xFFFF:
        r.endian = ">"
        version = struct.unpack(">I", struct.pack("<I", version))[0]
    if version not in (1, 2, 3):
        raise ValueError(f"unsupported GGUF version {version}")
    r.wide = version >= 2
    n_tensors = check_count("GGUF tensor count", r.count(), MAX_TENSORS)
    n_kv = check_count("GGUF metadata count", r.count(), MAX_KV)
    kv: dict[str, Any] = {}
    for _ in range(n_kv):
        key = r.string(MAX_KEY)
        vtype = r.unpack("I")
        kv[key] = r.value(vtype)
    tensors: list[tuple[str, list[int], int]] = []
    data_end = 0  # end of the furthest tensor's bytes, relative to the data section
    for _ in range(n_tensors):
        name = r.string(MAX_KEY)
        n_dims = check_count("GGUF tensor rank", r.unpack("I"), MAX_DIMS)
        dims = [r.unpack("Q") for _ in range(n_dims)]
        ttype = r.unpack("I")
        offset = r.unpack("Q")
        tensors.append((name, dims, ttype))
        data_end = max(data_end, offset + _nbytes(ttype, dims))
    # the tensor data is never read, but it must be there: a cut file is an error
    align = kv.get("general.alignment", DEFAULT_ALIGNMENT)
    align = align if isinstance(align, int) and 0 < align <= 1 << 20 else DEFAULT_ALIGNMENT
    data_start = -(-r.f.tell() // align) * align
    if data_start + data_end > src.size:
        raise FormatError(f"truncated GGUF file: tensor data ends at byte "
                          f"{data_start + data_end}, the file has {src.size}")
    return {"version": version, "kv": kv, "tensors": tensors}


def _nbytes(ttype: int, dims: list[int]) -> int:
    """Bytes of a tensor's data (0 for unknown types: only its offset is checked then)."""
    block = BLOCK_SIZES.get(ttype)
    if block is None:
        return 0
    n = 1
    for d in dims:
        n *= d
    return n // block[0] * block[1]


def _scalar_meta(kv: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in kv.items():
        if k.startswith("tokenizer.ggml.") and isinstance(v, dict):
            continue
        if isinstance(v, str):
            v = clip(v, 2048)
        elif isinstance(v, float) and math.isnan(v):
            v = None
        out[clip(k, 256)] = v
        if len(out) >= 300:
            break
    return out


class GGUFExtractor(FileExtractor):
    """``.gguf`` files (or any file starting with the ``GGUF`` magic)."""

    name = "gguf"
    version = 1
    priority = 10
    suffixes = (".gguf",)
    magics = (b"GGUF",)

    def matches(self, filename: str, head: bytes) -> bool:
        return filename.lower().endswith(".gguf") or head[:4] == b"GGUF"

    def extract(self, src: Source) -> dict[str, Any]:
        g = parse(src)
        kv, tensors = g["kv"], g["tensors"]
        arch = kv.get("general.architecture")
        arch = arch if isinstance(arch, str) else None
        params = 0
        for _, dims, _ in tensors:
            n = 1
            for d in dims:
                n *= d
            params += n
        details: dict[str, Any] = {
            "version": g["version"],
            "tensor_count": len(tensors),
            "metadata_count": len(kv),
            "tensor_types": dict(Counter(TENSOR_TYPES.get(t, f"type{t}")
                                         for _, _, t in tensors).most_common()),
            "metadata": _scalar_meta(kv),
        }
        ft = kv.get("general.file_type")
        if isinstance(ft, int):
            details["file_type"] = ft
            details["quantization"] = FILE_TYPES.get(ft, f"type{ft}")
        for key in ("context_length", "embedding_length", "block_count",
                    "attention.head_count", "feed_forward_length"):
            v = kv.get(f"{arch}.{key}", _MISSING) if arch else _MISSING
            if isinstance(v, int):
                details[key.replace("attention.", "")] = v
        tokens = kv.get("tokenizer.ggml.tokens")
        if isinstance(tokens, dict):
            details["vocab_size"] = tokens["length"]
        elif isinstance(tokens, list):
            details["vocab_size"] = len(tokens)
        facts: dict[str, Any] = {"kind": "model", "format": "gguf", "framework": "llama.cpp",
                                 "parameters": params, "details": details}
        name = kv.get("general.name")
        facts["name"] = clip(name, 256) if isinstance(name, str) and name else stem(src.name)
        if arch:
            facts["architecture"] = clip(arch, 128)
        lic = kv.get("general.license")
        if isinstance(lic, str) and lic:
            facts["license"] = clip(lic.lower(), 128)
        for key, fact in (("general.tags", "tags"), ("general.languages", "language"),
                          ("general.datasets", "datasets")):
            v = kv.get(key)
            if isinstance(v, list):
                facts[fact] = [clip(str(x), 256) for x in v]
        return facts
