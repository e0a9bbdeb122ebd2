"""Read a pickle without unpickling it: a symbolic stack machine over its opcodes.

The machine follows every opcode the way ``pickle.Unpickler`` would, but ``GLOBAL`` /
``STACK_GLOBAL`` push a :class:`Global` *name* instead of importing anything, and ``REDUCE`` /
``NEWOBJ`` / ``BUILD`` record a :class:`Node` instead of calling anything. The result is a
tree we can walk for tensor names and shapes (PyTorch state dicts) or estimator classes
(scikit-learn), plus the list of every global the pickle references; those outside a small
allow-list are reported as *unsafe*, because loading the file would import and possibly call
them (``os.system``, ``builtins.eval``, any ``__reduce__`` of an unknown class).

Hostile inputs are bounded: large byte/str payloads are skipped by seeking (a
:class:`Blob` records their size), text lines and long integers are capped, and the number of
opcodes, memo entries, stack items and consumed bytes is limited.
"""

from __future__ import annotations

import importlib.util
import io
import math
import pickletools
import re
import struct
import sys
from dataclasses import dataclass, field
from typing import Any, Protocol

from blacklake_ml.extract._pickle_policy import (
    TORCH_DTYPES,
    allowed_modules,
    as_loaded,
    describe,
    is_allowed,
    is_checked_call,
    non_str_classes,
    resolve,
)
from blacklake_ml.extract._util import LimitExceeded, clip

#: payloads (bytes/str) longer than this are skipped, not read
MAX_INLINE = 1024 * 1024
#: longest text line (protocol 0 STRING/INT/GLOBAL arguments)
MAX_LINE = 1024 * 1024
#: opcodes executed per scan before giving up as "incomplete"
MAX_OPS = 5_000_000
#: memo entries / stack items
MAX_MEMO = 2_000_000
MAX_STACK = 1_000_000
#: pickle bytes consumed per scan (arrays skipped by joblib's layout count too)
MAX_BYTES = 4 * 1024**3
#: nested pickles (joblib object arrays) followed
MAX_NESTING = 4

_CANONICAL_INT = re.compile(rb"[+-]?(?:0|[1-9][0-9]*)")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_<>][A-Za-z0-9_<>]*)*")


class Global:
    """A global referenced by the pickle (never imported): ``module``/``name`` as the unpickler
    would import it (after protocol < 3 renames); ``allowed`` when the pair is on the
    allow-list, ``checked`` when its calls are judged by their arguments."""

    __slots__ = ("allowed", "checked", "module", "name")

    def __init__(self, module: str, name: str, allowed: bool = False,
                 checked: bool = False) -> None:
        self.module = module
        self.name = name
        self.allowed = allowed
        self.checked = checked

    @property
    def full(self) -> str:
        """``module.name``."""
        return f"{self.module}.{self.name}"

    def __repr__(self) -> str:
        return f"Global({self.full})"


class Node:
    """What a container opcode or a call would have built.

    ``kind`` is ``"dict"``, ``"list"``, ``"set"``, ``"frozenset"``, ``"call"`` (REDUCE) or
    ``"new"`` (NEWOBJ / OBJ / INST / copyreg reconstruction); ``callee`` is the callable or class,
    ``items`` the (key, value) pairs set on it, ``elems`` the appended values and ``state`` what
    BUILD passed to ``__setstate__``.
    """

    __slots__ = ("args", "builds", "callee", "elems", "items", "kind", "state")

    def __init__(self, kind: str, callee: Any = None, args: Any = ()) -> None:
        self.builds = 0
        self.kind = kind
        self.callee = callee
        self.args = args
        self.items: list[tuple[Any, Any]] = []
        self.elems: list[Any] = []
        self.state: Any = None

    @property
    def callee_name(self) -> str | None:
        """``module.name`` of the callee when it is a global."""
        return self.callee.full if isinstance(self.callee, Global) else None

    def get(self, key: str) -> Any:
        """The value of string key ``key`` in ``items`` or a dict ``state`` (None if absent)."""
        # later entries win, as in a real dict (a duplicate key replaces the earlier value)
        for k, v in reversed(self.items):
            if k == key:
                return v
        st = self.state
        if isinstance(st, tuple) and st and isinstance(st[0], Node):
            st = st[0]
        if isinstance(st, Node) and st is not self:
            for k, v in reversed(st.items):
                if k == key:
                    return v
        return None

    def __repr__(self) -> str:
        return f"Node({self.kind}, {self.callee!r})"


class PersId:
    """A persistent id (PyTorch storages)."""

    __slots__ = ("pid",)

    def __init__(self, pid: Any) -> None:
        self.pid = pid


