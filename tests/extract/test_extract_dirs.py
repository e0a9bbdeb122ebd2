"""Directory assets: Hugging Face model folders, MLflow models, TensorFlow SavedModels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from extract_helpers import dir_facts_of, ok

from blacklake_ml.extract import savedmodel_ext
from blacklake_ml.extract._protowire import enc_field
from blacklake_ml.extract.hf_ext import parse_card
from blacklake_ml.extract.local import LocalDirView


def test_hf_model_dir_with_card(hf_dirs: dict[str, Any]) -> None:
    f = dir_facts_of(hf_dirs["single"])
    assert f.extractor == "huggingface"
    facts = ok(f)
    d = facts["details"]
    assert (facts["format"], facts["framework"], facts["architecture"]) == (
        "huggingface", "transformers", "BertModel")
    # safetensors of a BertModel hold exactly its parameters (no buffers are saved)
    assert facts["parameters"] == hf_dirs["parameters"]
    assert d["config"]["hidden_size"] == 16 and d["config"]["num_hidden_layers"] == 2
    assert d["config"]["vocab_size"] == 64 and d["config"]["model_type"] == "bert"
    assert "tokenizer.json" in d["tokenizer"]["files"]
    assert d["tokenizer"]["tokenizer_class"].startswith("BertTokenizer")
    assert d["weights"] == {"format": "safetensors", "sharded": False, "files": 1}
    assert facts["name"] == "Tiny German Speech Recognizer"
    assert facts["license"] == "apache-2.0"
    assert facts["task"] == "automatic-speech-recognition"
    assert facts["language"] == ["de"] and facts["tags"] == ["speech", "tiny"]
    assert facts["datasets"] == ["mozilla-foundation/common_voice_11_0"]
    assert facts["base_model"] == ["facebook/wav2vec2-base"]
    assert facts["description"].startswith("# Tiny German Speech Recognizer\n\nA *very*")
    assert "license:" not in facts["description"]


def test_hf_sharded_safetensors(hf_dirs: dict[str, Any]) -> None:
    facts = ok(dir_facts_of(hf_dirs["sharded"]))
    index = json.loads((hf_dirs["sharded"] / "model.safetensors.index.json").read_text())
    shards = set(index["weight_map"].values())
    assert len(shards) > 1
    assert facts["details"]["weights"] == {"format": "safetensors", "sharded": True,
                                           "files": len(shards),
                                           "total_size": index["metadata"]["total_size"]}
    assert facts["parameters"] == hf_dirs["parameters"]
    assert facts["name"] == "tiny-bert-sharded"  # no card: the directory name


def test_hf_pytorch_bin(hf_dirs: dict[str, Any]) -> None:
    facts = ok(dir_facts_of(hf_dirs["binary"]))
    assert facts["details"]["weights"]["format"] == "pytorch"
    # a state dict also holds buffers (position ids): every tensor element is counted
    assert facts["parameters"] == hf_dirs["state_dict_elements"]
    assert "unsafe" not in facts


def test_card_parsing_edge_cases() -> None:
    meta, body, err = parse_card("no front matter\n# Title\n")
    assert (meta, err) == ({}, None) and body.startswith("no front matter")
    meta, body, err = parse_card("---\nlicense: [mit\n---\nbody")
    assert meta == {} and err is not None and "invalid YAML" in err
    # billion laughs: aliases expand to a bounded copy, not to billions of nodes
    laughs = "---\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        laughs += f"l{i}: &l{i} [" + ", ".join([f"*{'a' if i == 1 else f'l{i - 1}'}"] * 10) \
            + "]\n"
    laughs += "tags: *l8\n---\nbody\n"
    meta, body, err = parse_card(laughs)
    assert err is None and len(json.dumps(meta)) < 1_000_000
    assert body == "body\n"


def test_mlflow_model_dir(mlflow_dir: dict[str, Any]) -> None:
    f = dir_facts_of(mlflow_dir["path"])
    assert f.extractor == "mlflow"
    facts = ok(f)
    model = mlflow_dir["model"]
    d = facts["details"]
    assert (facts["format"], facts["framework"], facts["architecture"]) == (
        "mlflow", "sklearn", "LogisticRegression")
    assert d["flavors"] == sorted(model.flavors)
    assert d["model_uuid"] == model.model_uuid
    assert d["utc_time_created"] == model.utc_time_created
    assert d["python_version"] == model.flavors["python_function"]["python_version"]
    assert d["flavor_versions"]["sklearn.sklearn_version"] == \
        model.flavors["sklearn"]["sklearn_version"]
    inputs = model.signature.inputs.to_dict()
    assert d["signature"]["inputs"] == inputs
    assert [c["name"] for c in d["signature"]["inputs"]] == ["a", "b", "c", "d"]
    assert d["model_file"] == model.flavors["sklearn"]["pickled_model"]
    assert "unsafe" not in facts


def test_mlflow_pickled_model_unsafe_reaches_the_dir(tmp_path: Path) -> None:
    from extract_helpers import evil_pickle

    marker = tmp_path / "PWNED_mlflow"
    (tmp_path / "MLmodel").write_text(
        "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n"
        "    python_version: 3.11.7\n  sklearn:\n    pickled_model: model.pkl\n"
        "    sklearn_version: 1.5.0\nrun_id: 0123abcd\nmodel_uuid: u1\n")
    (tmp_path / "model.pkl").write_bytes(evil_pickle(marker))
    facts = ok(dir_facts_of(tmp_path))
    assert facts["unsafe"] == ["posix.system"] and facts["details"]["run_id"] == "0123abcd"
    assert not marker.exists()


# -- SavedModel ---------------------------------------------------------------------------------
def _tensor_info(name: str, dtype: int, dims: list[int]) -> bytes:
    shape = b"".join(enc_field(2, enc_field(1, d)) for d in dims)
    return enc_field(1, name) + enc_field(2, dtype) + enc_field(3, shape)


def _map_entry(key: str, value: bytes) -> bytes:
    return enc_field(1, key) + enc_field(2, value)


def build_saved_model(root: Path, graph_bytes: int = 200_000) -> None:
    """A saved_model.pb encoded field by field (tensorflow is not installed here and must not
    be): SavedModel{1: schema version, 2: MetaGraphDef{1: MetaInfoDef{4: tags,
    5: tf version}, 2: GraphDef (opaque filler here), 5: map<string, SignatureDef>}} with
    SignatureDef{1: inputs, 2: outputs, 3: method_name} and TensorInfo{1: name, 2: dtype,
    3: TensorShapeProto{2: Dim{1: size}}}."""
    sig = (enc_field(1, _map_entry("x", _tensor_info("serving_default_x:0", 1, [-1, 4])))
           + enc_field(1, _map_entry("ids", _tensor_info("serving_default_ids:0", 9, [-1])))
           + enc_field(2, _map_entry("y", _tensor_info("StatefulPartitionedCall:0", 1,
                                                        [-1, 2])))
           + enc_field(3, "tensorflow/serving/predict"))
    meta_info = enc_field(4, "serve") + enc_field(5, "2.16.1")
    graph = enc_field(1, b"\x00" * graph_bytes)  # stands in for a big GraphDef: skipped
    mg = (enc_field(1, meta_info) + enc_field(2, graph)
          + enc_field(5, _map_entry("serving_default", sig)))
    root.mkdir(parents=True)
    (root / "saved_model.pb").write_bytes(enc_field(1, 1) + enc_field(2, mg))
    (root / "variables").mkdir()
    (root / "variables" / "variables.index").write_bytes(b"i" * 100)
    (root / "variables" / "variables.data-00000-of-00001").write_bytes(b"d" * 1000)
    (root / "fingerprint.pb").write_bytes(b"")


EXPECTED_SIGNATURE = {
    "inputs": {"x": {"name": "serving_default_x:0", "dtype": "float32", "shape": [None, 4]},
               "ids": {"name": "serving_default_ids:0", "dtype": "int64", "shape": [None]}},
    "outputs": {"y": {"name": "StatefulPartitionedCall:0", "dtype": "float32",
                      "shape": [None, 2]}},
    "method_name": "tensorflow/serving/predict",
}


def test_saved_model_wire_parse(tmp_path: Path) -> None:
    root = tmp_path / "my_savedmodel"
    build_saved_model(root)
    f = dir_facts_of(root)
    assert f.extractor == "tf-savedmodel"
    facts = ok(f)
    d = facts["details"]
    assert (facts["format"], facts["framework"], facts["name"]) == (
        "tf-savedmodel", "tensorflow", "my_savedmodel")
    assert d["schema_version"] == 1 and d["tensorflow_version"] == "2.16.1"
    assert d["meta_graphs"] == [{"tags": ["serve"], "tensorflow_version": "2.16.1",
                                 "signatures": {"serving_default": EXPECTED_SIGNATURE}}]
    assert (d["variables_files"], d["variables_bytes"]) == (2, 1100)
    assert d["files"] == ["fingerprint.pb"]


def test_saved_model_tensorflow_path_agrees(tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    root = tmp_path / "sm"
    build_saved_model(root)
    data = (root / "saved_model.pb").read_bytes()
    from blacklake_ml.extract._protowire import WireReader
    from blacklake_ml.extract.local import BytesSource

    assert savedmodel_ext.parse_with_tensorflow(data) == savedmodel_ext.parse_wire(
        WireReader(BytesSource("saved_model.pb", data)), len(data))


def test_saved_model_truncated_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "sm"
    build_saved_model(root)
    pb = root / "saved_model.pb"
    pb.write_bytes(pb.read_bytes()[:5000])
    from blacklake_ml.extract import registry

    f = registry.extract_dir(LocalDirView(root))
    assert f is not None and f.error is not None and "truncated" in f.error


def test_hf_card_next_to_gguf(gguf_file: dict[str, Any], tmp_path: Path) -> None:
    import shutil

    from extract_helpers import facts_of

    d = tmp_path / "tiny-gguf"
    d.mkdir()
    shutil.copy(gguf_file["path"], d / "tiny.Q8_0.gguf")
    (d / "README.md").write_text("---\nlicense: MIT\nbase_model: [org/tiny-llama]\n"
                                 "model_name: Tiny GGUF\n---\nQuantised weights.\n")
    facts = ok(dir_facts_of(d))
    assert (facts["name"], facts["license"], facts["base_model"]) == (
        "Tiny GGUF", "mit", ["org/tiny-llama"])
    assert facts["details"]["weights"] == {"format": "gguf", "files": 1}
    assert facts["parameters"] == ok(facts_of(gguf_file["path"]))["parameters"]
    assert facts["description"] == "Quantised weights."


def test_hf_broken_shard_is_recorded_not_fatal(hf_dirs: dict[str, Any], tmp_path: Path
                                               ) -> None:
    import shutil

    d = tmp_path / "broken"
    shutil.copytree(hf_dirs["sharded"], d)
    shard = max(d.glob("model-*.safetensors"))
    shard.write_bytes(shard.read_bytes()[:-100])
    facts = ok(dir_facts_of(d))
    assert "parameters" not in facts
    assert "truncated" in facts["details"]["weights"]["error"]
    assert facts["architecture"] == "BertModel"


def test_card_only_dirs_model_dataset_and_plain_readme(tmp_path: Path) -> None:
    from blacklake_ml.extract import registry

    model = tmp_path / "m"
    model.mkdir()
    (model / "README.md").write_text("---\nlicense: mit\npipeline_tag: translation\n"
                                     "language: [fr, en]\n---\n# Legal MT\n\nFrench legal text.\n")
    facts = registry.extract_dir(LocalDirView(model))
    assert facts is not None and facts.error is None
    assert (facts.facts["kind"], facts.facts["task"], facts.facts["name"]) == \
        ("model", "translation", "Legal MT")
    data = tmp_path / "d"
    data.mkdir()
    (data / "README.md").write_text("---\nlicense: cc-by-4.0\ntask_categories: "
                                    "[automatic-speech-recognition]\n---\n# Calls\n\nAudio.\n")
    (data / "train.csv").write_text("a,b\n1,2\n")
    facts = registry.extract_dir(LocalDirView(data))
    assert facts is not None
    assert (facts.facts["kind"], facts.facts["format"], facts.facts["task"]) == \
        ("dataset", "huggingface-dataset", "automatic-speech-recognition")
    plain = tmp_path / "p"
    plain.mkdir()
    (plain / "README.md").write_text("# Just docs\n\nNo front matter here.\n")
    assert registry.extract_dir(LocalDirView(plain)) is None  # not an asset
