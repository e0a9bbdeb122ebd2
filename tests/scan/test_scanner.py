"""The scanner against the finding classes of issue 10, benign files saved by the real
libraries, and CPython's own parser (a differential test through a recording unpickler)."""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import record, record_joblib
from payloads import CASES, _Evil, stack_global_call

from blacklake_ml.extract._pickle_scan import GlobalsLog, PickleMachine
from blacklake_ml.extract.local import BytesSource, SourceReader
from blacklake_ml.scan import SAFE, UNSAFE, scan_source


def verdict_of(name: str, data: bytes) -> tuple[str, list[str]]:
    v = scan_source(BytesSource(name, data))
    return v.verdict, v.reasons


@pytest.mark.parametrize("case,fname,build", CASES, ids=[c[0] for c in CASES])
def test_no_hostile_file_is_safe(tmp_path: Path, case: str, fname: str, build: object) -> None:
    data = build(tmp_path / "marker")  # type: ignore[operator]
    verdict, reasons = verdict_of(fname, data)
    assert verdict != SAFE, (case, reasons)
    assert reasons


@pytest.mark.parametrize("module,name,resolved", [
    ("sklearn._config", "os.system", "os.system"),
    ("torch.serialization", "os.system", "os.system"),
])
def test_reasons_name_the_global_and_what_it_resolves_to(module: str, name: str,
                                                         resolved: str) -> None:
    verdict, reasons = verdict_of("m.pkl", stack_global_call(module, name, "id"))
    assert verdict == UNSAFE
    assert any(f"{module}.{name}" in r and f"resolves to {resolved}" in r for r in reasons)


def _run_child(code: str, timeout: int = 120) -> None:
    subprocess.run([sys.executable, "-c", code], timeout=timeout, capture_output=True)


@pytest.mark.parametrize("case,loader", [
    ("prefix-sklearn", "import pickle; pickle.load(open(P, 'rb'))"),
    ("joblib-dup-keys", "import joblib; joblib.load(P)"),
    ("joblib-gzip", "import joblib; joblib.load(P)"),
    ("torch-dup-member", "import torch; torch.load(P, weights_only=False)"),
    ("npy-object", "import numpy; numpy.load(P, allow_pickle=True)"),
])
def test_payloads_really_execute(tmp_path: Path, case: str, loader: str) -> None:
    """The hostile files are real: each runs its payload under its natural loader."""
    fname, build = next((f, b) for c, f, b in CASES if c == case)
    marker = tmp_path / "marker"
    path = tmp_path / fname
    path.write_bytes(build(marker))
    _run_child(f"P = {str(path)!r}\n" + loader)
    assert marker.exists(), f"{case} did not execute under its loader"


# -- benign files saved by the real libraries --------------------------------------------------
@pytest.fixture(scope="module")
def benign(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    import joblib
    import torch
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    x, y = load_iris(return_X_y=True)
    out: dict[str, bytes] = {}
    models = {"lr": LogisticRegression(max_iter=300),
              "rf": RandomForestClassifier(n_estimators=3, random_state=0),
              "pipe": Pipeline([("f", FunctionTransformer(np.log1p)), ("s", StandardScaler()),
                                ("c", LogisticRegression(max_iter=300))])}
    for k, m in models.items():
        m.fit(x, y)
        for proto in (0, 2, 5):
            out[f"{k}.p{proto}.pkl"] = pickle.dumps(m, protocol=proto)
        for comp in (0, 3, ("gzip", 3)):
            buf = io.BytesIO()
            joblib.dump(m, buf, compress=comp)
            out[f"{k}.{comp}.joblib"] = buf.getvalue()
    seq = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU())
    for label, obj in (("sd", seq.state_dict()), ("module", seq)):
        buf = io.BytesIO()
        torch.save(obj, buf)
        out[f"{label}.pt"] = buf.getvalue()
        buf = io.BytesIO()
        torch.save(obj, buf, _use_new_zipfile_serialization=False)
        out[f"{label}.legacy.pt"] = buf.getvalue()
    out["module.pickled.pkl"] = pickle.dumps(seq)
    for label, arr in (("f", np.arange(5.0)), ("u", np.array(["ab", "cde"]))):
        buf = io.BytesIO()
        np.save(buf, arr)
        out[f"{label}.npy"] = buf.getvalue()
    buf = io.BytesIO()
    np.savez(buf, a=np.arange(3))
    out["a.npz"] = buf.getvalue()
    # joblib arrays whose dtype state carries a unit or a byte order, object arrays (a
    # nested pickle), and the object arrays sklearn's encoders keep in categories_
    from sklearn.preprocessing import OneHotEncoder

    enc = Pipeline([("oh", OneHotEncoder(handle_unknown="ignore")),
                    ("c", LogisticRegression(max_iter=300))])
    enc.fit(np.array([["a", "x"], ["b", "y"], ["a", "y"], ["b", "x"]], dtype=object),
            [0, 1, 0, 1])
    for label, value in (
            ("datetime64", np.array(["2024-01-01", "2025-06-30"], dtype="M8[ns]")),
            ("datetime64-10s", np.array([1, 2], dtype="M8[10s]")),
            ("timedelta64", np.array([1, 2], dtype="m8[us]")),
            ("big-endian", np.arange(4, dtype=">i4")),
            ("object", np.array(["a", 1, None], dtype=object)),
            ("onehot-pipeline", enc)):
        for comp in (0, 3):
            buf = io.BytesIO()
            joblib.dump({"v": value}, buf, compress=comp)
            out[f"{label}.{comp}.joblib"] = buf.getvalue()
    import skops.io

    out["rf.skops"] = skops.io.dumps(models["rf"])
    out["config.json"] = b'{"model_type": "bert", "hidden_size": 8}'
    out["README.md"] = b"# A model\n\nconfig:\n  x: 1\n"
    out["requirements.txt"] = b"certifi\nnumpy\n"
    return out


