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
