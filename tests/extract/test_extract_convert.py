"""blacklake_ml.convert: scikit-learn -> ONNX for real, and its refusal to load untrusted code."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import onnx
import pytest
from extract_helpers import evil_pickle, facts_of, ok
from onnx.reference import ReferenceEvaluator

from blacklake_ml.convert import UntrustedModel, sklearn_to_onnx
from blacklake_ml.errors import InvalidInput


def _predict(path: Path, x: np.ndarray) -> np.ndarray:
    sess = ReferenceEvaluator(str(path))
    label = sess.run(None, {"input": x.astype(np.float32)})[0]
    return np.asarray(label)


def test_skops_to_onnx(sklearn_files: dict[str, Any], xy: tuple[np.ndarray, np.ndarray],
                       tmp_path: Path) -> None:
    x, _ = xy
    dst = tmp_path / "out" / "pipe.onnx"
    result = sklearn_to_onnx(sklearn_files["dir"] / "pipe.skops", dst)
    assert result["estimator"] == "sklearn.pipeline.Pipeline"
    assert result["n_features"] == 4 and result["path"] == str(dst)
    assert result["bytes"] == dst.stat().st_size
    assert all(t.split(".")[0] in ("sklearn", "numpy") for t in result["trusted_types"])
    onnx.checker.check_model(onnx.load(str(dst)))
    # the converted model predicts what the estimator predicts
    assert (_predict(dst, x) == sklearn_files["pipe"].predict(x)).all()
    # and the ONNX extractor reads it back
    facts = ok(facts_of(dst))
    assert facts["details"]["inputs"] == [{"name": "input", "dtype": "float32",
                                           "shape": [None, 4]}]
    assert facts["details"]["producer"]["name"] == "skl2onnx"
    assert facts["details"]["checker"] == {"ran": True, "ok": True}
    assert not list(dst.parent.glob(".pipe.onnx.*"))  # no temporary left behind


def test_pickle_needs_trust(sklearn_files: dict[str, Any], xy: tuple[np.ndarray, np.ndarray],
                            tmp_path: Path) -> None:
    x, _ = xy
    src = sklearn_files["dir"] / "rf.joblib"
    with pytest.raises(UntrustedModel, match="executes whatever code"):
        sklearn_to_onnx(src, tmp_path / "rf.onnx")
    assert not (tmp_path / "rf.onnx").exists()
    result = sklearn_to_onnx(src, tmp_path / "rf.onnx", trusted=True)
    assert result["estimator"].endswith("RandomForestClassifier")
    assert (_predict(tmp_path / "rf.onnx", x) == sklearn_files["rf"].predict(x)).all()


def test_malicious_pickle_refused_even_when_trusted(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED_convert"
    src = tmp_path / "model.pkl"
    src.write_bytes(evil_pickle(marker))
    with pytest.raises(UntrustedModel, match="posix.system"):
        sklearn_to_onnx(src, tmp_path / "m.onnx", trusted=True)
    assert not marker.exists() and not (tmp_path / "m.onnx").exists()


def test_skops_with_foreign_types_refused(sklearn_files: dict[str, Any],
                                          tmp_path: Path) -> None:
    import json

    src = sklearn_files["dir"] / "lr.skops"
    dst = tmp_path / "odd.skops"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "schema.json":
                schema = json.loads(data)
                schema["content"]["content"]["tool"] = {
                    "__class__": "Counter", "__module__": "collections",
                    "__loader__": "ObjectNode", "content": {
                        "__class__": "dict", "__module__": "builtins",
                        "__loader__": "DictNode", "content": {},
                        "key_types": {"__class__": "list", "__module__": "builtins",
                                      "__loader__": "ListNode", "content": []}}}
                data = json.dumps(schema).encode()
            zout.writestr(info, data)
    with pytest.raises(UntrustedModel, match="collections.Counter"):
        sklearn_to_onnx(dst, tmp_path / "odd.onnx")


def test_unfitted_and_unsupported_inputs(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    joblib.dump(LinearRegression(), tmp_path / "unfitted.joblib")
    with pytest.raises(InvalidInput, match="n_features_in_"):
        sklearn_to_onnx(tmp_path / "unfitted.joblib", tmp_path / "x.onnx", trusted=True)
    (tmp_path / "model.txt").write_text("hi")
    with pytest.raises(InvalidInput, match="unsupported model file"):
        sklearn_to_onnx(tmp_path / "model.txt", tmp_path / "x.onnx")


def _global_call(module: str, name: str, arg: str, proto: int = 4) -> bytes:
    """A pickle that calls ``module.name(arg)``: STACK_GLOBAL at protocol 4, GLOBAL below."""
    if proto >= 4:
        def s(t: str) -> bytes:
            b = t.encode()
            return b"\x8c" + bytes([len(b)]) + b
        return b"\x80\x04" + s(module) + s(name) + b"\x93" + s(arg) + b"\x85R."
    return (b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n"
            + b"X" + len(arg).to_bytes(4, "little") + arg.encode() + b"\x85R.")


@pytest.mark.parametrize("module,name,proto", [
    ("posixpath", "os.system", 4),          # denylist gap: os reached through posixpath
    ("sklearn._config", "os.system", 4),    # a trusted prefix followed by a dotted path
    ("torch.serialization", "os.system", 4),
    ("timeit", "timeit", 4),
    ("cProfile", "run", 4),
    ("pydoc", "pipepager", 4),
    ("cPickle", "loads", 2),                 # protocol 2: renamed to pickle.loads on load
    ("numpy.testing._private.utils", "runstring", 4),
    ("code", "InteractiveInterpreter", 4),
])
def test_convert_refuses_anything_not_allow_listed(tmp_path: Path, module: str, name: str,
                                                   proto: int) -> None:
    marker = tmp_path / "PWNED"
    src = tmp_path / "model.pkl"
    src.write_bytes(_global_call(module, name, f"touch {marker}", proto))
    with pytest.raises(UntrustedModel, match="refusing to load"):
        sklearn_to_onnx(src, tmp_path / "m.onnx", trusted=True)
    assert not marker.exists() and not (tmp_path / "m.onnx").exists()


def test_convert_refuses_an_incomplete_scan(tmp_path: Path) -> None:
    # protocol 0 INT with a base prefix: loaders and pickletools read it differently
    src = tmp_path / "model.pkl"
    src.write_bytes(b"I0x10\n.")
    with pytest.raises(UntrustedModel, match="unknown"):
        sklearn_to_onnx(src, tmp_path / "m.onnx", trusted=True)


def test_accept_risks_must_name_every_reason(sklearn_files: dict[str, Any],
                                             xy: tuple[np.ndarray, np.ndarray],
                                             tmp_path: Path) -> None:
    import math
    import pickle

    from blacklake_ml.extract.local import LocalFileSource
    from blacklake_ml.scan import scan_source

    model = joblib.load(sklearn_files["lr_joblib"]) if "lr_joblib" in sklearn_files else None
    if model is None:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(max_iter=200).fit(*xy)
    model.extra_ = math.sqrt  # pickled by reference: a global outside the allow-list
    src = tmp_path / "model.pkl"
    src.write_bytes(pickle.dumps(model))
    reasons = scan_source(LocalFileSource(src)).reasons
    assert any("math.sqrt" in r for r in reasons)
    with pytest.raises(UntrustedModel, match="math.sqrt"):
        sklearn_to_onnx(src, tmp_path / "m.onnx", trusted=True)
    with pytest.raises(UntrustedModel):
        sklearn_to_onnx(src, tmp_path / "m.onnx", trusted=True, accept_risks=["other"])
    result = sklearn_to_onnx(src, tmp_path / "m.onnx", trusted=True, accept_risks=reasons)
    assert result["n_features"] == xy[0].shape[1]