class Blob:
    """A payload that was skipped unread (only its size is known)."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size


class Unknown:
    """A value the machine cannot represent (out-of-band buffer, extension code)."""


UNKNOWN = Unknown()


@dataclass
class Tensor:
    """A tensor a ``torch._utils._rebuild_tensor*`` call would rebuild."""

    shape: tuple[int, ...] | None
    dtype: str
    storage: str | None = None
    offset: int = 0

    @property
    def numel(self) -> int:
        """Element count (0 when the shape is unknown)."""
        if self.shape is None:
            return 0
        return math.prod(self.shape)


@dataclass
class GlobalsLog:
    """Every global referenced, in first-seen order, with its classification.

    ``unsafe`` maps each offending global *as written* (``sklearn._config.os.system``) or
    construct to the reason shown to users (what it resolves to, what it does);
    ``anomalies`` lists what made the scan unsure (loaders would read a value differently,
    a form the writing library never produces): such a pickle is never judged safe.
    ``lenient`` ignores globals that cannot be imported at all (names that are not dotted
    identifiers): used for the secondary reading of joblib files, where array bytes are
    parsed as opcodes.
    """

    trusted_prefixes: tuple[str, ...] = ()  # accepted for compatibility; never trusted
    seen: dict[str, None] = field(default_factory=dict)
    unsafe: dict[str, str] = field(default_factory=dict)
    dangerous: dict[str, None] = field(default_factory=dict)
    anomalies: dict[str, None] = field(default_factory=dict)
    lenient: bool = False

    def record(self, module: str, name: str, proto: int = 4) -> Global:
        """The :class:`Global` the unpickler would import for ``module``/``name`` at
        protocol ``proto``, classified on first sight."""
        written = f"{clip(module, 256)}.{clip(name, 256)}"
        module, name = as_loaded(module, name, proto)
        module, name = clip(module, 256), clip(name, 256)
        allowed = is_allowed(module, name)
        checked = not allowed and is_checked_call(module, name)
        g = Global(module, name, allowed, checked)
        if self.lenient and not _IDENT.fullmatch(module):
            return g  # no module of that name can be imported: the loader fails here
        if self.lenient and not _IDENT.fullmatch(name) and module in allowed_modules():
            return g  # a listed module is imported, then the lookup of the name fails
        if written not in self.seen and len(self.seen) < 10_000:
            self.seen[written] = None
            if not allowed and not checked:
                target = resolve(module, name)
                what = describe(target)
                if what:
                    self.dangerous[target] = None
                shown = written if target == written else f"{written} (resolves to {target})"
                self.unsafe[written] = (f"global {shown}: not on the allow-list"
                                        + (f"; {what}" if what else ""))
        return g

    def flag(self, what: str, reason: str | None = None) -> None:
        """Record an always-unsafe construct (extension codes, computed global names)."""
        self.seen.setdefault(what, None)
        self.unsafe.setdefault(what, reason or what)

    def anomaly(self, what: str) -> None:
        """Record something that makes the reading uncertain (never judged safe)."""
        if len(self.anomalies) < 100:
            self.anomalies.setdefault(what, None)


# -- tensors ------------------------------------------------------------------------------------
_STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
    "BoolStorage": "bool", "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128", "QInt8Storage": "qint8", "QUInt8Storage": "quint8",
    "QInt32Storage": "qint32", "QUInt4x2Storage": "quint4x2", "QUInt2x4Storage": "quint2x4",
    "UntypedStorage": "uint8",
}
_DTYPE_ALIASES = {"float": "float32", "double": "float64", "half": "float16", "short": "int16",
                  "int": "int32", "long": "int64", "cfloat": "complex64",
                  "cdouble": "complex128"}
_TENSOR_REBUILDERS = frozenset({
    "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3", "torch._utils._rebuild_qtensor",
})


def dtype_of(g: Any) -> str:
    """The dtype a storage class (``torch.FloatStorage``) or dtype global (``torch.float16``)
    names; ``"unknown"`` for anything else."""
    if isinstance(g, Global):
        if g.name.endswith("Storage"):
            return _STORAGE_DTYPES.get(g.name, g.name[: -len("Storage")].lower() or "unknown")
        if g.module == "torch" and g.name in TORCH_DTYPES:
            return _DTYPE_ALIASES.get(g.name, g.name)
    return "unknown"


def _shape(v: Any) -> tuple[int, ...] | None:
    if isinstance(v, tuple) and len(v) <= 64 and all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in v):
        return v
    if isinstance(v, Node) and v.callee_name == "torch.Size" and isinstance(v.args, tuple) \
            and v.args:
        return _shape(v.args[0])
    return None


def _tensor(fn: str, args: Any) -> Any:
    if not isinstance(args, tuple) or not args:
        return Tensor(None, "unknown")
    if fn == "torch._utils._rebuild_meta_tensor_no_storage":
        return Tensor(_shape(args[1]) if len(args) > 1 else None, dtype_of(args[0]))
    if fn == "torch._utils._rebuild_wrapper_subclass":
        return Tensor(_shape(args[2]) if len(args) > 2 else None,
                      dtype_of(args[1]) if len(args) > 1 else "unknown")
    storage, dtype, key = args[0], "unknown", None
    if isinstance(storage, PersId) and isinstance(storage.pid, tuple) and len(storage.pid) >= 3:
        dtype = dtype_of(storage.pid[1])
        key = str(storage.pid[2])[:64]
    if fn == "torch._utils._rebuild_tensor_v3" and len(args) > 6:
        dtype = dtype_of(args[6])
    offset = args[1] if len(args) > 1 and isinstance(args[1], int) else 0
    return Tensor(_shape(args[2]) if len(args) > 2 else None, dtype, key, offset)


def _call(func: Any, args: Any) -> Any:
    """What REDUCE of ``func(*args)`` stands for, without calling anything."""
    fn = func.full if isinstance(func, Global) else None
    if fn in _TENSOR_REBUILDERS or fn in ("torch._utils._rebuild_meta_tensor_no_storage",
                                          "torch._utils._rebuild_wrapper_subclass"):
        return _tensor(fn, args)
    if fn in ("torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state"):
        return args[0] if isinstance(args, tuple) and args else UNKNOWN
    if fn == "torch._tensor._rebuild_from_type_v2" and isinstance(args, tuple) and len(args) > 2:
        return _call(args[0], args[2])
    if fn in ("collections.OrderedDict", "builtins.dict"):
        return Node("dict", func, args)
    if fn == "copyreg._reconstructor" and isinstance(args, tuple) and args:
        return Node("new", args[0], args[1:])
    return Node("call", func, args)


# -- the machine --------------------------------------------------------------------------------
class ByteStream(Protocol):
    """What the machine reads from: a binary file object (seekable ones skip payloads by
    seeking, others by reading and discarding)."""

    def read(self, size: int = -1, /) -> bytes | None: ...

    def readline(self, size: int | None = -1, /) -> bytes: ...

    def seekable(self) -> bool: ...

    def tell(self) -> int: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...


class _Stream:
    """Byte input of the machine: counts consumption, caps lines, skips payloads."""

    def __init__(self, f: ByteStream, max_bytes: int) -> None:
        self.f = f
        self.max_bytes = max_bytes
        self.consumed = 0
        self._pending = b""
        self._end = -1  # file size when seekable (payloads are then skipped by seeking)
        try:
            if f.seekable():
                here = f.tell()
                self._end = f.seek(0, io.SEEK_END)
                f.seek(here)
        except (AttributeError, ValueError, OSError):
            self._end = -1

    def _count(self, n: int) -> None:
        self.consumed += n
        if self.consumed > self.max_bytes:
            raise LimitExceeded(f"pickle stream longer than {self.max_bytes} bytes")

    def read(self, n: int) -> bytes:
        head, self._pending = self._pending[:n], self._pending[n:]
        data = head + ((self.f.read(n - len(head)) or b"") if n > len(head) else b"")
        self._count(len(data))
        return data

    def skip_to(self, position: int) -> None:
        """Skip forward to absolute stream ``position`` (no-op if already past it)."""
        if position > self.consumed:
            self.skip(position - self.consumed)

    def at_end(self) -> bool:
        """Whether the input is exhausted (peeks one byte, kept for the next read)."""
        if self._pending:
            return False
        self._pending = self.f.read(1) or b""
        return not self._pending

    def readline(self) -> bytes:
        head, self._pending = self._pending, b""
        if head == b"\n":
            line = head
        else:
            line = head + self.f.readline(MAX_LINE + 1 - len(head))
        self._count(len(line))
        if len(line) > MAX_LINE:
            raise LimitExceeded(f"pickle text line longer than {MAX_LINE} bytes")
        return line

    def tell(self) -> int:
        return self.consumed

    def skip(self, n: int) -> None:
        if n < 0:
            raise ValueError("negative skip")
        self._count(n)
        if self._pending and n:
            n -= len(self._pending)
            self._pending = b""
        if self._end >= 0:
            here = self.f.tell()
            if here + n > self._end:
                raise ValueError(f"truncated pickle: {n}-byte payload overruns the file")
            self.f.seek(here + n)
            return
        left = n
        while left:
            chunk = self.f.read(min(left, 1024 * 1024)) or b""
            if not chunk:
                raise ValueError(f"truncated pickle: {n}-byte payload overruns the stream")
            left -= len(chunk)


_CODES = {op.code.encode("latin-1"): op for op in pickletools.opcodes}
#: every byte that is a pickle opcode (a stream starting with any other byte is no pickle)
OPCODE_BYTES = frozenset(_CODES)
# opcodes whose argument is a length-prefixed payload: (length format, payload kind)
_PAYLOADS = {
    "BINSTRING": ("<i", "str8"), "BINBYTES": ("<I", "bytes"), "BINBYTES8": ("<Q", "bytes"),
    "BYTEARRAY8": ("<Q", "bytes"), "BINUNICODE": ("<I", "str"), "BINUNICODE8": ("<Q", "str"),
    "LONG4": ("<i", "long"),
}
_PUSH_ARG = frozenset({
    "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "STRING", "BINSTRING",
    "SHORT_BINSTRING", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8", "UNICODE",
    "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "FLOAT", "BINFLOAT",
})
_MARKED = frozenset({"TUPLE", "LIST", "DICT", "FROZENSET", "APPENDS", "SETITEMS", "ADDITEMS",
                     "POP_MARK", "OBJ", "INST"})


class PickleMachine:
    """Runs pickles from a stream symbolically; see the module docstring.

    ``joblib=True`` follows joblib's layout, where the bytes of each numpy array follow the
    ``NumpyArrayWrapper`` that describes it; object arrays are a nested pickle that joblib reads
    with the *plain* unpickler, and so does this machine. Only the wrapper form joblib itself
    writes is followed; any other form is an anomaly (the array size could be misjudged).
    ``on_nested`` is called with the bytes of a nested torch file a checked call loads
    (``torch.storage._load_from_bytes``) and returns False when that file is not safe.
    """

    def __init__(self, f: ByteStream, log: GlobalsLog, *, joblib: bool = False,
                 max_bytes: int = MAX_BYTES, on_nested: Any = None,
                 misread_joblib: bool = False) -> None:
        self.stream = _Stream(f, max_bytes)
        self.log = log
        self.joblib = joblib
        #: this is pickle.load reading a joblib file (see :meth:`_fails_import`)
        self.misread_joblib = misread_joblib
        #: names of the allow-listed globals met so far (``NumpyArrayWrapper``, ...)
        self._listed_names: set[str] = set()
        self.on_nested = on_nested
        self.ops = 0
        self.proto = 0
        #: stream position where the current FRAME ends (None outside frames)
        self.frame_end: int | None = None
        #: where the frame holding the last STOP ended (the next pickle of a stream starts
        #: there: unpicklers read whole frames, bytes after a STOP inside one are skipped)
        self.stop_frame_end: int | None = None
        #: joblib arrays seen: (shape, numpy type string)
        self.arrays: list[tuple[tuple[int, ...] | None, str]] = []
        #: persistent ids seen (PyTorch storages), the first MAX_MEMO of them
        self.persids: list[Any] = []

    # -- arguments, read the way CPython's unpickler reads them -----------------------------
    def _line(self, what: str) -> bytes:
        line = self.stream.readline()
        if not line.endswith(b"\n"):
            raise ValueError(f"no newline at the end of the {what} argument")
        return line[:-1]

    def _int_line(self, name: str) -> Any:
        data = self._line(name)
        if name == "INT" and data in (b"00", b"01"):
            return data == b"01"
        text = data[:-1] if name == "LONG" and data.endswith(b"L") else data
        if not _CANONICAL_INT.fullmatch(text):
            # pickle's C and Python unpicklers and pickletools disagree on such literals
            # (C strtol reads 010 as 8, Python int(.., 0) refuses it, pickletools says 10)
            self.log.anomaly(f"non-canonical {name} literal {clip(repr(data), 40)} "
                             "(loaders read it differently)")
            return UNKNOWN
        return int(text)

    def _arg(self, op: pickletools.OpcodeInfo) -> Any:
        name = op.name
        if name in ("INT", "LONG"):
            return self._int_line(name)
        if name in ("GLOBAL", "INST"):
            # CPython decodes both lines as UTF-8, with no escape processing
            module = self._line(name).decode("utf-8")
            gname = self._line(name).decode("utf-8")
            return module, gname
        spec = _PAYLOADS.get(name)
        if spec is None:
            return op.arg.reader(self.stream) if op.arg is not None else None  # type: ignore[arg-type]
        fmt, kind = spec
        raw = self.stream.read(struct.calcsize(fmt))
        if len(raw) != struct.calcsize(fmt):
            raise ValueError(f"truncated pickle in {name} length")
        (n,) = struct.unpack(fmt, raw)
        if n < 0:
            raise ValueError(f"negative length in {name}")
        if kind == "long":
            if n > 4096:
                self.stream.skip(n)
                return Blob(n)
            data = self.stream.read(n)
            if len(data) != n:
                raise ValueError("truncated pickle in LONG4")
            return int.from_bytes(data, "little", signed=True)
        if n > MAX_INLINE:
            self.stream.skip(n)
            return Blob(n)
        data = self.stream.read(n)
        if len(data) != n:
            raise ValueError(f"truncated pickle: {name} wants {n} bytes")
        if kind == "str":
            return data.decode("utf-8", "surrogatepass")
        if kind == "str8":
            return data.decode("latin-1")
        return data

    def run(self, depth: int = 0) -> Any:
        """Execute one pickle (to its STOP) symbolically and return what it would build.

        Each call is one fresh unpickler, as each ``pickle.load`` is: the protocol starts at
        0 and ``PROTO`` changes it (it decides protocol < 3 renames)."""
        if depth > MAX_NESTING:
            raise LimitExceeded("pickles nested too deeply")
        saved_proto, self.proto = self.proto, 0
        saved_frame, self.frame_end = self.frame_end, None
        try:
            return self._run(depth)
        finally:
            self.proto = saved_proto
            self.frame_end = saved_frame

    def _run(self, depth: int) -> Any:
        stack: list[Any] = []
        marks: list[int] = []  # stack positions of MARKs, as in CPython's unpickler
        memo: dict[int, Any] = {}
        while True:
            pos = self.stream.tell()
            code = self.stream.read(1)
            if not code:
                raise ValueError(f"truncated pickle: stream ends at byte {pos} before STOP")
            op = _CODES.get(code)
            if op is None:
                raise ValueError(f"invalid pickle opcode {code!r} at byte {pos}")
            self.ops += 1
            if self.ops > MAX_OPS:
                raise LimitExceeded(f"more than {MAX_OPS} pickle opcodes")
            if self.frame_end is not None and pos >= self.frame_end:
                self.frame_end = None
            try:
                arg = self._arg(op)
            except (ValueError, struct.error, UnicodeDecodeError) as e:
                if isinstance(e, LimitExceeded):
                    raise
                raise ValueError(f"malformed pickle at byte {pos} ({op.name}): {e}") from None
            name = op.name
            if self.frame_end is not None and self.stream.tell() > self.frame_end:
                # CPython's C unpickler then reads the rest of a line from *after* the frame
                # and the Python one refuses: the loaders disagree on what follows
                self.log.anomaly(f"{name} at byte {pos} runs past the end of its frame "
                                 "(loaders read it differently)")
            if name == "FRAME":
                if self.frame_end is not None and pos < self.frame_end:
                    self.log.anomaly(f"a new frame at byte {pos} starts inside another")
                self.frame_end = self.stream.tell() + int(arg)
            try:
                if name == "STOP":
                    # the loader read the whole frame ahead: a following load starts after it
                    self.stop_frame_end = self.frame_end
                    return stack.pop()
                self._step(name, arg, stack, marks, memo, depth)
            except IndexError:
                raise ValueError(f"malformed pickle: stack underflow at byte {pos} "
                                 f"({name})") from None
            except KeyError as e:
                raise ValueError(f"malformed pickle: memo key {e} missing at byte {pos}") \
                    from None
            if len(stack) > MAX_STACK or len(memo) > MAX_MEMO or len(marks) > MAX_STACK:
                raise LimitExceeded("pickle stack or memo exceeds the limit")

    def _callee(self, obj: Any, what: str) -> None:
        """A call or instantiation of ``obj``: only imported globals are judged by name;
        calling an object the pickle built (``obj.__call__``) is never trusted."""
        if isinstance(obj, Global):
            return
        if obj is UNKNOWN:
            return  # already flagged where the unknown value came from
        self.log.flag(f"<{what} of a built object>",
                      f"{what} of an object the pickle built (runs its __call__/__new__), "
                      "not of an imported global")

    def _mutates_global(self, obj: Any, what: str) -> None:
        if isinstance(obj, Global):
            self.log.flag(f"<{what} on {obj.full}>",
                          f"{what} on the imported object {obj.full} (changes loaded code)")

    def _checked_call(self, func: Global, args: Any) -> None:
        """Judge a call of a :data:`~._pickle_policy.CHECKED_CALLS` global by its arguments."""
        fn = (func.module, func.name)
        if fn == ("torch.storage", "_load_from_bytes"):
            data = args[0] if isinstance(args, tuple) and len(args) == 1 else None
            if isinstance(data, bytes) and self.on_nested is not None:
                if not self.on_nested(data):
                    self.log.flag(func.full + "(<bytes>)",
                                  f"global {func.full} loads a nested torch file that is not "
                                  "safe")
                return
            if isinstance(data, Blob):
                self.log.anomaly(f"{func.full} loads a nested file too large to scan")
                return
            self.log.flag(func.full, f"global {func.full}: loads its argument as a torch "
                                     "file, which could not be checked")
            return
        # numpy's _ufunc_reconstruct(module, name): imports module and returns module.name
        ok = False
        if isinstance(args, tuple) and len(args) == 2 and all(isinstance(a, str) for a in args):
            mod, uname = args
            if mod in ("numpy", "numpy.core.umath", "numpy._core.umath") and \
                    _IDENT.fullmatch(uname) and "." not in uname:
                import numpy

                ok = isinstance(getattr(numpy, uname, None), numpy.ufunc)
        if not ok:
            self.log.flag(f"{func.full}({clip(repr(args), 80)})",
                          f"global {func.full} imports {clip(repr(args), 80)}: not a numpy "
                          "ufunc")

    def _step(self, name: str, arg: Any, stack: list[Any], marks: list[int],
              memo: dict[int, Any], depth: int) -> None:
        push = stack.append
        if name == "PROTO":
            self.proto = int(arg)
            return
        if name in ("FRAME", "READONLY_BUFFER"):
            return
        if name in _PUSH_ARG:
            push(arg)
        elif name == "NONE":
            push(None)
        elif name == "NEWTRUE":
            push(True)
        elif name == "NEWFALSE":
            push(False)
        elif name == "NEXT_BUFFER":
            push(UNKNOWN)
        elif name == "MARK":
            marks.append(len(stack))
        elif name in ("EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET"):
            push(Node({"EMPTY_LIST": "list", "EMPTY_DICT": "dict", "EMPTY_SET": "set"}[name]))
        elif name == "EMPTY_TUPLE":
            push(())
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            n = int(name[-1])
            if len(stack) < n:
                raise IndexError
            vals = tuple(stack[-n:])
            del stack[-n:]
            push(vals)
        elif name in _MARKED:
            self._marked(name, arg, self._pop_mark(stack, marks), stack)
        elif name == "APPEND":
            v = stack.pop()
            self._mutates_global(stack[-1], "APPEND")
            if isinstance(stack[-1], Node):
                stack[-1].elems.append(v)
        elif name == "SETITEM":
            v = stack.pop()
            k = stack.pop()
            self._mutates_global(stack[-1], "SETITEM")
            if isinstance(stack[-1], Node):
                stack[-1].items.append((k, v))
        elif name == "POP":
            if marks and len(stack) == marks[-1]:
                self._pop_mark(stack, marks)  # POP on an empty frame discards the mark
            else:
                stack.pop()
        elif name == "DUP":
            push(stack[-1])
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            push(memo[int(arg)])
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[int(arg)] = stack[-1]
        elif name == "MEMOIZE":
            memo[len(memo)] = stack[-1]
        elif name in ("EXT1", "EXT2", "EXT4"):
            self.log.flag(f"copyreg.extension[{arg}]",
                          f"extension code {arg}: imports whatever copyreg's registry names")
            push(UNKNOWN)
        elif name == "GLOBAL":
            module, gname = arg
            push(self.log.record(module, gname, self.proto))
        elif name == "STACK_GLOBAL":
            gname = stack.pop()
            module = stack.pop()
            if isinstance(module, str) and isinstance(gname, str):
                if self.misread_joblib and self._fails_import(module):
                    raise ValueError(f"pickle.load fails here: no module named {module!r}")
                g = self.log.record(module, gname, self.proto)
                if g.allowed:
                    self._listed_names.add(g.name)
                push(g)
            elif _never_str(module) or _never_str(gname):
                # CPython raises "STACK_GLOBAL requires str" here: nothing after it runs (a
                # joblib file read by pickle.load meets this at an object array's pickle,
                # whose memo indices land on the outer pickle's objects)
                raise ValueError("STACK_GLOBAL operand is not a str: the loader fails here")
            else:
                self.log.flag("<computed global name>",
                              "STACK_GLOBAL with a module or name the scanner cannot read")
                push(UNKNOWN)
        elif name == "REDUCE":
            args = stack.pop()
            func = stack.pop()
            self._callee(func, "call")
            if isinstance(func, Global) and func.checked:
                self._checked_call(func, args)
            push(_call(func, args))
        elif name == "NEWOBJ":
            args = stack.pop()
            cls = stack.pop()
            self._callee(cls, "instantiation")
            push(Node("new", cls, args))
        elif name == "NEWOBJ_EX":
            stack.pop()  # kwargs
            args = stack.pop()
            cls = stack.pop()
            self._callee(cls, "instantiation")
            push(Node("new", cls, args))
        elif name == "BUILD":
            state = stack.pop()
            obj = stack[-1]
            self._mutates_global(obj, "BUILD")
            if isinstance(obj, Node):
                obj.state = state
                obj.builds += 1
                if self.joblib and obj.callee_name == "joblib.numpy_pickle.NumpyArrayWrapper":
                    self._skip_joblib_array(obj, depth)
                    stack[-1] = Node("array", None)  # joblib replaces the wrapper by the array
        elif name in ("PERSID", "BINPERSID"):
            pid = arg if name == "PERSID" else stack.pop()
            if len(self.persids) < MAX_MEMO:
                self.persids.append(pid)
            if isinstance(pid, tuple) and len(pid) >= 2 and pid[0] == "module" and \
                    isinstance(pid[1], Global):
                push(pid[1])  # legacy torch.load returns the class the id names (data[0])
            else:
                push(PersId(pid))
        else:  # pragma: no cover - every opcode of pickletools is handled above
            raise ValueError(f"unsupported pickle opcode {name}")

    @staticmethod
    def _pop_mark(stack: list[Any], marks: list[int]) -> list[Any]:
        i = marks.pop()
        items = stack[i:]
        del stack[i:]
        return items

    def _marked(self, name: str, arg: Any, items: list[Any], stack: list[Any]) -> None:
        if name == "TUPLE":
            stack.append(tuple(items))
        elif name in ("LIST", "FROZENSET"):
            n = Node("list" if name == "LIST" else "frozenset")
            n.elems = items
            stack.append(n)
        elif name in ("DICT", "SETITEMS"):
            pairs = list(zip(items[0::2], items[1::2]))
            if name == "DICT":
                n = Node("dict")
                n.items = pairs
                stack.append(n)
            else:
                self._mutates_global(stack[-1], "SETITEMS")
                if isinstance(stack[-1], Node):
                    stack[-1].items.extend(pairs)
        elif name in ("APPENDS", "ADDITEMS"):
            self._mutates_global(stack[-1], name)
            if isinstance(stack[-1], Node):
                stack[-1].elems.extend(items)
        elif name == "OBJ":
            self._callee(items[0], "instantiation")
            stack.append(Node("new", items[0], tuple(items[1:])))
        elif name == "INST":
            module, cname = arg
            stack.append(Node("new", self.log.record(module, cname, self.proto),
                              tuple(items)))
        # POP_MARK: the items are simply dropped

    # -- joblib ------------------------------------------------------------------------------
    def _fails_import(self, module: str) -> bool:
        """Whether pickle.load, misreading a joblib file, meets an import that cannot succeed.

        pickle.load reads the pickle joblib writes for an object array as part of the outer
        one, so that pickle's memo indices land on the outer pickle's values and the
        ``STACK_GLOBAL`` meant for ``numpy.dtype`` asks for a module named like a class the
        file named before (``NumpyArrayWrapper``). Only that exact shape ends the reading: a
        bare name equal to an allow-listed class this file referenced, which is no module
        of the standard library, of the allow-list, or installed here.
        """
        if module not in self._listed_names or not _IDENT.fullmatch(module) or \
                "." in module or module in sys.stdlib_module_names or \
                module in {m.split(".")[0] for m in allowed_modules()}:
            return False
        try:
            return importlib.util.find_spec(module) is None
        except (ImportError, ValueError):
            return False

    def _wrapper_attrs(self, wrapper: Node) -> dict[str, Any] | None:
        """The attributes joblib reads from a wrapper, when it has exactly the form joblib
        writes (``NEWOBJ`` of the class with no arguments, one ``BUILD`` with a dict of
        distinct string keys); None for any other form."""
        if wrapper.kind != "new" or wrapper.args != () or wrapper.builds != 1:
            return None
        st = wrapper.state
        if not isinstance(st, Node) or st.kind != "dict" or st.elems:
            return None
        keys = [k for k, _ in st.items]
        allowed = {"subclass", "shape", "order", "dtype", "allow_mmap",
                   "numpy_array_alignment_bytes"}
        if not all(isinstance(k, str) for k in keys) or len(keys) != len(set(keys)) or \
                not all(k in allowed for k in keys):
            return None
        return dict(st.items)

    @staticmethod
    def _dtype(node: Any, depth: int = 0) -> Any:
        """The numpy dtype a ``numpy.dtype(...)`` call + state would build, or None (also
        for structured dtypes, whose state holds the fields' own dtypes)."""
        if not (isinstance(node, Node) and node.kind == "call"
                and node.callee_name == "numpy.dtype" and isinstance(node.args, tuple)
                and 1 <= len(node.args) <= 3 and isinstance(node.args[0], str)
                and all(isinstance(a, bool) for a in node.args[1:]) and node.builds <= 1
                and depth <= 8):
            return None
        st = node.state
        if st is not None:
            st = _dtype_state(st, depth)
            if st is None:
                return None
        import numpy

        # numpy's dtype.__setstate__ trusts its input (hostile states crash the process), so
        # it is never called: the dtype is built through numpy's validated constructors and
        # accepted only when its own pickled state is exactly the state in the file
        try:
            dt = numpy.dtype(*node.args)
            if st is None or dt.__reduce__()[2] == st:
                return dt
            for cand in _dtype_candidates(numpy, dt, node.args[0], st):
                if cand.__reduce__()[2] == st:
                    return cand
            if isinstance(st, tuple) and len(st) >= 8 and isinstance(st[3], tuple) and \
                    isinstance(st[4], dict) and isinstance(st[5], int):
                names, fields = st[3], st[4]
                if set(names) != set(fields) or not all(
                        isinstance(fields[n], tuple) and len(fields[n]) == 2
                        and isinstance(fields[n][0], numpy.dtype)
                        and isinstance(fields[n][1], int) for n in names):
                    return None
                spec: Any = {"names": list(names), "formats": [fields[n][0] for n in names],
                        "offsets": [fields[n][1] for n in names], "itemsize": st[5]}
                built = numpy.dtype(spec, align=bool(node.args[1]) if len(node.args) > 1
                                    else False)
                if built.__reduce__()[2] == st:
                    return built
            return None
        except Exception:  # noqa: BLE001 - joblib's load would fail on this dtype too
            return None

    def _skip_joblib_array(self, wrapper: Node, depth: int) -> None:
        """Skip the array bytes joblib reads right after this wrapper's BUILD, exactly as
        ``NumpyArrayWrapper.read_array`` computes their length (numpy's own itemsize)."""
        attrs = self._wrapper_attrs(wrapper)
        dtype = self._dtype(attrs.get("dtype")) if attrs is not None else None
        shape = _shape(attrs.get("shape")) if attrs is not None else None
        if attrs is None or dtype is None or shape is None:
            self.log.anomaly("joblib array wrapper in a form joblib does not write (the "
                             "array's length in the file cannot be known)")
            raise LimitExceeded("unreadable joblib array wrapper")
        self.arrays.append((shape, dtype.str))
        if dtype.hasobject:
            # joblib reads object arrays with the plain unpickler: no joblib layout inside
            saved = self.joblib
            self.joblib = False
            try:
                self.run(depth + 1)
            finally:
                self.joblib = saved
            return
        count = 1
        for d in shape:  # joblib multiplies as int64: wrap the same way
            count = (count * d) & 0xFFFFFFFFFFFFFFFF
        if count >= 1 << 63:
            raise ValueError("joblib array with a negative element count")
        if attrs.get("numpy_array_alignment_bytes") is not None:
            pad = self.stream.read(1)
            if len(pad) != 1:
                raise ValueError("truncated joblib array padding")
            if pad[0]:
                self.stream.skip(pad[0])
        self.stream.skip(count * dtype.itemsize)


_MISSING = object()

#: numpy's datetime64/timedelta64 units
_DATETIME_UNITS = frozenset({"Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs",
                             "as", "generic"})


def _dtype_candidates(numpy: Any, dt: Any, spec: str, st: Any) -> list[Any]:
    """Dtypes numpy's constructors build from what a dtype state names — another byte order
    (``>i4``), a datetime unit (``M8[ns]``) — each to be compared with the state in full."""
    if not isinstance(st, tuple) or len(st) < 8 or st[1] not in ("<", ">", "|", "="):
        return []
    base = [dt]
    if len(st) == 9 and dt.kind in "mM" and isinstance(st[8], tuple) and len(st[8]) == 2 \
            and isinstance(st[8][1], tuple) and len(st[8][1]) == 4:
        unit, num = st[8][1][0], st[8][1][1]
        if isinstance(unit, bytes) and isinstance(num, int) and not isinstance(num, bool) \
                and unit.decode("ascii", "replace") in _DATETIME_UNITS and 0 < num < 1 << 31:
            u = unit.decode("ascii")
            base.append(numpy.dtype(spec if u == "generic" else
                                    f"{spec}[{num if num != 1 else ''}{u}]"))
    return base + [b.newbyteorder(st[1]) for b in base if st[1] != "|"]

#: Node kinds whose value is never a str (a REDUCE "call" may return one; "new" is an
#: instance of an imported class, which the allow-list only admits for non-str classes)
_NOT_STR_KINDS = frozenset({"dict", "list", "set", "frozenset", "tuple", "array"})


def _never_str(v: Any) -> bool:
    """Whether the unpickler certainly does not hold a ``str`` here."""
    if isinstance(v, (Global, bytes, bytearray, int, float, tuple, type(None))):
        return True  # bool is an int
    if isinstance(v, Node) and v.kind == "new" and isinstance(v.callee, Global):
        # an instance of a listed library class (an estimator, a module): never a str
        return (v.callee.module, v.callee.name) in non_str_classes()
    return isinstance(v, Node) and v.kind in _NOT_STR_KINDS


def _dtype_state(v: Any, depth: int) -> Any:
    """A dtype's pickled state as real values (nested field dtypes built with numpy), or
    None when it holds anything else."""
    out = _state_value(v, depth)
    return None if out is _MISSING else out


def _state_value(v: Any, depth: int) -> Any:
    if depth > 16:
        return _MISSING
    if v is None or isinstance(v, (bool, int, float, str, bytes)):
        return v
    if isinstance(v, tuple):
        items = [_state_value(x, depth + 1) for x in v]
        return _MISSING if any(x is _MISSING for x in items) else tuple(items)
    if isinstance(v, Node) and v.kind == "dict" and not v.elems:
        d = {}
        for k, x in v.items:
            val = _state_value(x, depth + 1)
            if not isinstance(k, str) or val is _MISSING:
                return _MISSING
            d[k] = val
        return d
    if isinstance(v, Node) and v.callee_name == "numpy.dtype":
        dt = PickleMachine._dtype(v, depth + 1)
        return _MISSING if dt is None else dt
    return _MISSING
