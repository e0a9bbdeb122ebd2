"""ONNX: both the onnx-library path and the range-read wire path, against onnx's own view."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from extract_helpers import CountingSource, facts_of, ok
from onnx import TensorProto, helper, numpy_helper

from blacklake_ml.extract import onnx_ext, registry


def _comparable(facts: dict[str, Any]) -> dict[str, Any]:
    details = dict(facts["details"])
    details.pop("parsed_with")
    details.pop("checker")
    return {**facts, "details": details}


def test_library_path(onnx_file: dict[str, Any]) -> None:
    path: Path = onnx_file["path"]
    f = facts_of(path)
    assert f.extractor == "onnx"
    facts = ok(f)
    model = onnx.load(str(path))
    d = facts["details"]
    assert (facts["kind"], facts["format"], facts["framework"]) == ("model", "onnx", "onnx")
    assert facts["parameters"] == onnx_file["parameters"]
    assert d["parsed_with"] == "onnx" and d["checker"] == {"ran": True, "ok": True}
    assert d["ir_version"] == model.ir_version
    assert d["opset"] == {(o.domain or "ai.onnx"): o.version for o in model.opset_import}
    assert d["producer"] == {"name": "pytorch", "version": model.producer_version}
    assert d["inputs"] == [{"name": "image", "dtype": "float32", "shape": ["batch", 3, 8, 8]}]
    assert d["outputs"] == [{"name": "probs", "dtype": "float32", "shape": ["batch", 5]}]
    assert d["op_types"] == dict(Counter(n.op_type for n in model.graph.node))
    assert d["node_count"] == len(model.graph.node)
    assert d["initializer_count"] == len(model.graph.initializer)


def test_wire_path_agrees_and_reads_little(onnx_file: dict[str, Any],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    lib = ok(facts_of(onnx_file["path"]))
    monkeypatch.setattr(onnx_ext, "FULL_LOAD_MAX_BYTES", 0)
    wire = ok(facts_of(onnx_file["path"]))
    assert wire["details"]["parsed_with"] == "wire"
    assert wire["details"]["checker"]["ran"] is False
    assert "larger than" in wire["details"]["checker"]["reason"]
    assert _comparable(wire) == _comparable(lib)


def test_wire_path_skips_payloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model whose bulk is one initializer: the wire path reads a tiny fraction of it."""
    weights = np.zeros((1024, 2048), dtype=np.float32)  # 8 MiB of raw_data
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "big",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 1024])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 2048])],
        [numpy_helper.from_array(weights, "w")])
    model = helper.make_model(graph, producer_name="tests", opset_imports=[
        helper.make_opsetid("", 17)])
    model.metadata_props.add(key="owner", value="ml-team")
    path = tmp_path / "big.onnx"
    onnx.save(model, str(path))
    monkeypatch.setattr(onnx_ext, "FULL_LOAD_MAX_BYTES", 1024 * 1024)
    src = CountingSource(path)
    f = registry.extract_file(src)
    assert f is not None and f.error is None
    assert f.facts["parameters"] == weights.size
    assert f.facts["details"]["metadata"] == {"owner": "ml-team"}
    assert f.facts["details"]["opset"] == {"ai.onnx": 17}
    assert src.bytes_read < 300 * 1024 < src.size, (src.bytes_read, src.size)


