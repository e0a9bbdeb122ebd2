"""PyTorch checkpoints (``torch.save``): tensor names, shapes, dtypes and unsafe globals,
read from the pickle's opcodes without unpickling anything.

Two layouts: the zip archive ``torch.save`` writes by default (``<archive>/data.pkl`` plus one
member per storage) and the legacy stream (magic number, protocol, system info and the object
as consecutive pickles, then raw storages). Tensors are ``torch._utils._rebuild_tensor_v2``
calls whose arguments carry the shape, and whose storage (a persistent id) carries the dtype as
a ``torch.FloatStorage``-style global. Globals outside the allow-list (``_pickle_policy``)
are reported in ``unsafe``: a malicious checkpoint yields facts that say so, not an error.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from blacklake_ml.extract._pickle_scan import GlobalsLog, Node, PickleMachine, Tensor, dtype_of
from blacklake_ml.extract._pickle_walk import iter_tensors
from blacklake_ml.extract._util import FormatError, LimitExceeded, clip, one_line, stem
from blacklake_ml.extract._zip import is_zip, member_source, open_zip
from blacklake_ml.extract.base import ExtractionError, FileExtractor, NotRecognised, Source
from blacklake_ml.extract.local import SourceReader

#: largest data.pkl accepted when it is stored compressed (stored ones are read by range)
MAX_DATA_PKL = 64 * 1024 * 1024
#: tensors listed one by one in the facts (all are counted)
MAX_LISTED = 1000
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
EXTENSIONS = (".pt", ".pth", ".bin", ".ckpt")
_OPTIMIZER_KEYS = ("optim", "scheduler", "scaler")
#: bytes per element, to check that the (unread) storages are all there
ITEMSIZE = {
    "float32": 4, "float64": 8, "float16": 2, "bfloat16": 2, "int64": 8, "int32": 4,
    "int16": 2, "int8": 1, "uint8": 1, "bool": 1, "complex64": 8, "complex128": 16,
    "qint8": 1, "quint8": 1, "qint32": 4, "quint4x2": 1, "quint2x4": 1, "uint16": 2,
    "uint32": 4, "uint64": 8, "float8_e4m3fn": 1, "float8_e5m2": 1,
}


def _first_member_is_data_pkl(head: bytes) -> bool:
    if not is_zip(head) or len(head) < 30:
        return False
    n = int.from_bytes(head[26:28], "little")
    return len(head) >= 30 + n and head[30:30 + n].endswith(b"data.pkl")


def scan_checkpoint(src: Source) -> dict[str, Any]:
    """The facts of a checkpoint (shared with the Hugging Face directory extractor)."""
    head = src.read(0, 8)
    if is_zip(head):
        return _from_zip(src)
    if head[:1] == b"\x80":
        return _from_legacy(src)
    raise NotRecognised("not a PyTorch checkpoint: neither a zip archive nor a pickle")


def _storages(machine: PickleMachine) -> dict[str, tuple[str, int]]:
    """``{key: (dtype, numel)}`` of the storages the pickle's persistent ids name."""
    out: dict[str, tuple[str, int]] = {}
    for pid in machine.persids:
        if (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and isinstance(pid[4], int)):
            out[str(pid[2])] = (dtype_of(pid[1]), pid[4])
    return out


def _from_zip(src: Source) -> dict[str, Any]:
    zf = open_zip(src)
    infos = zf.infolist()
    pkls = [i for i in infos if i.filename.endswith("data.pkl") and i.filename.count("/") <= 1]
    if not pkls:
        raise FormatError("zip archive without a data.pkl: not a PyTorch checkpoint")
    names = [i.filename for i in infos]
    torchscript = any("/code/" in n for n in names) and any(
        n.endswith("constants.pkl") for n in names)
    log = GlobalsLog()
    data = member_source(src, zf, pkls[0], MAX_DATA_PKL)
    machine = PickleMachine(SourceReader(data), log)
    extra = {"layout": "zip", "archive_members": len(infos)}
    if torchscript:
        extra["torchscript"] = True
    prefix = pkls[0].filename[: -len("data.pkl")]
    sizes = {i.filename: i.file_size for i in infos}

    def verify() -> None:
        # weights are never read, but a checkpoint missing them is broken: say so
        for key, (dtype, numel) in _storages(machine).items():
            size = sizes.get(f"{prefix}data/{key}")
            if size is None:
                raise FormatError(f"storage {key!r} is missing from the archive")
            if size < numel * ITEMSIZE.get(dtype, 0):
                raise FormatError(f"storage {key!r} holds {size} bytes, "
                                  f"{numel} x {dtype} expected")

    return _facts(src, machine, log, [machine.run], extra, verify)


