"""scikit-learn models: pickles / joblib files read symbolically, and ``.skops`` archives.

Pickles (``.pkl``, ``.pickle``, ``.joblib``, ``.sav``) are never unpickled: the opcode scanner
of ``_pickle_scan`` lists the classes they reference and would instantiate. joblib's own layout
(numpy array bytes written right after each ``NumpyArrayWrapper``) and its whole-file
compression (zlib, gzip, bz2, xz, lzma, lz4 when installed) are handled by streaming
decompression with a cap on the decompressed size; arrays are skipped, not kept.

``.skops`` files are zip archives with a ``schema.json`` describing the object tree; skops'
``get_untrusted_types`` says which types loading would have to trust. It reads every array
member, so it runs only after the members' declared sizes pass the caps; without skops (or past
the caps) the schema is walked directly.
"""

from __future__ import annotations

import bz2
import io
import lzma
import zlib
from typing import IO, Any, cast

from blacklake_ml.extract._pickle_scan import (
    OPCODE_BYTES,
    ByteStream,
    GlobalsLog,
    Node,
    PickleMachine,
)
from blacklake_ml.extract._pickle_walk import scalars
from blacklake_ml.extract._util import (
    MAX_SMALL_FILE,
    FormatError,
    LimitExceeded,
    clip,
    load_json,
    one_line,
    stem,
)
from blacklake_ml.extract._zip import check_member, is_zip, open_zip, read_member
from blacklake_ml.extract.base import (
    ExtractionError,
    FileExtractor,
    NotApplicable,
    NotRecognised,
    Source,
)
from blacklake_ml.extract.local import SourceReader

EXTENSIONS = (".pkl", ".pickle", ".joblib", ".sav")
#: decompressed bytes followed in a compressed joblib file before the scan stops (incomplete)
MAX_DECOMPRESSED = 1024 * 1024 * 1024
#: largest total declared size of a .skops archive handed to skops (it reads every member)
MAX_SKOPS_TOTAL = 512 * 1024 * 1024
_CHUNK = 256 * 1024


def compression_of(head: bytes) -> str | None:
    """The whole-file compression joblib used, from the first bytes (None: plain pickle)."""
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
    if head[:2] == b"ZF":
        return "joblib-legacy-zlib"
    if len(head) >= 2 and head[0] == 0x78 and (head[0] * 256 + head[1]) % 31 == 0:
        return "zlib"
    return None


class _Decompressed(io.RawIOBase):
    """A forward-only stream of the decompressed bytes, at most ``cap`` of them."""

    def __init__(self, raw: IO[bytes], kind: str, cap: int) -> None:
        super().__init__()
        self.raw = raw
        self.kind = kind
        self.cap = cap
        self.total = 0
        self._pending = b""
        self._eof = False
        self.d: Any
        if kind == "zlib":
            self.d = zlib.decompressobj()
        elif kind == "gzip":
            self.d = zlib.decompressobj(wbits=31)
        elif kind == "bz2":
            self.d = bz2.BZ2Decompressor()
        elif kind in ("xz", "lzma"):
            self.d = lzma.LZMADecompressor(lzma.FORMAT_XZ if kind == "xz" else lzma.FORMAT_ALONE)
        elif kind == "lz4":
            try:
                import lz4.frame
            except ImportError:
                raise ValueError("lz4-compressed joblib file: install the lz4 package to "
                                 "inspect it") from None
            self.d = lz4.frame.LZ4FrameDecompressor()
        else:
            raise ValueError(f"unsupported joblib compression {kind!r}")

    def readable(self) -> bool:
        return True

    def _fill(self, want: int) -> None:
        if self.d.eof:
            self._eof = True
            return
        if self.kind in ("zlib", "gzip"):
            data = self.d.unconsumed_tail or self.raw.read(_CHUNK)
        else:
            data = self.raw.read(_CHUNK) if self.d.needs_input else b""
        if not data and (self.kind in ("zlib", "gzip") or self.d.needs_input):
            raise ValueError(f"truncated {self.kind} stream")
        out = self.d.decompress(data, max(want, 1))
        self.total += len(out)
        if self.total > self.cap:
            raise LimitExceeded(f"decompressed stream exceeds {self.cap} bytes")
        self._pending += out

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        while not self._pending and not self._eof:
            self._fill(max(len(view), _CHUNK))
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _steps(root: Node) -> list[dict[str, str]]:
    steps = root.get("steps")
    out = []
    if isinstance(steps, Node):
        for item in steps.elems[:100]:
            if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[1], Node):
                out.append({"name": clip(str(item[0]), 128),
                            "class": item[1].callee_name or "?"})
    return out