def test_benign_files_are_safe(benign: dict[str, bytes]) -> None:
    flagged = {k: verdict_of(k, v) for k, v in benign.items()}
    flagged = {k: v for k, v in flagged.items() if v[0] != SAFE}
    assert not flagged


# -- differential: the scanner sees exactly the globals CPython's parser sees -----------------
def _scanner_globals(data: bytes, joblib: bool) -> list[str]:
    log = GlobalsLog(lenient=False)
    m = PickleMachine(SourceReader(BytesSource("x", data)), log, joblib=joblib)
    try:
        while True:
            m.run()
            if m.stop_frame_end is not None:
                m.stream.skip_to(m.stop_frame_end)
            if m.stream.at_end():
                break
    except Exception:  # noqa: BLE001 - the loader stops at the same error
        pass
    return list(log.seen)


def _differential(data: bytes, joblib: bool = False) -> None:
    seen, clean = (record_joblib(data) if joblib else record(data))
    mine = _scanner_globals(data, joblib)
    missed = set(seen) - set(mine)
    assert not missed, f"CPython looked up globals the scanner never saw: {missed}"
    if clean:
        assert set(mine) == set(seen)


def test_differential_on_benign_files(benign: dict[str, bytes]) -> None:
    for name, data in benign.items():
        if name.endswith((".pkl",)):
            _differential(data)
        elif name.endswith(".joblib") and not name.startswith(("3", "(")) and \
                ".0." in name:
            _differential(data, joblib=True)
            _differential(data)


@pytest.mark.parametrize("case,fname,build", [c for c in CASES if c[1].endswith(".pkl")
                                              and c[0] != "many-ops"],
                         ids=[c[0] for c in CASES if c[1].endswith(".pkl")
                              and c[0] != "many-ops"])
def test_differential_on_hostile_pickles(tmp_path: Path, case: str, fname: str,
                                         build: object) -> None:
    _differential(build(tmp_path / "m"))  # type: ignore[operator]


def test_differential_on_joblib_layouts(tmp_path: Path) -> None:
    from payloads import joblib_desync_dup_keys, joblib_payload

    for data in (joblib_payload(tmp_path / "m"), joblib_desync_dup_keys(tmp_path / "m")):
        seen, _ = record_joblib(data)
        verdict, reasons = verdict_of("m.joblib", data)
        assert verdict != SAFE
        assert "os.system" in " ".join(seen) or verdict != SAFE


_OPS = st.sampled_from([
    b"(", b")", b"]", b"}", b"N", b"\x88", b"\x89", b"t", b"l", b"d", b"a", b"e", b"s", b"u",
    b"R", b"b", b"0", b"1", b"2", b"\x85", b"\x86", b"\x87", b"\x93", b"\x94", b"\x81",
    b"q\x00", b"h\x00", b"K\x05", b"I12\n", b"I0x1\n", b"I010\n", b"L5L\n", b"\x80\x02",
    b"\x80\x04", b"cos\nsystem\n", b"cbuiltins\nlist\n", b"c__builtin__\nset\n",
    _s_ := b"\x8c\x02os", b"\x8c\x06system", b"\x8c\x0fsklearn._config", b"\x8c\tos.system",
    b"S'a'\n", b"Vx\n", b"X\x01\x00\x00\x00y", b"C\x01z", b"\x8f", b"\x90", b"\x91",
])


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(_OPS, min_size=1, max_size=40))
def test_differential_on_generated_pickles(parts: list[bytes]) -> None:
    _differential(b"".join(parts) + b".")


