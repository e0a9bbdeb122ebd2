"""Class 5 — scanner limits and parser differentials.

Limits: millions of stack-neutral opcodes (MARK/POP_MARK or NONE/POP pairs) before the
payload, a million nested MARKs, 100,000 nested lists, a torch ``data.pkl`` of 300 MB that
deflates to a few hundred KB, a 300 MB plain pickle, and a gzip joblib file that inflates
to 300 MB — a scanner that stops at an opcode, depth or size cap and says "safe" misses
what follows. Differentials: opcodes that ``pickle`` reads and ``pickletools`` (the
disassembler most scanners use) rejects — protocol 0 ``INT`` with a base prefix
(``I0x10``: pickle reads ``int(s, 0)``, pickletools ``int(s)``), ``LONG`` likewise with its
``L`` suffix — placed before the payload, so a scanner that stops at the first parse error
never sees it; a memo slot written twice (the unpickler keeps the last value); STACK_GLOBAL
operands that are not literals (memo, raw-unicode-escape, a computed string) and
STACK_GLOBAL under PROTO 2.
"""

from __future__ import annotations

import gzip
import struct
import zipfile
from pathlib import Path

from . import JOBLIB, PICKLE, TORCH, Entry, base, pk

MB = 1 << 20
BIG = 300 * MB


