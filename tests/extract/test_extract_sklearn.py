"""scikit-learn pickles, joblib files (every compression) and .skops archives."""

from __future__ import annotations

import io
import pickle
import pickletools
import zipfile
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
import skops.io as sio
from extract_helpers import Evil, EvilEval, evil_pickle, facts_of, ok

from blacklake_ml.extract import sklearn_ext


def test_logistic_regression_pickle(sklearn_files: dict[str, Any]) -> None:
    lr = sklearn_files["lr"]
    f = facts_of(sklearn_files["dir"] / "lr.pkl")
    assert f.extractor == "pickle"
    facts = ok(f)
    d = facts["details"]
    assert (facts["format"], facts["framework"], facts["architecture"]) == (
        "sklearn", "sklearn", "LogisticRegression")
    assert d["object_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert d["n_features_in"] == lr.n_features_in_ == 4
    assert d["params"]["C"] == lr.C and d["params"]["max_iter"] == lr.max_iter
    import sklearn

    assert d["sklearn_version"] == sklearn.__version__
    assert "unsafe" not in facts and d["scan_complete"]


def test_pipeline_steps(sklearn_files: dict[str, Any]) -> None:
    facts = ok(facts_of(sklearn_files["dir"] / "pipe.pickle"))
    pipe = sklearn_files["pipe"]
    assert facts["architecture"] == "Pipeline"
    assert facts["details"]["steps"] == [
        {"name": name, "class": f"{type(est).__module__}.{type(est).__qualname__}"}
        for name, est in pipe.steps]


@pytest.mark.parametrize("name, compression", [
    ("rf.joblib", None), ("rf_zlib.joblib", "zlib"), ("rf_gzip.joblib", "gzip"),
    ("rf_bz2.joblib", "bz2"), ("rf_xz.joblib", "xz"), ("rf_lzma.joblib", "lzma")])
def test_joblib_files(sklearn_files: dict[str, Any], name: str, compression: str | None
                      ) -> None:
    rf = sklearn_files["rf"]
    facts = ok(facts_of(sklearn_files["dir"] / name))
    d = facts["details"]
    assert facts["architecture"] == "RandomForestClassifier"
    assert d.get("compression") == compression
    assert d["n_features_in"] == rf.n_features_in_
    assert d["params"]["n_estimators"] == 3
    assert "sklearn.tree._classes.DecisionTreeClassifier" in d["classes"]
    assert d["scan_complete"] and "unsafe" not in facts
    assert d["joblib_arrays"] > 0


def test_joblib_object_array_is_scanned_too(tmp_path: Path) -> None:
    """Object arrays are nested pickles inside a joblib file: a payload there is found."""
    marker = tmp_path / "PWNED_joblib"
    arr = np.empty(2, dtype=object)
    arr[0], arr[1] = "fine", Evil(f"touch {marker}")
    joblib.dump({"features": np.arange(10.0), "objects": arr}, tmp_path / "mixed.joblib")
    facts = facts_of(tmp_path / "mixed.joblib").facts
    assert "posix.system" in facts["unsafe"]
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_malicious_pickle_every_protocol(tmp_path: Path, protocol: int) -> None:
    marker = tmp_path / f"PWNED_{protocol}"
    path = tmp_path / "model.pkl"
    path.write_bytes(evil_pickle(marker, protocol))
    f = facts_of(path)
    assert f.error is None
    assert f.facts["unsafe"] == ["posix.system"]
    assert f.facts["details"]["dangerous"] == ["posix.system"]
    assert f.facts["format"] == "pickle"
    assert not marker.exists()


def test_eval_and_computed_globals(tmp_path: Path) -> None:
    path = tmp_path / "eval.pkl"
    path.write_bytes(pickle.dumps([EvilEval("__import__('os').system('true')")], protocol=4))
    assert facts_of(path).facts["unsafe"] == ["builtins.eval"]
    # STACK_GLOBAL whose module name is itself computed by a call: flagged, never resolved
    ops = (b"\x80\x04" + b"\x8c\x08builtins\x8c\x03str\x93" + b"\x8c\x02os\x85R"
           + b"\x8c\x06system\x93.")
    pickletools.dis(ops, out=io.StringIO())  # a well-formed pickle
    path.write_bytes(ops)
    facts = facts_of(path).facts
    assert "<computed global name>" in facts["unsafe"]


def test_lz4_needs_the_lz4_package(tmp_path: Path) -> None:
    path = tmp_path / "m.joblib"
    path.write_bytes(b"\x04\x22\x4d\x18" + b"\x00" * 32)
    try:
        import lz4  # noqa: F401
    except ImportError:
        f = facts_of(path)
        assert f.error is not None and "lz4" in f.error
    else:
        assert facts_of(path).error is not None  # garbage lz4 frame


def test_skops_files(sklearn_files: dict[str, Any]) -> None:
    for name in ("lr.skops", "pipe.skops"):
        path = sklearn_files["dir"] / name
        f = facts_of(path)
        assert f.extractor == "skops"
        facts = ok(f)
        assert facts["details"]["untrusted_source"] == "skops.io.get_untrusted_types"
        assert facts.get("unsafe", []) == sio.get_untrusted_types(file=path)
    facts = ok(facts_of(sklearn_files["dir"] / "pipe.skops"))
    assert facts["architecture"] == "Pipeline"
    assert "sklearn.preprocessing._data.StandardScaler" in facts["details"]["classes"]


def test_skops_untrusted_type_is_flagged(tmp_path: Path,
                                         sklearn_files: dict[str, Any]) -> None:
    """A .skops whose schema names an unknown type: reported as unsafe (and not loaded)."""
    import json

    src = sklearn_files["dir"] / "lr.skops"
    dst = tmp_path / "odd.skops"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "schema.json":
                schema = json.loads(data)
                schema["content"]["content"]["evil"] = {
                    "__class__": "Popen", "__module__": "subprocess",
                    "__loader__": "ObjectNode", "content": {"__class__": "dict",
                                                            "__module__": "builtins",
                                                            "__loader__": "DictNode",
                                                            "content": {}, "key_types": {
                                                                "__class__": "list",
                                                                "__module__": "builtins",
                                                                "__loader__": "ListNode",
                                                                "content": []}}}
                data = json.dumps(schema).encode()
            zout.writestr(info, data)
    expected = sio.get_untrusted_types(file=dst)
    assert "subprocess.Popen" in expected
    facts = ok(facts_of(dst))
    assert facts["unsafe"] == expected


def test_skops_fallback_without_skops(sklearn_files: dict[str, Any],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def no_skops(src: Any) -> list[str]:
        raise ImportError("skops missing")

    monkeypatch.setattr(sklearn_ext, "_untrusted_by_skops", no_skops)
    facts = ok(facts_of(sklearn_files["dir"] / "pipe.skops"))
    assert facts["details"]["untrusted_source"].startswith("schema")
    assert "unsafe" not in facts  # only sklearn / numpy / builtins types inside


def test_big_payloads_are_skipped_not_read(tmp_path: Path) -> None:
    """A 6 MiB bytes payload before a dangerous global: the scan seeks over the payload."""
    from extract_helpers import CountingSource

    from blacklake_ml.extract import registry

    marker = tmp_path / "PWNED_big"
    path = tmp_path / "big.pkl"
    path.write_bytes(pickle.dumps({"blob": b"\x00" * (6 << 20), "x": Evil(f"touch {marker}")},
                                  protocol=4))
    src = CountingSource(path)
    f = registry.extract_file(src)
    assert f is not None and f.facts["unsafe"] == ["posix.system"]
    assert src.bytes_read < 512 * 1024 < src.size
    assert not marker.exists()