def test_zip_member_listed_twice_is_never_safe(tmp_path: Path) -> None:
    import torch

    buf = io.BytesIO()
    torch.save({"w": torch.zeros(1)}, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z, pytest.warns(UserWarning):
        for info in src.infolist():
            z.writestr(info, src.read(info))
        z.writestr("archive/data.pkl", src.read("archive/data.pkl"))  # the same, twice
    verdict, reasons = verdict_of("m.pt", out.getvalue())
    assert verdict != SAFE and any("more than once" in r for r in reasons)


def test_compressed_data_pkl_above_old_cap_is_scanned(tmp_path: Path) -> None:
    # a deflated data.pkl of > 64 MiB (the old cap) with the payload at its end
    big = pickle.dumps([b"\x00" * (70 * 1024 * 1024), _Evil("id")], protocol=4)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", big)
        z.writestr("archive/version", "3\n")
    verdict, reasons = verdict_of("m.pt", out.getvalue())
    assert verdict == UNSAFE and any("system" in r for r in reasons)


def test_fuzz_finds_stay_fixed() -> None:
    """Inputs the fuzzer (scripts/fuzz_scanner.py) once broke the scanner with."""
    for path in sorted(Path(__file__).parent.glob("fuzz-*")):
        v = scan_source(BytesSource(path.name.split("-", 1)[1], path.read_bytes()))
        assert not any(r.startswith("scan failed") for r in v.reasons), (path.name, v.reasons)
        if path.suffix == ".pt":  # CPython's parser imports unlisted names from this one
            assert v.verdict != SAFE, (path.name, v.reasons)


# -- pickle.load reading a joblib file: where CPython's reading ends ------------------------
def _object_array_joblib() -> bytes:
    import joblib

    buf = io.BytesIO()
    joblib.dump({"v": np.array(["a", 1, None], dtype=object)}, buf)
    return buf.getvalue()


def test_misread_object_array_ends_where_pickle_load_fails(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """pickle.load on a joblib object array looks up a module named ``NumpyArrayWrapper``
    (memo indices of the nested pickle land on the outer one's strings) and fails there;
    should such a module exist, the lookup is an import like any other."""
    data = _object_array_joblib()
    with pytest.raises(ModuleNotFoundError, match="NumpyArrayWrapper"):
        pickle.loads(data)
    assert verdict_of("m.joblib", data)[0] == SAFE
    (tmp_path / "NumpyArrayWrapper.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    verdict, reasons = verdict_of("m.joblib", data)
    assert verdict == UNSAFE and any("NumpyArrayWrapper.dtype" in r for r in reasons)


def test_stack_global_of_a_built_object_ends_the_reading() -> None:
    """CPython refuses STACK_GLOBAL operands that are not str; a computed operand that may
    be one stays a finding."""
    with pytest.raises(pickle.UnpicklingError, match="STACK_GLOBAL requires str"):
        pickle.loads(b"\x80\x04]\x8c\x01x\x93.")
    assert verdict_of("m.pkl", b"\x80\x04]\x8c\x01x\x93.")[0] != SAFE
    computed = b"\x80\x04\x8c\x08builtins\x8c\x03str\x93\x8c\x02os\x85R\x8c\x06system\x93."
    verdict, reasons = verdict_of("m.pkl", computed)
    assert verdict == UNSAFE


# -- skops: every type and callable of the schema, against the exact allow-list -------------
def _skops_with(schema_edit: object) -> bytes:
    import json

    import skops.io
    from sklearn.linear_model import LogisticRegression

    m = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 1, 0, 1])
    src = zipfile.ZipFile(io.BytesIO(skops.io.dumps(m)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "schema.json":
                schema = json.loads(data)
                schema_edit(schema)  # type: ignore[operator]
                data = json.dumps(schema).encode()
            z.writestr(info.filename, data)
    return out.getvalue()


def test_skops_schema_types_and_callables_are_judged_exactly() -> None:
    assert verdict_of("m.skops", _skops_with(lambda s: None))[0] == SAFE

    def evil_type(s: dict) -> None:  # an object of a class outside the list
        s["content"]["content"]["extra"] = {"__class__": "Popen", "__module__": "subprocess",
                                            "__loader__": "ObjectNode", "content": {}}

    def evil_function(s: dict) -> None:  # a function node: skops imports and returns it
        s["content"]["content"]["f"] = {
            "__class__": "function", "__module__": "builtins", "__loader__": "FunctionNode",
            "content": {"module_path": "os", "function": "system"}}

    def prefix_trick(s: dict) -> None:  # a trusted-looking module, not a listed pair
        s["content"]["content"]["g"] = {"__class__": "system", "__module__": "sklearn._config.os",
                                        "__loader__": "ObjectNode", "content": {}}

    def unknown_loader(s: dict) -> None:
        s["content"]["content"]["h"] = {"__class__": "dict", "__module__": "builtins",
                                        "__loader__": "MethodNode", "content": {}}

    for edit, expect in ((evil_type, "subprocess.Popen"), (evil_function, "os.system"),
                         (prefix_trick, "sklearn._config.os.system"),
                         (unknown_loader, "MethodNode")):
        verdict, reasons = verdict_of("m.skops", _skops_with(edit))
        assert verdict == UNSAFE and any(expect in r for r in reasons), (edit, reasons)