def pad_pairs(n_opcodes: int, pair: bytes = pk.MARK + pk.POP_MARK) -> bytes:
    return pair * (n_opcodes // 2)


def put(i: int) -> bytes:
    return b"q" + bytes([i])  # BINPUT


def get(i: int) -> bytes:
    return b"h" + bytes([i])  # BINGET


def entries() -> list[Entry]:
    out: list[Entry] = []

    def raw(variant: str, note: str, body_fn, protocol: int = 4, quick: bool = False,
            big: bool = False, loader: str = PICKLE, ext: str = "pkl") -> None:
        def make(p: Path) -> None:
            base.write(p, pk.whole(body_fn(), protocol) if protocol is not None
                       else body_fn())

        out.append(Entry("5-limits", variant, f"5-limits/{variant}.{ext}", make, loader,
                         note, quick=quick, big=big))

    raw("6M-MARK-POP_MARK-then-payload", "6,000,000 MARK/POP_MARK opcodes, then os.system",
        lambda: pad_pairs(6_000_000) + pk.system(), quick=True)
    raw("6M-NONE-POP-then-payload", "6,000,000 NONE/POP opcodes, then os.system",
        lambda: pad_pairs(6_000_000, pk.NONE + pk.POP) + pk.system())
    raw("6M-opcodes-joblib", "6,000,000 MARK/POP_MARK opcodes then os.system, via joblib",
        lambda: pad_pairs(6_000_000) + pk.system(), loader=JOBLIB, ext="joblib")
    raw("1M-nested-MARK", "1,000,000 nested MARKs, the payload, then as many POP_MARKs",
        lambda: pk.MARK * 1_000_000 + pk.system() + pk.POP + pk.POP_MARK * 1_000_000
        + pk.NONE)
    raw("100k-nested-lists", "a list nested 100,000 deep, then the payload (recursion)",
        lambda: pk.EMPTY_LIST * 100_000 + pk.APPEND * 99_999 + pk.POP + pk.system())
    raw("300MB-plain-pickle", "a 300 MB BINBYTES8 before os.system in a plain pickle",
        lambda: b"\x8e" + struct.pack("<Q", BIG) + bytes(BIG) + pk.POP + pk.system(),
        big=True)

    def deep_torch(p: Path) -> None:
        base.write(p, base.torch_zip_with(
            lambda n, d: [(n, pk.inject(d, pad_pairs(6_000_000) + pk.system()))]))

    out.append(Entry("5-limits", "6M-opcodes-torch-data.pkl", "5-limits/6M-opcodes.pt",
                     deep_torch, TORCH, "torch archive whose data.pkl has 6,000,000 "
                     "MARK/POP_MARK opcodes before the payload"))

    def deflated(p: Path) -> None:
        pad = b"\x8e" + struct.pack("<Q", BIG) + bytes(BIG) + pk.POP
        base.write(p, base.torch_zip_with(
            lambda n, d: [(n, pk.inject(d, pad + pk.system()), zipfile.ZIP_DEFLATED)]))

    out.append(Entry("5-limits", "deflated-300MB-data.pkl", "5-limits/deflated-300MB.pt",
                     deflated, TORCH, "torch archive whose deflated data.pkl (a few hundred "
                     "KB) inflates to 300 MB, the payload at the end", big=True))

    def deflated_opcodes(p: Path) -> None:
        pad = pad_pairs(60 * MB)
        base.write(p, base.torch_zip_with(
            lambda n, d: [(n, pk.inject(d, pad + pk.system()), zipfile.ZIP_DEFLATED)]))

    out.append(Entry("5-limits", "deflated-60M-opcodes-data.pkl",
                     "5-limits/deflated-60M-opcodes.pt", deflated_opcodes, TORCH,
                     "deflated data.pkl: 60,000,000 MARK/POP_MARK opcodes then the payload",
                     big=True))

    def gz_joblib(p: Path) -> None:
        pad = b"\x8e" + struct.pack("<Q", BIG) + bytes(BIG) + pk.POP
        raw_pickle = pk.whole(pad + pk.system(), 4)
        base.write(p, gzip.compress(raw_pickle, compresslevel=6, mtime=0))

    out.append(Entry("5-limits", "gzip-joblib-inflates-300MB", "5-limits/gzip-300MB.joblib",
                     gz_joblib, JOBLIB, "gzip joblib file (~300 KB) that inflates to 300 MB, "
                     "the payload at the end", big=True))

    # parser differentials: pickle accepts, pickletools rejects; payload comes after
    raw("INT-hex-prefix-I0x10", "protocol 0 INT 'I0x10' (pickle: int(s, 0); pickletools: "
        "int(s) fails) before the payload",
        lambda: b"I0x10\n" + pk.POP + pk.system(protocol=0), protocol=0, quick=True)
    raw("INT-octal-prefix-I0o20", "INT 'I0o20' before the payload",
        lambda: b"I0o20\n" + pk.POP + pk.system(protocol=0), protocol=0)
    raw("INT-binary-prefix-I0b1", "INT 'I0b1' before the payload",
        lambda: b"I0b1\n" + pk.POP + pk.system(protocol=0), protocol=0)
    raw("LONG-hex-L0x10L", "protocol 0 LONG 'L0x10L' (L suffix, base prefix) before the "
        "payload", lambda: b"L0x10L\n" + pk.POP + pk.system(protocol=0), protocol=0)
    raw("INT-hex-prefix-joblib", "INT 'I0x10' before the payload, loaded by joblib (pure "
        "Python unpickler)", lambda: b"I0x10\n" + pk.POP + pk.system(protocol=0), protocol=0,
        loader=JOBLIB, ext="joblib")

    def int_torch(p: Path) -> None:
        base.write(p, base.torch_zip_with(
            lambda n, d: [(n, pk.inject(d, b"I0x10\n" + pk.POP + pk.system(protocol=2)))]))

    out.append(Entry("5-limits", "INT-hex-prefix-torch-data.pkl", "5-limits/int-hex.pt",
                     int_torch, TORCH, "torch data.pkl with 'I0x10' before the payload"))

    # memo: slot 1 holds 'numpy' first, 'os' last; STACK_GLOBAL reads the memo
    raw("memo-overwrite-STACK_GLOBAL", "STACK_GLOBAL operands from the memo; slot 1 written "
        "'numpy' then 'os' (the unpickler keeps the last)",
        lambda: (pk.s("numpy") + put(1) + pk.POP + pk.s("ndarray") + put(2) + pk.POP
                 + pk.s("os") + put(1) + pk.POP + pk.s("system") + put(2) + pk.POP
                 + get(1) + get(2) + pk.STACK_GLOBAL + pk.s(pk.SH) + pk.TUPLE1 + pk.REDUCE),
        quick=True)
    raw("memo-MEMOIZE-then-PUT", "MEMOIZE stores 'collections' in slot 0, BINPUT 0 overwrites "
        "it with 'os'",
        lambda: (pk.s("collections") + pk.MEMOIZE + pk.POP + pk.s("os") + put(0) + pk.POP
                 + get(0) + pk.s("system") + pk.STACK_GLOBAL + pk.s(pk.SH) + pk.TUPLE1
                 + pk.REDUCE))
    raw("STACK_GLOBAL-unicode-escape", "STACK_GLOBAL operands pushed by protocol 0 UNICODE "
        "with raw-unicode-escapes ('\\u006f\\u0073' is 'os')",
        lambda: (b"V\\u006f\\u0073\n" + b"V\\u0073ystem\n" + pk.STACK_GLOBAL
                 + pk.v0(pk.SH) + pk.TUPLE1 + pk.REDUCE))
    raw("STACK_GLOBAL-computed-name", "STACK_GLOBAL module name computed by "
        "codecs.decode('bf', 'rot13'): no literal 'os' anywhere",
        lambda: (pk.call(pk.sglob("codecs", "decode"), pk.s("bf"), pk.s("rot13"))
                 + pk.call(pk.sglob("codecs", "decode"), pk.s("flfgrz"), pk.s("rot13"))
                 + pk.STACK_GLOBAL + pk.s(pk.SH) + pk.TUPLE1 + pk.REDUCE))
    raw("STACK_GLOBAL-under-PROTO2", "STACK_GLOBAL (a protocol 4 opcode) in a PROTO 2 pickle",
        lambda: pk.system(), protocol=2)
    raw("FRAME-covers-part-of-payload", "a FRAME whose length covers only part of "
        "the payload (frames are a read-ahead hint to the C unpickler)",
        lambda: pk.frame(pk.s("os")) + pk.s("system") + pk.STACK_GLOBAL + pk.s(pk.SH)
        + pk.TUPLE1 + pk.REDUCE)
    return out