def _from_legacy(src: Source) -> dict[str, Any]:
    log = GlobalsLog()
    reader = SourceReader(src)
    machine = PickleMachine(reader, log)
    legacy: list[bool] = []

    def magic_then_object() -> Any:
        value = machine.run()
        if value != LEGACY_MAGIC:
            return value  # a plain pickle: that was the object
        legacy.append(True)
        machine.run()  # protocol version
        machine.run()  # system info
        return machine.run()

    def verify() -> None:
        if not legacy:
            return
        machine.run()  # the sorted storage keys; then per storage: int64 numel + its bytes
        expected = sum(8 + numel * ITEMSIZE.get(dtype, 0)
                       for dtype, numel in _storages(machine).values())
        remaining = src.size - reader.tell()
        if remaining < expected:
            raise FormatError(f"truncated checkpoint: {remaining} bytes of storage data, "
                              f"{expected} expected")

    return _facts(src, machine, log, [magic_then_object], {"layout": "legacy"}, verify)


def _facts(src: Source, machine: PickleMachine, log: GlobalsLog, steps: list[Any],
           extra: dict[str, Any], verify: Any = None) -> dict[str, Any]:
    root: Any = None
    complete, note, error = True, None, None
    try:
        for step in steps:
            root = step()
        if verify is not None:
            verify()
    except LimitExceeded as e:
        complete, note = False, one_line(e)
    except ValueError as e:
        error = one_line(e)
    details: dict[str, Any] = dict(extra)
    facts: dict[str, Any] = {"kind": "model", "format": "pytorch", "framework": "pytorch",
                             "name": stem(src.name), "details": details}
    tensors = iter_tensors(root) if root is not None else []
    known = [(n, t) for n, t in tensors if t.shape is not None]
    if known:
        weights = [(n, t) for n, t in known
                   if not any(k in n.split(".", 1)[0].lower() for k in _OPTIMIZER_KEYS)]
        facts["parameters"] = _count(weights)
        details["tensor_count"] = len(known)
        details["dtypes"] = dict(Counter(t.dtype for _, t in known).most_common())
        details["tensors"] = [{"name": n, "shape": list(t.shape or ()), "dtype": t.dtype}
                              for n, t in known[:MAX_LISTED]]
        if len(weights) != len(known):
            details["optimizer_tensors"] = len(known) - len(weights)
    else:
        details["tensors"] = "unknown"
    if isinstance(root, Node) and root.kind in ("dict", "call", "new"):
        keys = [clip(k, 128) for k, _ in root.items if isinstance(k, str)]
        # a checkpoint dict ({"model": ..., "epoch": ...}) is described by its keys; a flat
        # state dict's keys are already the tensor names
        if keys and (not known or any(not isinstance(v, Tensor) for _, v in root.items)):
            details["top_level_keys"] = keys[:50]
        if root.kind == "new" and root.callee_name:
            details["object_class"] = root.callee_name
    details["globals"] = list(log.seen)[:200]
    if log.dangerous:
        details["dangerous"] = list(log.dangerous)
    details["scan_complete"] = complete and error is None and not log.anomalies
    if note:
        details["note"] = note
    if log.unsafe:
        facts["unsafe"] = list(log.unsafe)
    if log.anomalies:
        details["anomalies"] = list(log.anomalies)
    details["pickle_ops"] = machine.ops
    if error:
        raise ExtractionError(error, facts)
    return facts


def _count(tensors: list[tuple[str, Tensor]]) -> int:
    """Elements of distinct tensors (tied weights share a storage view and count once)."""
    seen: set[tuple[Any, ...]] = set()
    total = 0
    for _, t in tensors:
        key = (t.storage, t.offset, t.shape, t.dtype) if t.storage is not None else (id(t),)
        if key in seen:
            continue
        seen.add(key)
        total += t.numel
    return total


class PyTorchExtractor(FileExtractor):
    """``torch.save`` checkpoints: ``.pt``/``.pth``/``.bin``/``.ckpt`` zip or legacy pickles,
    and any zip whose first member is ``<archive>/data.pkl``."""

    name = "pytorch"
    version = 1
    priority = 10
    suffixes = EXTENSIONS
    magics = (b"PK\x03\x04",)  # any zip whose first member is data.pkl

    def matches(self, filename: str, head: bytes) -> bool:
        if _first_member_is_data_pkl(head):
            return True
        name = filename.lower()
        # .bin is generic (raw data, other tools): only with a zip or pickle start; the torch
        # extensions always, so a damaged checkpoint is reported rather than ignored
        if name.endswith(".bin"):
            return is_zip(head) or head[:1] == b"\x80"
        return name.endswith(EXTENSIONS)

    def extract(self, src: Source) -> dict[str, Any]:
        return scan_checkpoint(src)