def scan_pickle_file(src: Source) -> dict[str, Any]:
    """Facts of a (possibly joblib-compressed) pickle; used by the MLflow extractor too."""
    head = src.read(0, 16)
    if is_zip(head):
        raise NotApplicable  # a torch zip checkpoint or another archive, not a pickle stream
    kind = compression_of(head)
    if kind == "joblib-legacy-zlib":
        raise ValueError("joblib < 0.10 zlib format is not supported")
    if kind is None and head[:1] not in OPCODE_BYTES:
        # Exactly where the machine would stop (its first opcode), before it named anything:
        # decided here without building it, as a random-bytes .pkl must cost microseconds.
        raise NotRecognised(f"not a pickle: invalid pickle opcode {head[:1]!r} at byte 0"
                            if head else "not a pickle: the file is empty")
    raw = SourceReader(src)
    stream: ByteStream = raw
    if kind is not None:
        stream = io.BufferedReader(_Decompressed(cast(IO[bytes], raw), kind, MAX_DECOMPRESSED),
                                   _CHUNK)
    log = GlobalsLog()
    machine = PickleMachine(stream, log, joblib=True)
    root: Any = None
    complete, note, error = True, None, None
    try:
        root = machine.run()
        if kind is not None:
            # the compressed stream must end cleanly too (a cut trailer is a damaged file)
            while stream.read(_CHUNK):
                pass
    except LimitExceeded as e:
        complete, note = False, one_line(e)
    except (ValueError, EOFError, OSError, zlib.error, lzma.LZMAError) as e:
        error = one_line(e)
    sk = [g for g in log.seen if g.startswith("sklearn.")]
    details: dict[str, Any] = {}
    facts: dict[str, Any] = {"kind": "model", "format": "sklearn" if sk else "pickle",
                             "name": stem(src.name), "details": details}
    if sk:
        facts["framework"] = "sklearn"
    if isinstance(root, Node) and root.callee_name:
        details["object_class"] = root.callee_name
        if root.callee_name.startswith("sklearn."):
            facts["architecture"] = root.callee_name.rsplit(".", 1)[-1]
        params = scalars(root)
        for key, fact in (("n_features_in_", "n_features_in"),
                          ("_sklearn_version", "sklearn_version")):
            if key in params:
                details[fact] = params.pop(key)
        if params:
            details["params"] = params
        steps = _steps(root)
        if steps:
            details["steps"] = steps
    details["classes"] = sorted(set(sk))[:200]
    details["globals"] = list(log.seen)[:200]
    if log.dangerous:
        details["dangerous"] = list(log.dangerous)
    if kind:
        details["compression"] = kind
    if machine.arrays:
        details["joblib_arrays"] = len(machine.arrays)
    details["scan_complete"] = complete and error is None and not log.anomalies
    if note:
        details["note"] = note
    details["pickle_ops"] = machine.ops
    if log.unsafe:
        facts["unsafe"] = list(log.unsafe)
    if log.anomalies:
        details["anomalies"] = list(log.anomalies)
    if error and kind is None and head[:1] != b"\x80" and not (
            log.seen or log.unsafe or log.dangerous or log.anomalies or machine.arrays
            or machine.persids):
        # A stream without a PROTO start that broke before naming any global, array or
        # persistent id: the bytes merely parsed as a few opcodes (a quarter of random
        # bytes begin with a valid one), nothing a card could say. Reported, not an asset.
        raise NotRecognised(f"not a pickle: {error}")
    if error:
        raise ExtractionError(error, facts)
    return facts


