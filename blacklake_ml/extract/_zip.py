"""Guarded zip access for extractors (torch checkpoints, .keras, .skops are zip archives).

The central directory's size and entry count are checked before ``zipfile`` reads it, a member
is read only after its *declared* sizes pass the caps (and ``zipfile`` never returns more than
the declared size), and suspicious compression ratios are refused as zip bombs. Uncompressed
members are exposed in place as a :class:`~blacklake_ml.extract.local.SliceSource`, so a large
stored member (an HDF5 weights file) is read by range, not copied.
"""

from __future__ import annotations

import struct
import zipfile

from blacklake_ml.extract._util import LimitExceeded
from blacklake_ml.extract.base import Source
from blacklake_ml.extract.local import BytesSource, SliceSource, SourceReader

#: most entries accepted in a zip's central directory
MAX_ZIP_ENTRIES = 200_000
#: largest central directory accepted (bytes)
MAX_CENTRAL_DIR = 64 * 1024 * 1024
#: a member that inflates more than this ratio (and past MIN_BOMB_SIZE) is a zip bomb
MAX_RATIO = 200
MIN_BOMB_SIZE = 1024 * 1024

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_LOCAL_HEADER = b"PK\x03\x04"


def is_zip(head: bytes) -> bool:
    """Whether ``head`` starts like a zip archive (a local file header)."""
    return head[:4] == _LOCAL_HEADER


def _central_directory(src: Source) -> tuple[int, int]:
    """``(entries, size)`` of the central directory, read from the end records."""
    tail_len = min(src.size, 65535 + 22)
    tail = src.read(src.size - tail_len, src.size)
    i = tail.rfind(_EOCD)
    if i < 0 or len(tail) - i < 22:
        raise ValueError("not a zip archive (no end of central directory record)")
    entries, cd_size = struct.unpack_from("<HI", tail, i + 10)
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF:
        loc = i - 20
        if loc >= 0 and tail[loc:loc + 4] == _EOCD64_LOCATOR:
            (rec_off,) = struct.unpack_from("<Q", tail, loc + 8)
            rec = src.read(rec_off, rec_off + 56)
            if len(rec) == 56 and rec[:4] == b"PK\x06\x06":
                entries, cd_size = struct.unpack_from("<QQ", rec, 32)
    return entries, cd_size


def open_zip(src: Source) -> zipfile.ZipFile:
    """A :class:`zipfile.ZipFile` over ``src`` after checking the central directory's size."""
    entries, cd_size = _central_directory(src)
    if entries > MAX_ZIP_ENTRIES:
        raise LimitExceeded(f"zip archive lists {entries} entries (limit {MAX_ZIP_ENTRIES})")
    if cd_size > MAX_CENTRAL_DIR:
        raise LimitExceeded(f"zip central directory of {cd_size} bytes (limit {MAX_CENTRAL_DIR})")
    try:
        return zipfile.ZipFile(SourceReader(src))
    except zipfile.BadZipFile as e:
        raise ValueError(f"corrupt zip archive: {e}") from None


def check_member(info: zipfile.ZipInfo, cap: int) -> None:
    """Refuse a member whose declared size exceeds ``cap`` or whose ratio looks like a bomb."""
    if info.file_size > cap:
        raise LimitExceeded(
            f"zip member {info.filename!r} declares {info.file_size} bytes (limit {cap})")
    if (info.compress_type != zipfile.ZIP_STORED and info.file_size > MIN_BOMB_SIZE
            and info.file_size > MAX_RATIO * max(1, info.compress_size)):
        raise LimitExceeded(
            f"zip member {info.filename!r} inflates {info.compress_size} -> {info.file_size} "
            "bytes: refused as a zip bomb")


def read_member(zf: zipfile.ZipFile, name: str | zipfile.ZipInfo, cap: int) -> bytes:
    """The bytes of one member, at most ``cap`` (checked against the declared size first)."""
    info = name if isinstance(name, zipfile.ZipInfo) else zf.getinfo(name)
    check_member(info, cap)
    try:
        with zf.open(info) as f:
            data = f.read(cap + 1)
    except (zipfile.BadZipFile, EOFError) as e:
        raise ValueError(f"corrupt zip member {info.filename!r}: {e}") from None
    if len(data) > cap:  # pragma: no cover - zipfile stops at the declared size
        raise LimitExceeded(f"zip member {info.filename!r} exceeds {cap} bytes")
    return data


def member_source(src: Source, zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> Source:
    """A :class:`Source` for one member: in place when stored uncompressed (no size cap needed,
    reads are ranged), else decompressed into memory within ``cap``."""
    name = info.filename.rsplit("/", 1)[-1]
    if info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 0x1:
        header = src.read(info.header_offset, info.header_offset + 30)
        if len(header) == 30 and header[:4] == _LOCAL_HEADER:
            name_len, extra_len = struct.unpack_from("<HH", header, 26)
            start = info.header_offset + 30 + name_len + extra_len
            if start + info.file_size <= src.size:
                return SliceSource(src, start, info.file_size, name)
        raise ValueError(f"corrupt zip member {info.filename!r} (bad local header)")
    return BytesSource(name, read_member(zf, info, cap))
