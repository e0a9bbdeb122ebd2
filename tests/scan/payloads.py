"""Hostile files for the scanner tests, one builder per finding class of issue 10.

Each builder writes a file that runs ``touch MARKER`` under its natural loader (the tests
check that for a sample in a child process) and that the scanner must not call safe.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np


def _s(t: str) -> bytes:
    b = t.encode()
    return b"\x8c" + bytes([len(b)]) + b


def stack_global_call(module: str, name: str, arg: str) -> bytes:
    """Protocol 4: ``module`` + dotted ``name`` resolved by attribute walk, called."""
    return b"\x80\x04" + _s(module) + _s(name) + b"\x93" + _s(arg) + b"\x85R."


def global_call(module: str, name: str, arg: str, proto: int = 2) -> bytes:
    """``GLOBAL`` + REDUCE at protocol ``proto`` (0 writes no PROTO opcode)."""
    head = b"" if proto == 0 else b"\x80" + bytes([proto])
    return head + f"c{module}\n{name}\n(S'{arg}'\ntR.".encode()


class _Evil:
    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (self.cmd,)


def joblib_desync_dup_keys(marker: Path) -> bytes:
    """A joblib wrapper whose state names ``shape`` twice (joblib keeps the last)."""
    import joblib

    buf = io.BytesIO()
    joblib.dump([np.zeros(2), _Evil(f"touch {marker}")], buf)
    data = buf.getvalue()
    # rewrite the wrapper state: insert a first, shorter "shape" key before the real one
    key = _s("shape")
    i = data.index(key)
    extra = key + b"K\x01\x85"
    # grow the protocol 4 frame that holds the insertion (FRAME + 8-byte length)
    f = data.rindex(b"\x95", 0, i)
    n = int.from_bytes(data[f + 1:f + 9], "little") + len(extra)
    data = data[:f + 1] + n.to_bytes(8, "little") + data[f + 9:]
    return data[:i] + extra + data[i:]


def joblib_payload(marker: Path, compress: int | tuple[str, int] = 0) -> bytes:
    """A plain malicious joblib file (arrays first, then the payload)."""
    import joblib

    buf = io.BytesIO()
    joblib.dump([np.array(["abcd"], dtype="U4"), np.arange(3), _Evil(f"touch {marker}")],
                buf, compress=compress)
    return buf.getvalue()


def torch_zip_duplicate(marker: Path) -> bytes:
    """A torch archive listing ``archive/data.pkl`` twice: a benign one, then the payload."""
    import torch

    buf = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for info in src.infolist():
            z.writestr(info, src.read(info))
        with __import__("warnings").catch_warnings():
            __import__("warnings").simplefilter("ignore")
            z.writestr("archive/data.pkl", pickle.dumps(_Evil(f"touch {marker}"), protocol=2))
    return out.getvalue()


def npy_object(marker: Path) -> bytes:
    """A ``.npy`` object array whose pickle is the payload."""
    buf = io.BytesIO()
    np.save(buf, np.array([_Evil(f"touch {marker}")], dtype=object), allow_pickle=True)
    return buf.getvalue()


def keras_lambda_config() -> bytes:
    """A ``.keras`` archive whose config has a Lambda layer."""
    cfg = {"module": "keras", "class_name": "Sequential", "config": {"layers": [
        {"module": "keras.layers", "class_name": "Lambda",
         "config": {"name": "lam", "function": {"class_name": "__lambda__",
                                                 "config": {"code": "4wEAAA=="}}}}]}}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("config.json", json.dumps(cfg))
        z.writestr("metadata.json", "{}")
        z.writestr("model.weights.h5", b"")
    return out.getvalue()


def gzip_of(data: bytes) -> bytes:
    return gzip.compress(data)


#: (name, file name, builder(marker) -> bytes)
CASES: list[tuple[str, str, Callable[[Path], bytes]]] = [
    ("prefix-sklearn", "m.pkl", lambda m: stack_global_call("sklearn._config", "os.system",
                                                            f"touch {m}")),
    ("prefix-torch", "m.pt", lambda m: stack_global_call("torch.serialization", "os.system",
                                                         f"touch {m}")),
    ("prefix-scipy", "m.pkl", lambda m: stack_global_call("scipy.sparse._construct",
                                                          "np.testing.os.system",
                                                          f"touch {m}")),
    ("posixpath", "m.pkl", lambda m: stack_global_call("posixpath", "os.system", f"touch {m}")),
    ("timeit", "m.pkl", lambda m: global_call("timeit", "timeit", f"__import__('os').system('touch {m}')")),
    ("cprofile", "m.pkl", lambda m: global_call("cProfile", "run", f"__import__('os').system('touch {m}')")),
    ("cpickle-loads", "m.pkl", lambda m: global_call(
        "cPickle", "loads", pickle.dumps(_Evil(f"touch {m}"), protocol=0).decode("latin-1")
        .replace("\\", "\\\\").replace("\n", "\\n").replace("'", "\\'"))),
    ("proto0-pt", "m.pt", lambda m: global_call("os", "system", f"touch {m}", proto=0)),
    ("proto1-bin", "pytorch_model.bin", lambda m: global_call("posix", "system", f"touch {m}",
                                                              proto=1)),
    ("joblib-dup-keys", "m.joblib", joblib_desync_dup_keys),
    ("joblib-plain", "m.joblib", joblib_payload),
    ("joblib-gzip", "m.joblib", lambda m: joblib_payload(m, ("gzip", 3))),
    ("joblib-zlib", "m.joblib", lambda m: joblib_payload(m, 3)),
    ("torch-dup-member", "m.pt", torch_zip_duplicate),
    ("npy-object", "m.npy", npy_object),
    ("gzip-pickle", "m.pkl.gz", lambda m: gzip_of(pickle.dumps(_Evil(f"touch {m}")))),
    ("int-base-prefix", "m.pkl", lambda m: b"I0x10\n" + global_call("os", "system",
                                                                       f"touch {m}", proto=0)),
    ("many-ops", "m.pkl", lambda m: b"\x80\x04" + b"(0" * 3_000_000
     + stack_global_call("os", "system", f"touch {m}")[2:]),
    ("keras-lambda", "m.keras", lambda m: keras_lambda_config()),
    ("hf-auto-map", "config.json", lambda m: json.dumps(
        {"model_type": "x", "auto_map": {"AutoModel": "modeling_x.XModel"}}).encode()),
    ("yaml-python-tag", "MLmodel", lambda m: f"x: !!python/object/apply:os.system ['touch {m}']\n"
     .encode()),
    ("mlflow-loader", "MLmodel", lambda m: b"flavors:\n  python_function:\n    loader_module: evil\n"),
]
