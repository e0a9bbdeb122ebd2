"""A minimal protobuf wire-format reader over a :class:`Source`, for files too big to load.

ONNX models and TensorFlow SavedModels are single protobuf messages whose bulk is tensor
payloads. This reader walks fields by offset: varints are decoded, length-delimited fields are
returned as ``(offset, length)`` spans so a caller descends into the sub-messages it needs and
skips the rest (weights) without reading them. Reads go through a small window buffer, so
walking a graph's structure costs a few range reads per megabyte of *structure*.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from blacklake_ml.extract._util import FormatError, LimitExceeded
from blacklake_ml.extract.base import Source

VARINT, I64, LEN, I32 = 0, 1, 2, 5
#: window of each range read
_WINDOW = 64 * 1024
#: longest varint (10 bytes for 64-bit values)
_MAX_VARINT = 10


class Span:
    """A length-delimited field: ``length`` bytes at ``offset`` of the source."""

    __slots__ = ("length", "offset")

    def __init__(self, offset: int, length: int) -> None:
        self.offset = offset
        self.length = length

    @property
    def end(self) -> int:
        """Offset just past the field."""
        return self.offset + self.length


class WireReader:
    """Field iteration over a protobuf message stored in ``src``."""

    def __init__(self, src: Source, *, max_fields: int = 50_000_000) -> None:
        self.src = src
        self._buf = b""
        self._buf_start = 0
        #: fields visited so far, across all messages (bounded against hostile inputs)
        self.fields_seen = 0
        self.max_fields = max_fields

    def _window(self, pos: int, need: int) -> tuple[bytes, int]:
        off = pos - self._buf_start
        if off < 0 or off + need > len(self._buf):
            self._buf = self.src.read(pos, pos + max(_WINDOW, need))
            self._buf_start = pos
            off = 0
        return self._buf, off

    def read(self, pos: int, n: int) -> bytes:
        """``n`` bytes at ``pos`` (``ValueError`` if the file ends first)."""
        if n > _WINDOW:
            data = self.src.read(pos, pos + n)
        else:
            buf, off = self._window(pos, n)
            data = buf[off:off + n]
        if len(data) != n:
            raise ValueError(f"truncated protobuf: wanted {n} bytes at offset {pos}")
        return data

    def bytes_of(self, span: Span, cap: int) -> bytes:
        """The bytes of a length-delimited field, refusing more than ``cap``."""
        if span.length > cap:
            raise LimitExceeded(f"protobuf field of {span.length} bytes (limit {cap})")
        return self.read(span.offset, span.length)

    def varint(self, pos: int, end: int) -> tuple[int, int]:
        """``(value, new_pos)`` of the varint at ``pos`` (must finish before ``end``)."""
        buf, off = self._window(pos, min(_MAX_VARINT, max(1, end - pos)))
        result = shift = 0
        for i in range(_MAX_VARINT):
            if off + i >= len(buf) or pos + i >= end:
                raise ValueError(f"truncated protobuf varint at offset {pos}")
            b = buf[off + i]
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result, pos + i + 1
            shift += 7
        raise ValueError(f"malformed protobuf varint at offset {pos}")

    def fields(self, start: int, end: int) -> Iterator[tuple[int, int, int | Span]]:
        """``(field_number, wire_type, value)`` for each field of the message in
        ``[start, end)``: an int for varint/fixed fields, a :class:`Span` for length-delimited
        ones. Malformed framing raises ``ValueError``."""
        if end > self.src.size:
            raise ValueError(f"truncated protobuf: message ends at {end}, file has "
                             f"{self.src.size} bytes")
        pos = start
        while pos < end:
            self.fields_seen += 1
            if self.fields_seen > self.max_fields:
                raise LimitExceeded(f"more than {self.max_fields} protobuf fields")
            key, pos = self.varint(pos, end)
            field, wt = key >> 3, key & 7
            if field == 0:
                raise ValueError(f"invalid protobuf field number 0 at offset {pos}")
            value: int | Span
            if wt == VARINT:
                value, pos = self.varint(pos, end)
            elif wt == I64:
                value = struct.unpack("<Q", self.read(pos, 8))[0]
                pos += 8
            elif wt == I32:
                value = struct.unpack("<I", self.read(pos, 4))[0]
                pos += 4
            elif wt == LEN:
                n, pos = self.varint(pos, end)
                if pos + n > end:
                    raise ValueError(f"truncated protobuf: field {field} of {n} bytes at "
                                     f"offset {pos} overruns its message (ends at {end})")
                value = Span(pos, n)
                pos += n
            else:
                raise ValueError(f"unsupported protobuf wire type {wt} at offset {pos}")
            yield field, wt, value


def signed64(v: int) -> int:
    """A varint read as protobuf ``int64`` (two's complement)."""
    return v - (1 << 64) if v >= 1 << 63 else v


def packed_varints(data: bytes) -> list[int]:
    """The values of a packed repeated varint field."""
    out, pos, n = [], 0, len(data)
    while pos < n:
        result = shift = 0
        while True:
            if pos >= n or shift > 63:
                raise ValueError("malformed packed varint field")
            b = data[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        out.append(signed64(result))
    return out


def text(reader: WireReader, value: int | Span, cap: int = 64 * 1024) -> str:
    """A string field's value (UTF-8, invalid bytes replaced)."""
    if not isinstance(value, Span):
        raise FormatError("protobuf string field has a non-length wire type")
    return reader.bytes_of(value, cap).decode("utf-8", "replace")


# -- encoding, used to build payload-free test fixtures and by nothing at run time ------------
def enc_varint(v: int) -> bytes:
    """Encode ``v`` (negative values as 64-bit two's complement) as a varint."""
    if v < 0:
        v += 1 << 64
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def enc_field(field: int, value: int | bytes | str) -> bytes:
    """One field: an int as varint, bytes/str as length-delimited."""
    if isinstance(value, int):
        return enc_varint(field << 3 | VARINT) + enc_varint(value)
    data = value.encode() if isinstance(value, str) else value
    return enc_varint(field << 3 | LEN) + enc_varint(len(data)) + data
