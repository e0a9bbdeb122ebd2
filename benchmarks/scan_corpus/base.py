"""Real model bytes for the entries to start from (saved by the real libraries), and the
container helpers: a torch archive rebuilt with other members, legacy torch files."""

from __future__ import annotations

import functools
import io
import pickle
import warnings
import zipfile
from collections.abc import Iterable
from pathlib import Path


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@functools.cache
def iris() -> tuple:
    """A small fixed classification set (no download: generated)."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    return x, y


@functools.cache
def sk_model(kind: str = "lr"):
    """A fitted scikit-learn estimator."""
    from sklearn.cluster import KMeans
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    x, y = iris()
    model = {
        "lr": lambda: LogisticRegression(max_iter=200),
        "rf": lambda: RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0),
        "pipe": lambda: Pipeline([("scale", StandardScaler()),
                                  ("lr", LogisticRegression(max_iter=200))]),
        "gb": lambda: GradientBoostingClassifier(n_estimators=3, max_depth=2, random_state=0),
        "kmeans": lambda: KMeans(n_clusters=2, n_init=2, random_state=0),
        "svc": lambda: SVC(),
        "mlp": lambda: MLPClassifier(hidden_layer_sizes=(4,), max_iter=50, random_state=0),
    }[kind]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x, y)
    return model


def sk_pickle(kind: str = "lr", protocol: int = 5) -> bytes:
    return pickle.dumps(sk_model(kind), protocol=protocol)


def joblib_bytes(obj, **kw) -> bytes:
    import joblib

    buf = io.BytesIO()
    joblib.dump(obj, buf, **kw)
    return buf.getvalue()


@functools.cache
def torch_zip(protocol: int = 2) -> bytes:
    """``torch.save`` of a small state dict (the zip format)."""
    import torch

    torch.manual_seed(0)
    lin = torch.nn.Linear(4, 2)
    buf = io.BytesIO()
    torch.save(lin.state_dict(), buf, pickle_protocol=protocol)
    return buf.getvalue()


def zip_members(data: bytes) -> list[tuple[str, bytes]]:
    """The members of a zip; torch's random ``.data/serialization_id`` is fixed, so rebuilt
    archives are byte-identical from run to run (verification is cached by content)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(n, b"0" * len(z.read(n)) if n.endswith(".data/serialization_id") else z.read(n))
                for n in z.namelist()]


def torch_data_pkl(protocol: int = 2) -> bytes:
    return next(d for n, d in zip_members(torch_zip(protocol)) if n.endswith("/data.pkl"))


def build_zip(items: Iterable[tuple], method: int = zipfile.ZIP_STORED) -> bytes:
    """A zip of ``(name, data[, compress_type])`` items, duplicates kept as written."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": that is the point
        with zipfile.ZipFile(buf, "w", method) as out:
            for name, data, *rest in items:
                out.writestr(name, data, compress_type=rest[0] if rest else method)
    return buf.getvalue()


def torch_zip_with(replace, protocol: int = 2, method: int = zipfile.ZIP_STORED) -> bytes:
    """The torch archive with its ``data.pkl`` member replaced by ``replace(name, data)``
    (which returns a list of items: several for duplicate-member tricks)."""
    items: list[tuple] = []
    for name, data in zip_members(torch_zip(protocol)):
        items.extend(replace(name, data) if name.endswith("/data.pkl") else [(name, data)])
    return build_zip(items, method)


def torch_zip_payload(payload: bytes, protocol: int = 2, at: str = "start") -> bytes:
    from . import pk

    return torch_zip_with(lambda n, d: [(n, pk.inject(d, payload, at=at))], protocol)


@functools.cache
def torch_legacy(protocol: int = 2) -> bytes:
    """``torch.save(..., _use_new_zipfile_serialization=False)``: stacked pickles (magic
    number, protocol, sys_info, the object, storage keys) then raw storage bytes."""
    import torch

    torch.manual_seed(0)
    lin = torch.nn.Linear(4, 2)
    buf = io.BytesIO()
    torch.save(lin.state_dict(), buf, pickle_protocol=protocol,
               _use_new_zipfile_serialization=False)
    return buf.getvalue()


def split_pickles(data: bytes, count: int) -> tuple[list[bytes], bytes]:
    """The first ``count`` stacked pickles of ``data`` and the bytes after them."""
    import pickletools

    out = []
    pos = 0
    for _ in range(count):
        end = None
        for op, _arg, p in pickletools.genops(data[pos:]):
            if op.name == "STOP":
                end = pos + int(p or 0) + 1
                break
        assert end is not None
        out.append(data[pos:end])
        pos = end
    return out, data[pos:]
