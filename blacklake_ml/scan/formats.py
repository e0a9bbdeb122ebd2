"""What a file is, judged by its bytes, and the verdict for each kind.

The dispatcher never trusts a file name to say a file is *harmless*: every file is first tried
as a pickle (``pickle.load``, ``joblib.load``, ``numpy.load(allow_pickle=True)`` and a
non-zip ``torch.load`` all unpickle whatever they are given), compressed files are opened as
joblib opens them, zip and tar archives member by member. A name only decides which *extra*
readings apply (``config.json`` is read for Hugging Face ``auto_map``; text files with a text
extension are not read as protocol 0 pickles unless they are complete ones). Formats the
scanner cannot vouch for are ``unknown``.
"""

from __future__ import annotations

import bz2
import json
import lzma
import posixpath
import tempfile
import zlib
from typing import IO, Any

from blacklake_ml.extract.base import Source
from blacklake_ml.extract.local import BytesSource, SourceReader
from blacklake_ml.scan import frameworks
from blacklake_ml.scan.file_source import FileSource
from blacklake_ml.scan.pickles import looks_like_pickle, scan_pickle
from blacklake_ml.scan.verdict import SAFE, UNKNOWN, UNSAFE, Verdict

#: containers nested deeper than this (zip in gzip in tar…) are not followed: unknown
MAX_DEPTH = 4
#: decompressed bytes followed in a compressed file before giving up (unknown)
MAX_DECOMPRESSED = 2 * 1024**3
#: head bytes read to decide the format
HEAD = 4096

_TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".rst", ".json", ".jsonl", ".yaml", ".yml",
                  ".csv", ".tsv", ".cfg", ".ini", ".toml", ".xml", ".html", ".htm", ".svg",
                  ".log", ".model_card", ".gitattributes", ".gitignore", ".vocab", ".merges",
                  ".tokens", ".license", ".spm")
_DATA_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PAR1", "parquet"), (b"ARROW1", "arrow"), (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"), (b"GIF87a", "gif"), (b"GIF89a", "gif"), (b"BM", "bmp"),
    (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"), (b"fLaC", "flac"), (b"OggS", "ogg"),
    (b"ID3", "mp3"), (b"GGUF", "gguf"), (b"GGML", "ggml"), (b"GGJT", "ggml"),
)


def _compression(head: bytes) -> str | None:
    """The whole-file compression joblib would undo, from the first bytes."""
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh":
        return "bz2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[:3] == b"\x5d\x00\x00":
        return "lzma"
    if head[:4] == b"\x04\x22\x4d\x18":
        return "lz4"
    if len(head) >= 2 and head[0] == 0x78 and (head[0] * 256 + head[1]) % 31 == 0:
        return "zlib"
    return None


def _decompressor(kind: str) -> Any:
    if kind == "gzip":
        return zlib.decompressobj(wbits=31)
    if kind == "zlib":
        return zlib.decompressobj()
    if kind == "bz2":
        return bz2.BZ2Decompressor()
    if kind in ("xz", "lzma"):
        return lzma.LZMADecompressor(lzma.FORMAT_XZ if kind == "xz" else lzma.FORMAT_ALONE)
    import lz4.frame

    return lz4.frame.LZ4FrameDecompressor()


def _decompress(src: Source, kind: str) -> tuple[IO[bytes] | None, str]:
    """The decompressed bytes in a temporary file, or ``(None, why not)``."""
    try:
        d = _decompressor(kind)
    except ImportError:
        return None, f"{kind}-compressed: install the lz4 package to scan it"
    out = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)
    total, pos, step = 0, 0, 1024 * 1024
    try:
        while pos < src.size:
            data = src.read(pos, pos + step)
            pos += len(data)
            if not data:
                break
            chunk = d.decompress(data)
            total += len(chunk)
            if total > MAX_DECOMPRESSED:
                out.close()
                return None, f"decompresses to more than {MAX_DECOMPRESSED} bytes"
            out.write(chunk)
            if getattr(d, "eof", False):
                break
        if hasattr(d, "flush"):
            out.write(d.flush())
    except (zlib.error, lzma.LZMAError, OSError, EOFError, ValueError, RuntimeError) as e:
        out.close()
        return None, f"not a valid {kind} stream ({type(e).__name__})"
    if not getattr(d, "eof", True):
        out.close()
        return None, f"truncated {kind} stream"
    out.seek(0)
    return out, ""


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 4:  # only a character cut at the end of the head is fine
            return False
        text = head[:e.start].decode("utf-8")
    bad = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\r\f\v" or ord(c) == 127)
    return bad == 0