class PickleExtractor(FileExtractor):
    """Pickle and joblib files (scikit-learn models and anything else pickled)."""

    name = "pickle"
    version = 1
    priority = 5
    suffixes = EXTENSIONS

    def matches(self, filename: str, head: bytes) -> bool:
        return filename.lower().endswith(EXTENSIONS)

    def extract(self, src: Source) -> dict[str, Any]:
        return scan_pickle_file(src)


# -- .skops -------------------------------------------------------------------------------------
def _schema_types(schema: Any, budget: int = 200_000) -> list[str]:
    """``module.class`` of every node of a skops schema (iterative, bounded)."""
    out: dict[str, None] = {}
    todo = [schema]
    while todo and budget > 0:
        v = todo.pop()
        budget -= 1
        if isinstance(v, dict):
            mod, cls = v.get("__module__"), v.get("__class__")
            if isinstance(mod, str) and isinstance(cls, str):
                out[clip(f"{mod}.{cls}", 256)] = None
            todo.extend(v.values())
        elif isinstance(v, list):
            todo.extend(v)
    return list(out)


def _untrusted_by_skops(src: Source) -> list[str]:
    import skops.io

    # skops wants a path or bytes; a file object works (it hands it to zipfile) and keeps the
    # reads ranged.
    return list(skops.io.get_untrusted_types(file=SourceReader(src)))  # type: ignore[arg-type]


def scan_skops_file(src: Source) -> dict[str, Any]:
    """Facts of a ``.skops`` archive (see the module docstring); used by MLflow too."""
    zf = open_zip(src)
    infos = zf.infolist()
    total = 0
    for info in infos:
        check_member(info, MAX_SKOPS_TOTAL)
        total += info.file_size
    schema = load_json(read_member(zf, "schema.json", MAX_SMALL_FILE), "skops schema.json")
    if not isinstance(schema, dict):
        raise FormatError("skops schema.json is not a JSON object")
    details: dict[str, Any] = {"protocol": schema.get("protocol"),
                               "skops_version": schema.get("_skops_version")}
    types = _schema_types(schema)
    root = f"{schema.get('__module__')}.{schema.get('__class__')}"
    facts: dict[str, Any] = {"kind": "model", "format": "sklearn", "name": stem(src.name),
                             "details": details}
    if root.startswith("sklearn."):
        facts["framework"] = "sklearn"
        facts["architecture"] = root.rsplit(".", 1)[-1]
    details["object_class"] = clip(root, 256)
    details["classes"] = sorted(t for t in types if t.startswith("sklearn."))[:200]
    details["types"] = types[:200]
    untrusted: list[str] | None = None
    if total <= MAX_SKOPS_TOTAL:
        try:
            untrusted = _untrusted_by_skops(src)
            details["untrusted_source"] = "skops.io.get_untrusted_types"
        except ImportError:
            details["untrusted_source"] = "schema (skops not installed)"
        except Exception as e:  # noqa: BLE001 - skops choked on the schema: use our own walk
            details["untrusted_source"] = f"schema (skops failed: {one_line(e, 200)})"
    else:
        details["untrusted_source"] = f"schema (archive above {MAX_SKOPS_TOTAL} bytes)"
    if untrusted is None:
        untrusted = [t for t in types
                     if t.split(".", 1)[0] not in ("sklearn", "numpy", "builtins", "scipy")]
    if untrusted:
        facts["unsafe"] = [clip(t, 256) for t in untrusted[:200]]
    return facts


class SkopsExtractor(FileExtractor):
    """``.skops`` files (scikit-learn models in skops' secure format)."""

    name = "skops"
    version = 1
    priority = 10
    suffixes = (".skops",)

    def matches(self, filename: str, head: bytes) -> bool:
        return filename.lower().endswith(".skops")

    def extract(self, src: Source) -> dict[str, Any]:
        return scan_skops_file(src)
