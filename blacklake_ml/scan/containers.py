"""Archives: zip (torch checkpoints, ``.keras``, ``.skops``, ``.npz``, any other zip), tar
(legacy torch checkpoints, any other tar) and numpy ``.npy`` files.

Members are scanned like files. Ambiguity is never resolved in the scanner's favour: a zip
that lists one name twice is read differently by ``zipfile`` (the last entry) and by torch's
reader, so every copy is scanned and the archive is at best ``unknown``; a member that cannot
be read whole (encrypted, over the caps, a bad CRC) leaves the archive ``unknown``.
"""

from __future__ import annotations

import ast
import posixpath
import tarfile
import zipfile
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any, cast

from blacklake_ml.extract._util import LimitExceeded
from blacklake_ml.extract.base import Source
from blacklake_ml.extract.local import SliceSource, SourceReader
from blacklake_ml.scan import frameworks
from blacklake_ml.scan.file_source import FileSource
from blacklake_ml.scan.pickles import Opener, scan_pickle
from blacklake_ml.scan.verdict import SAFE, UNKNOWN, Verdict

#: scans one member (a Source at a nesting depth): the format dispatcher, passed in so the
#: archive scanners need not import it (it imports them)
ScanMember = Callable[[Source, int], Verdict]

#: members of one archive scanned before giving up (unknown)
MAX_MEMBERS = 100_000
#: largest member inflated to scan (a stored member is read in place, by range)
MAX_MEMBER = 2 * 1024**3
#: inflation ratio past which a member is treated as a zip bomb (unknown)
MAX_RATIO = 1000


def _member_source(src: Source, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Source:
    """One member as a :class:`Source`: a slice of the archive when stored, else inflated
    into a temporary file (bounded by :data:`MAX_MEMBER`; the CRC is checked by zipfile)."""
    name = posixpath.basename(info.filename) or info.filename
    if info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 0x1:
        # stored: read in place (offset of the data after the local header)
        head = src.read(info.header_offset, info.header_offset + 30)
        if len(head) == 30 and head[:4] == b"PK\x03\x04":
            n = int.from_bytes(head[26:28], "little") + int.from_bytes(head[28:30], "little")
            return SliceSource(src, info.header_offset + 30 + n, info.compress_size, name)
    import tempfile

    out = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)
    with zf.open(info) as f:
        total = 0
        while True:
            chunk = f.read(1024 * 1024)
            if not chunk:
                break
            total += len(chunk)
            if total > MAX_MEMBER:
                raise LimitExceeded(f"member {info.filename!r} inflates past {MAX_MEMBER} bytes")
            out.write(chunk)
    return FileSource(out, name)


def _kind(names: list[str]) -> str:
    bases = {posixpath.basename(n) for n in names}
    if any(n.endswith("data.pkl") for n in names):
        return "pytorch"
    if "config.json" in bases and any(n.endswith(".weights.h5") for n in names):
        return "keras"
    if "schema.json" in bases and names and all(
            n == "schema.json" or n.endswith(".npy") or "/" not in n for n in names):
        return "skops"
    if names and all(n.endswith(".npy") for n in names):
        return "npz"
    return "zip"