def scan_source(src: Source, depth: int = 0) -> Verdict:
    """The verdict on one file's bytes (see the module docstring). Never raises for bad
    input: anything unexpected is an ``unknown`` verdict naming the problem."""
    try:
        return _scan(src, depth)
    except RecursionError:
        return Verdict(UNKNOWN, "unknown", ["structure nested too deeply to scan"])
    except MemoryError:
        return Verdict(UNKNOWN, "unknown", ["out of memory while scanning"])
    except Exception as e:  # noqa: BLE001 - a scanner bug or an unreadable file: not safe
        return Verdict(UNKNOWN, "unknown", [f"scan failed: {type(e).__name__}: {e}"[:300]])


def _scan(src: Source, depth: int) -> Verdict:
    if depth > MAX_DEPTH:
        return Verdict(UNKNOWN, "unknown", ["containers nested too deeply"])
    if src.size == 0:
        return Verdict(SAFE, "empty")
    head = src.read(0, HEAD)
    name = src.name.lower()
    kind = _compression(head)
    if kind is not None:
        inner, why = _decompress(src, kind)
        if inner is not None:
            with inner:
                stem = posixpath.splitext(src.name)[0] if name.endswith(
                    (".gz", ".bz2", ".xz", ".lzma", ".z", ".lz4", ".zlib")) else src.name
                v = _scan(FileSource(inner, stem), depth + 1)
                v.format = f"{kind}+{v.format}"
                return v
        if kind != "zlib":  # a text file may start like a zlib header by chance
            return Verdict(UNKNOWN, kind, [f"{kind}-compressed file could not be read: {why}"])
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        from blacklake_ml.scan.containers import scan_zip

        return scan_zip(src, depth, _scan)
    if head[:6] == b"\x93NUMPY":
        from blacklake_ml.scan.containers import scan_npy

        return scan_npy(src, depth)
    text = _is_text(head)
    textual_name = name.endswith(_TEXT_SUFFIXES) or name in ("license", "readme", "notice")
    if looks_like_pickle(head):
        pv = scan_pickle(lambda: SourceReader(src),
                         on_nested=lambda b: _nested_torch_safe(b, depth))
        strong = head[0] == 0x80  # a PROTO opcode: this is meant to be a pickle
        if pv.complete or strong or (pv.referenced and not (text and textual_name)):
            return pv
    if len(head) >= 262 and head[257:262] == b"ustar":
        from blacklake_ml.scan.containers import scan_tar

        return scan_tar(src, depth, _scan)
    if text:
        return frameworks.scan_text(src, head)
    for magic, fmt in _DATA_MAGIC:
        if head.startswith(magic):
            return Verdict(SAFE, fmt)
    if head[:8] == b"\x89HDF\r\n\x1a\n":
        return frameworks.scan_hdf5(src)
    if name.endswith(".safetensors") or _looks_safetensors(head, src.size):
        return frameworks.scan_safetensors(src)
    if name.endswith(".onnx"):
        return frameworks.scan_onnx(src)
    if head[:4] in (b"RIFF",) and head[8:12] in (b"WAVE", b"WEBP", b"AVI "):
        return Verdict(SAFE, head[8:12].decode().strip().lower())
    if name.endswith((".pyc", ".pyo", ".so", ".dll", ".dylib", ".exe")) or \
            head[:4] == b"\x7fELF" or head[:2] == b"MZ":
        return Verdict(UNSAFE, "native-code", ["compiled code: runs when imported or executed"])
    return Verdict(UNKNOWN, "unknown", ["unrecognised binary format: nothing vouches for "
                                        "what loading it does"])


def _looks_safetensors(head: bytes, size: int) -> bool:
    if len(head) < 10:
        return False
    n = int.from_bytes(head[:8], "little")
    return 0 < n <= size - 8 and head[8:9] == b"{"


def _nested_torch_safe(data: bytes, depth: int) -> bool:
    """Whether the bytes ``torch.storage._load_from_bytes`` would load are safe."""
    return _scan(BytesSource("nested.pt", data), depth + 1).verdict == SAFE


def parse_json(raw: bytes) -> Any:
    """JSON as Python's ``json`` reads it (what transformers and Keras use)."""
    return json.loads(raw.decode("utf-8"))
