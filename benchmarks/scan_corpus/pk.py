"""A tiny pickle assembler: opcodes written by hand, so the corpus can say exactly what each
payload is made of (``pickle.dumps`` could never produce most of them).

Every payload here ends with its marker action: the shell command :data:`SH` or the Python
statement :data:`PY`, both of which create the file named by the ``BLSCAN_MARKER``
environment variable (set by the verifier for each child process, so the corpus bytes stay
the same whatever the marker path).
"""

from __future__ import annotations

import pickletools
import struct

#: Shell command the payloads run: creates the marker file (the path comes from the env).
SH = 'touch "$BLSCAN_MARKER"'
#: Python statement the payloads run (for exec/eval-style sinks).
PY = 'import os; open(os.environ["BLSCAN_MARKER"], "w").close()'
#: A Python expression with the same effect (for eval-style sinks).
PY_EXPR = '__import__("os").system(\'touch "$BLSCAN_MARKER"\')'

PROTO = b"\x80"
STOP = b"."
MARK = b"("
POP = b"0"
POP_MARK = b"1"
TUPLE = b"t"
EMPTY_TUPLE = b")"
TUPLE1 = b"\x85"
TUPLE2 = b"\x86"
TUPLE3 = b"\x87"
REDUCE = b"R"
BUILD = b"b"
NONE = b"N"
NEWTRUE = b"\x88"
NEWFALSE = b"\x89"
EMPTY_DICT = b"}"
EMPTY_LIST = b"]"
SETITEM = b"s"
SETITEMS = b"u"
APPEND = b"a"
APPENDS = b"e"
DICT = b"d"
LIST = b"l"
STACK_GLOBAL = b"\x93"
MEMOIZE = b"\x94"
OBJ = b"o"
NEWOBJ = b"\x81"


def proto(n: int) -> bytes:
    return PROTO + bytes([n])


def frame(body: bytes) -> bytes:
    """A protocol-4 FRAME around ``body``."""
    return b"\x95" + struct.pack("<Q", len(body)) + body


def s(text: str) -> bytes:
    """A str pushed with the shortest binary opcode (protocol >= 1 style)."""
    raw = text.encode("utf-8")
    if len(raw) < 256:
        return b"\x8c" + bytes([len(raw)]) + raw  # SHORT_BINUNICODE (protocol 4)
    return b"X" + struct.pack("<I", len(raw)) + raw  # BINUNICODE


def binunicode(text: str) -> bytes:
    raw = text.encode("utf-8")
    return b"X" + struct.pack("<I", len(raw)) + raw


def v0(text: str) -> bytes:
    """A str pushed with protocol 0's UNICODE opcode (raw-unicode-escape, one line)."""
    return b"V" + text.encode("raw-unicode-escape") + b"\n"


def string0(text: str) -> bytes:
    """A str pushed with protocol 0's STRING opcode (a quoted repr)."""
    return b"S" + repr(text).encode("ascii") + b"\n"


def binbytes(data: bytes) -> bytes:
    if len(data) < 256:
        return b"C" + bytes([len(data)]) + data  # SHORT_BINBYTES
    if len(data) < 2**32:
        return b"B" + struct.pack("<I", len(data)) + data
    return b"\x8e" + struct.pack("<Q", len(data)) + data  # BINBYTES8


def binint(n: int) -> bytes:
    if 0 <= n < 256:
        return b"K" + bytes([n])
    if 0 <= n < 65536:
        return b"M" + struct.pack("<H", n)
    return b"J" + struct.pack("<i", n)


def int0(n: int) -> bytes:
    return b"I" + str(n).encode() + b"\n"


def glob0(module: str, name: str) -> bytes:
    """GLOBAL (protocol 0 text form): ``c<module>\\n<name>\\n``."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def sglob(module: str, name: str) -> bytes:
    """STACK_GLOBAL with both operands as SHORT_BINUNICODE."""
    return s(module) + s(name) + STACK_GLOBAL


def glob(module: str, name: str, protocol: int) -> bytes:
    return sglob(module, name) if protocol >= 4 else glob0(module, name)


def string(text: str, protocol: int) -> bytes:
    return s(text) if protocol >= 4 else (binunicode(text) if protocol >= 1 else v0(text))


def call(func: bytes, *args: bytes, protocol: int = 4) -> bytes:
    """``func(*args)`` with REDUCE; ``func`` and each arg are already-assembled pushes."""
    if protocol >= 2 and len(args) <= 3:
        tup = {0: EMPTY_TUPLE, 1: TUPLE1, 2: TUPLE2, 3: TUPLE3}[len(args)]
        return func + b"".join(args) + tup + REDUCE
    if not args:
        return func + MARK + TUPLE + REDUCE
    return func + MARK + b"".join(args) + TUPLE + REDUCE


def system(module: str = "os", name: str = "system", protocol: int = 4,
           command: str = SH) -> bytes:
    """``<module>.<name>(command)`` (leaves its result on the stack)."""
    return call(glob(module, name, protocol), string(command, protocol), protocol=protocol)


def whole(body: bytes, protocol: int = 4) -> bytes:
    """A complete pickle: PROTO (for protocol >= 2), ``body``, STOP."""
    head = proto(protocol) if protocol >= 2 else b""
    return head + body + STOP


def inject(pickled: bytes, payload: bytes, *, at: str = "start") -> bytes:
    """``pickled`` with a stack-neutral ``payload + POP`` spliced in.

    ``at="start"``: right after the PROTO opcode (before any FRAME: opcodes outside frames are
    legal); ``at="end"``: right before the final STOP (a framed pickle is unframed first,
    which needs a plain pickle: give joblib files as protocol <= 3 dumps, which have no frames).
    """
    ops = payload + POP
    if at == "start":
        if pickled[:1] == PROTO:
            return pickled[:2] + ops + pickled[2:]
        return ops + pickled
    if at == "end":
        if pickled[2:3] == b"\x95":  # framed (protocol >= 4): splice into a frameless copy
            pickled = unframe(pickled)
        assert pickled.endswith(STOP), "pickle does not end with STOP"
        return pickled[:-1] + ops + STOP
    raise ValueError(at)


def unframe(pickled: bytes) -> bytes:
    """``pickled`` without its FRAME opcodes (frames are only a read-ahead hint, but the pure
    Python unpickler rejects an opcode that straddles a frame's end, which splicing makes)."""
    out = bytearray()
    ops = list(pickletools.genops(pickled))
    for i, (op, _arg, pos) in enumerate(ops):
        end = ops[i + 1][2] if i + 1 < len(ops) else len(pickled)
        if op.name != "FRAME":
            out += pickled[pos:end]
    return bytes(out)