def scan_zip(src: Source, depth: int, scan_member: ScanMember) -> Verdict:
    """The verdict on a zip archive and every member it holds (members go to
    ``scan_member``, the format dispatcher, one level deeper)."""
    try:
        zf = zipfile.ZipFile(SourceReader(src))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        return Verdict(UNKNOWN, "zip", [f"zip archive could not be read: {e}"])
    if len(infos) > MAX_MEMBERS:
        return Verdict(UNKNOWN, "zip", [f"zip archive lists {len(infos)} members "
                                        f"(scanned up to {MAX_MEMBERS})"])
    names = [i.filename for i in infos]
    kind = _kind(names)
    v = Verdict(SAFE, kind)
    normalized = Counter(posixpath.normpath(n.replace("\\", "/")).lower().lstrip("/")
                         for n in names)
    dups = sorted(n for n, c in normalized.items() if c > 1)
    if dups:
        v.add(UNKNOWN, f"the archive lists {', '.join(dups[:5])} more than once: loaders "
                       "disagree on which copy they read (every copy was scanned)")
    if kind == "pytorch" and any("/code/" in n or n.startswith("code/") for n in names):
        v.add(UNKNOWN, "TorchScript archive: its code is compiled and run by torch.jit.load "
                       "and is not analysed")
    if kind == "skops":
        v.merge(frameworks.scan_skops(src))
    for info in infos:
        if info.is_dir():
            continue
        label = f"{info.filename}: "
        if info.flag_bits & 0x1:
            v.add(UNKNOWN, label + "encrypted member cannot be scanned")
            continue
        pickled = kind == "pytorch" and info.filename.endswith(".pkl")
        if info.file_size > MAX_MEMBER or (
                not pickled and info.compress_size
                and info.file_size > MAX_RATIO * info.compress_size
                and info.file_size > 64 * 1024 * 1024):
            v.add(UNKNOWN, label + f"member of {info.file_size} bytes not scanned (limit)")
            continue
        if kind == "pytorch" and _is_torch_data(info.filename):
            continue  # raw tensor storage: torch reads it as bytes, never unpickles it
        if kind == "keras" and info.filename.endswith(".weights.h5"):
            continue  # weights only; the layers (and any code) are in config.json
        try:
            mv: Verdict
            if pickled:
                # streamed straight from the archive (inflated as read, never held whole):
                # the machine's own byte and opcode caps bound the work
                mv = scan_pickle(cast(Opener, partial(zf.open, info)), joblib=False)
            else:
                member = _member_source(src, zf, info)
                if kind == "keras" and info.filename == "config.json":
                    mv = frameworks.scan_keras_config(member.read(0, member.size))
                else:
                    mv = scan_member(member, depth + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as e:
            v.add(UNKNOWN, label + f"member could not be read whole: {e}")
            continue
        v.merge(mv, label)
    return v


def _is_torch_data(name: str) -> bool:
    parts = name.split("/")
    return len(parts) >= 2 and parts[-2] == "data" and parts[-1].isdigit() or \
        parts[-1] in ("version", "byteorder", ".format_version", ".storage_alignment",
                      "serialization_id")


def scan_npy(src: Source, depth: int) -> Verdict:
    """A ``.npy`` file: numeric arrays are data; object arrays are a pickle after the header
    (``numpy.load(allow_pickle=True)`` unpickles it)."""
    import numpy

    v = Verdict(SAFE, "npy")
    head = src.read(0, 12)
    major = head[6] if len(head) > 6 else 0
    if major == 1:
        hlen, start = int.from_bytes(head[8:10], "little"), 10
    elif major in (2, 3):
        hlen, start = int.from_bytes(head[8:12], "little"), 12
    else:
        return Verdict(UNKNOWN, "npy", [f"unknown .npy format version {major}"])
    if hlen > 1024 * 1024:
        return Verdict(UNKNOWN, "npy", ["oversized .npy header"])
    try:
        header = src.read(start, start + hlen).decode("latin-1" if major < 3 else "utf-8")
        d: Any = ast.literal_eval(header)
        dtype = numpy.lib.format.descr_to_dtype(d["descr"])
    except Exception as e:  # noqa: BLE001 - numpy.load would refuse this header as well
        return Verdict(UNKNOWN, "npy", [f"unreadable .npy header: {type(e).__name__}"])
    if not dtype.hasobject:
        return v
    v.format = "npy-object"
    offset = start + hlen
    body = SliceSource(src, offset, src.size - offset, src.name)
    pv = scan_pickle(lambda: SourceReader(body), joblib=False)
    v.merge(pv, "object array (unpickled by numpy.load(allow_pickle=True)): ")
    if pv.verdict == SAFE and not pv.complete:
        v.add(UNKNOWN, "object array whose pickle could not be read")
    return v


def scan_tar(src: Source, depth: int, scan_member: ScanMember) -> Verdict:
    """A tar archive: legacy torch checkpoints (``storages``/``tensors``/``pickle`` members,
    each a pickle stream) or any other tar, member by member (``scan_member`` as in
    :func:`scan_zip`)."""
    try:
        tf = tarfile.open(fileobj=SourceReader(src), mode="r:")
        members = tf.getmembers()
    except (tarfile.TarError, OSError, ValueError, EOFError) as e:
        return Verdict(UNKNOWN, "tar", [f"tar archive could not be read: {e}"])
    names = {m.name for m in members}
    legacy = {"storages", "tensors", "pickle"} <= names
    v = Verdict(SAFE, "pytorch-tar" if legacy else "tar")
    counts = Counter(m.name for m in members)
    dups = sorted(n for n, c in counts.items() if c > 1)
    if dups:
        v.add(UNKNOWN, f"the archive lists {', '.join(dups[:5])} more than once")
    for m in members[:MAX_MEMBERS]:
        label = f"{m.name}: "
        if m.issym() or m.islnk():
            v.add(UNKNOWN, label + "link member (its target is not scanned)")
            continue
        if not m.isfile():
            continue
        member = SliceSource(src, m.offset_data, m.size, posixpath.basename(m.name))
        if legacy and m.name in ("storages", "tensors", "pickle", "sys_info"):
            # torch reads each of these as pickles interleaved with raw storage bytes; the
            # interleaving cannot be followed without torch's layout, so every pickle the
            # member starts with is judged and a member not read to its end stays unknown
            pv = scan_pickle(partial(SourceReader, member), joblib=False)
            v.merge(pv, label)
            if m.name in ("storages", "tensors") and pv.verdict == SAFE:
                v.add(UNKNOWN, label + "legacy storage layout: pickles between raw tensor "
                                       "bytes are not all read")
            continue
        v.merge(scan_member(member, depth + 1), label)
    if len(members) > MAX_MEMBERS:
        v.add(UNKNOWN, f"only the first {MAX_MEMBERS} members were scanned")
    return v