def test_checker_failure_is_reported_not_fatal(tmp_path: Path) -> None:
    # a node consuming a value nobody produces: valid protobuf, invalid model
    graph = helper.make_graph(
        [helper.make_node("Relu", ["nowhere"], ["y"])], "broken",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "broken.onnx"
    path.write_bytes(model.SerializeToString())
    facts = ok(facts_of(path))
    checker = facts["details"]["checker"]
    assert checker["ran"] and checker["ok"] is False and "nowhere" in checker["error"]
    assert facts["details"]["op_types"] == {"Relu": 1}


def test_onnx_without_the_library_uses_the_wire_format(
        onnx_file: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_onnx(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError("no onnx here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    facts = ok(facts_of(onnx_file["path"]))
    assert facts["details"]["parsed_with"] == "wire"
    assert "blacklake-ml[models]" in facts["details"]["checker"]["reason"]
    assert facts["parameters"] == onnx_file["parameters"]


def test_external_data_is_counted_and_never_followed(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    weights = np.ones((64, 32), dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "ext",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 32])],
        [numpy_helper.from_array(weights, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "ext.onnx"
    onnx.save(model, str(path), save_as_external_data=True, location="w.bin",
              size_threshold=0)
    assert (tmp_path / "w.bin").exists()
    lib = ok(facts_of(path))
    assert lib["parameters"] == weights.size
    assert lib["details"]["external_data_initializers"] == 1
    assert lib["details"]["external_data_tensors"] == 1
    assert lib["details"]["external_data"] == ["w.bin"]
    assert lib["details"]["checker"] == {"ran": False,
                                         "reason": "tensors with external data (not opened)"}
    monkeypatch.setattr(onnx_ext, "FULL_LOAD_MAX_BYTES", 0)
    wire = ok(facts_of(path))
    assert _comparable(wire) == _comparable(lib)


# -- external data is never probed (issue 10) ---------------------------------------------------
# onnx.checker stats an external tensor's location relative to the working directory, also
# for tensors nested in If/Loop/Scan bodies and in sparse initializers: its verdict would tell
# whether a file the stored model names exists where extraction runs. Each model below names
# "probe.bin"; a real file of the right size would make the checker pass, its absence fail.
PROBE = "probe.bin"


def _external(name: str, n: int = 2) -> TensorProto:
    """A float tensor of ``n`` elements whose data is said to live in ``PROBE``."""
    t = numpy_helper.from_array(np.ones((n,), dtype=np.float32), name)
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for key, value in (("location", PROBE), ("offset", "0"), ("length", str(4 * n))):
        t.external_data.add(key=key, value=value)
    return t


def _branch(name: str, out: str, nodes: list[Any], inits: list[Any]) -> Any:
    return helper.make_graph(nodes, name, [], [helper.make_tensor_value_info(
        out, TensorProto.FLOAT, [2])], inits)


def _if_model(then_branch: Any) -> Any:
    else_branch = _branch("else", "e", [helper.make_node(
        "Constant", [], ["e"], value=numpy_helper.from_array(np.zeros(2, np.float32), "z"))], [])
    node = helper.make_node("If", ["cond"], ["y"], then_branch=then_branch,
                            else_branch=else_branch)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(
        "cond", TensorProto.BOOL, [])], [helper.make_tensor_value_info("y", TensorProto.FLOAT,
                                                                         [2])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _model_if_initializer() -> Any:
    return _if_model(_branch("then", "t", [helper.make_node("Identity", ["w"], ["t"])],
                             [_external("w")]))


def _model_if_constant_attribute() -> Any:
    return _if_model(_branch("then", "t", [helper.make_node(
        "Constant", [], ["t"], value=_external("c"))], []))


def _model_loop_body_in_if() -> Any:
    """An external initializer two levels down: a Loop body inside an If branch."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Identity", ["w"], ["v"])], "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v", TensorProto.FLOAT, [2])], [_external("w")])
    trip = numpy_helper.from_array(np.array(1, dtype=np.int64), "trip")
    yes = numpy_helper.from_array(np.array(True), "yes")
    loop = helper.make_node("Loop", ["trip", "yes"], ["t"], body=body)
    return _if_model(_branch("then", "t", [loop], [trip, yes]))


def _model_sparse_initializer() -> Any:
    values = _external("sp")
    indices = numpy_helper.from_array(np.array([0, 3], dtype=np.int64), "sp_idx")
    sparse = helper.make_sparse_tensor(values, indices, [4])
    graph = helper.make_graph(
        [helper.make_node("Constant", [], ["y"], sparse_value=sparse)], "g", [],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.graph.sparse_initializer.append(helper.make_sparse_tensor(
        _external("sp2"), indices, [4]))
    return model


EXTERNAL_MODELS = {"if-initializer": _model_if_initializer,
                   "if-constant-attribute": _model_if_constant_attribute,
                   "loop-in-if": _model_loop_body_in_if,
                   "sparse": _model_sparse_initializer}


@pytest.mark.parametrize("build", list(EXTERNAL_MODELS.values()), ids=list(EXTERNAL_MODELS))
def test_external_data_anywhere_is_recorded_and_never_probed(
        build: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stored = tmp_path / "stored" / "m.onnx"
    stored.parent.mkdir()
    stored.write_bytes(build().SerializeToString())
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    absent = ok(facts_of(stored))
    (cwd / PROBE).write_bytes(np.ones(4, dtype=np.float32).tobytes())  # what it names
    present = ok(facts_of(stored))
    assert present == absent  # the working directory's contents make no difference
    d = absent["details"]
    assert d["checker"] == {"ran": False, "reason": "tensors with external data (not opened)"}
    assert d["external_data"] == [PROBE] and d["external_data_tensors"] >= 1
    # The wire path (large files) records the same fact without the checker either.
    monkeypatch.setattr(onnx_ext, "FULL_LOAD_MAX_BYTES", 0)
    wire = ok(facts_of(stored))
    assert wire["details"]["external_data"] == [PROBE]
    assert wire["details"]["external_data_tensors"] == d["external_data_tensors"]


def test_the_probe_models_are_valid_when_their_data_is_there(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Control: the checker really does consult the working directory for these models, so
    the test above would see a difference if extraction ran it."""
    monkeypatch.chdir(tmp_path)
    model = _model_if_initializer()
    with pytest.raises(onnx.checker.ValidationError, match=PROBE):
        onnx.checker.check_model(model)
    (tmp_path / PROBE).write_bytes(np.ones(2, dtype=np.float32).tobytes())
    onnx.checker.check_model(model)


def test_external_locations_are_clipped_and_capped(tmp_path: Path) -> None:
    inits = []
    for i in range(3 * onnx_ext.MAX_EXTERNAL_LOCATIONS):
        t = _external(f"w{i}")
        t.external_data[0].value = f"{i:03d}-" + "x" * 1000
        inits.append(t)
    graph = helper.make_graph([], "g", [], [], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "many.onnx"
    path.write_bytes(model.SerializeToString())
    d = ok(facts_of(path))["details"]
    assert d["external_data_tensors"] == len(inits)
    assert len(d["external_data"]) == onnx_ext.MAX_EXTERNAL_LOCATIONS
    assert all(len(loc) <= 260 for loc in d["external_data"])
