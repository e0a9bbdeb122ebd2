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
    assert lib["details"]["checker"] == {"ran": False,
                                         "reason": "initializers with external data"}
    monkeypatch.setattr(onnx_ext, "FULL_LOAD_MAX_BYTES", 0)
    wire = ok(facts_of(path))
    assert _comparable(wire) == _comparable(lib)
