"""A recording, non-executing unpickler: CPython's own parser, with every global replaced.

``find_class`` records the ``(module, name)`` pair and returns a fresh stub *class* (NEWOBJ
needs a type), so REDUCE, BUILD, APPEND and SETITEM all land on stubs and nothing outside this
module ever runs. It is the reference the scanner's symbolic machine is compared with: the same
bytes, parsed by the real ``_pickle`` C unpickler (or joblib's Python unpickler for joblib's
layout, where numpy, which joblib needs to size arrays, is the only real code allowed).
"""

from __future__ import annotations

import io
import pickle
from typing import Any


class _Stub:
    def __new__(cls, *args: Any, **kwargs: Any) -> _Stub:
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> _Stub:
        return _Stub()

    def __setstate__(self, state: Any) -> None:
        pass

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def append(self, value: Any) -> None:
        pass

    def extend(self, values: Any) -> None:
        for _ in values:
            pass

    def add(self, value: Any) -> None:
        pass


def _stub_class(module: str, name: str) -> type:
    return type("Stub", (_Stub,), {"__module__": "oracle", "target": f"{module}.{name}"})


class Recorder(pickle.Unpickler):
    """``pickle.Unpickler`` (C) that records globals and never imports any."""

    def __init__(self, f: Any) -> None:
        super().__init__(f)
        self.seen: list[str] = []
        self.pairs: list[tuple[str, str]] = []

    def find_class(self, module: str, name: str) -> Any:  # noqa: D102
        self.seen.append(f"{module}.{name}")
        self.pairs.append((module, name))
        return _stub_class(module, name)

    def persistent_load(self, pid: Any) -> Any:  # noqa: D102
        return _Stub()


def record_pairs(data: bytes) -> list[tuple[str, str]]:
    """``(module, name)`` pairs ``pickle.load`` looks up, across a stream of pickles."""
    f = io.BytesIO(data)
    pairs: list[tuple[str, str]] = []
    while True:
        r = Recorder(f)
        try:
            r.load()
        except Exception:  # noqa: BLE001
            pairs += r.pairs
            return pairs
        pairs += r.pairs
        if f.tell() >= len(data):
            return pairs


def record(data: bytes, sequence: bool = True) -> tuple[list[str], bool]:
    """``(globals in order, loaded_cleanly)`` for ``data`` read as ``pickle.load`` reads it
    (and, with ``sequence``, as repeated loads read a stream of pickles)."""
    f = io.BytesIO(data)
    seen: list[str] = []
    ok = True
    while True:
        r = Recorder(f)
        try:
            r.load()
        except Exception:  # noqa: BLE001 - the loader stops here, as a real load would
            ok = False
        seen += r.seen
        if not ok or not sequence or f.tell() >= len(data):
            break
    return seen, ok


def record_joblib(data: bytes) -> tuple[list[str], bool]:
    """Globals ``joblib.load`` would look up in ``data`` (numpy and joblib's wrapper are real,
    everything else a stub; nested object-array pickles are recorded the same way)."""
    import joblib.numpy_pickle as jnp
    import numpy

    seen: list[str] = []
    real = {("numpy", "dtype"): numpy.dtype, ("numpy", "ndarray"): numpy.ndarray,
            ("joblib.numpy_pickle", "NumpyArrayWrapper"): jnp.NumpyArrayWrapper,
            ("numpy._core.multiarray", "_reconstruct"): numpy._core.multiarray._reconstruct}

    class JoblibRecorder(jnp.NumpyUnpickler):  # type: ignore[misc]
        def find_class(self, module: str, name: str) -> Any:
            seen.append(f"{module}.{name}")
            return real.get((module, name)) or _stub_class(module, name)

    class _NestedPickle:
        @staticmethod
        def load(f: Any) -> Any:
            r = Recorder(f)
            try:
                return r.load()
            finally:
                seen.extend(r.seen)

    saved = jnp.pickle
    jnp.pickle = _NestedPickle  # object arrays: joblib calls pickle.load on its stream
    try:
        u = JoblibRecorder("<memory>", io.BytesIO(data), ensure_native_byte_order=False)
        u.load()
        ok = True
    except Exception:  # noqa: BLE001
        ok = False
    finally:
        jnp.pickle = saved
    return seen, ok
