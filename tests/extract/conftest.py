"""Real model and dataset files for the extractor tests, made once per session by the real
libraries (torch, onnx, safetensors, gguf, keras, scikit-learn, skops, joblib, pyarrow,
transformers, mlflow, pillow). Each fixture returns paths plus the values the library itself
reports (parameter counts, shapes), which the tests compare against the extracted facts.
"""

from __future__ import annotations

import os

# Before any of these libraries is imported: Keras on the installed torch backend, MLflow and
# Hugging Face without network or telemetry.
os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from blacklake_ml.extract import registry


@pytest.fixture(autouse=True)
def _fresh_registry() -> Any:
    """Tests that swap plugins must not leak their extractor list into others."""
    yield
    registry.reset_cache()


@pytest.fixture(scope="session")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session-wide scratch directory for generated files."""
    return tmp_path_factory.mktemp("extract")


@pytest.fixture(scope="session")
def xy() -> tuple[np.ndarray, np.ndarray]:
    """A small classification data set (4 features)."""
    rng = np.random.default_rng(0)
    x = rng.random((60, 4))
    y = (x[:, 0] + x[:, 1] > 1).astype(int)
    return x, y


# -- PyTorch ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def torch_files(work: Path) -> dict[str, Any]:
    """State dict (zip and legacy), whole model, training checkpoint, tied weights."""
    import torch

    torch.manual_seed(0)
    d = work / "torch"
    d.mkdir()
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8),
                                torch.nn.Flatten(), torch.nn.Linear(8 * 6 * 6, 10))
    model[3].half()
    sd = model.state_dict()
    torch.save(sd, d / "state.pt")
    torch.save(sd, d / "legacy.pth", _use_new_zipfile_serialization=False)
    torch.save(model, d / "whole.pt")
    opt = torch.optim.Adam(model.parameters())
    torch.save({"model": sd, "optimizer": opt.state_dict(), "epoch": 7, "lr": 0.001},
               d / "checkpoint.ckpt")

    class Tied(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = torch.nn.Embedding(50, 8)
            self.out = torch.nn.Linear(8, 50, bias=False)
            self.out.weight = self.emb.weight

    tied = Tied()
    torch.save(tied.state_dict(), d / "tied.bin")
    return {"dir": d, "model": model, "state_dict": sd, "tied": tied}


# -- ONNX ---------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def onnx_file(work: Path) -> dict[str, Any]:
    """A CNN exported by torch.onnx with a symbolic batch dimension."""
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(4 * 6 * 6, 5), torch.nn.Softmax(dim=1))
    path = work / "cnn.onnx"
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated, still exact
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (torch.randn(1, 3, 8, 8),), str(path), input_names=["image"],
                          output_names=["probs"], dynamic_axes={"image": {0: "batch"},
                                                                "probs": {0: "batch"}},
                          dynamo=False)
    return {"path": path, "parameters": sum(p.numel() for p in model.parameters())}


# -- safetensors / GGUF -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def safetensors_file(work: Path) -> dict[str, Any]:
    """A safetensors file with mixed dtypes and metadata."""
    import torch
    from safetensors.torch import save_file

    tensors = {"embed.weight": torch.zeros(100, 16, dtype=torch.float16),
               "layer.0.weight": torch.zeros(16, 16), "layer.0.bias": torch.zeros(16),
               "scale": torch.zeros((), dtype=torch.bfloat16)}
    path = work / "model.safetensors"
    save_file(tensors, str(path), metadata={"format": "pt", "author": "tests"})
    return {"path": path, "tensors": tensors}


@pytest.fixture(scope="session")
def gguf_file(work: Path) -> dict[str, Any]:
    """A GGUF file written by gguf-py's GGUFWriter."""
    import gguf

    path = work / "tiny.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("Tiny Llama")
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    w.add_context_length(512)
    w.add_embedding_length(32)
    w.add_block_count(2)
    w.add_head_count(4)
    w.add_license("MIT")
    w.add_token_list([f"t{i}" for i in range(300)])
    w.add_tensor("token_embd.weight", np.zeros((300, 32), dtype=np.float16))
    w.add_tensor("blk.0.attn_q.weight", np.zeros((32, 32), dtype=np.float32))
    w.add_tensor("output_norm.weight", np.zeros((32,), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return {"path": path}


# -- Keras --------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def keras_file(work: Path) -> dict[str, Any]:
    """A trained functional Keras 3 model saved as .keras (weights and optimizer slots)."""
    import keras

    # keras' torch backend trips numpy 2's __array__(copy=) deprecation on every variable
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"keras\.")
    inp = keras.Input(shape=(6,), name="features")
    x = keras.layers.Dense(12, activation="relu", name="hidden")(inp)
    x = keras.layers.BatchNormalization(name="bn")(x)
    out = keras.layers.Dense(3, activation="softmax", name="head")(x)
    model = keras.Model(inp, out, name="tiny_classifier")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(np.zeros((8, 6)), np.zeros(8), epochs=1, verbose=0)
    path = work / "tiny.keras"
    model.save(path)
    return {"path": path, "count_params": model.count_params(),
            "keras_version": keras.__version__}


# -- scikit-learn -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sklearn_files(work: Path, xy: tuple[np.ndarray, np.ndarray]) -> dict[str, Any]:
    """LogisticRegression / RandomForest / Pipeline as pickle, joblib (all compressions) and
    skops files."""
    import pickle

    import joblib
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = xy
    d = work / "sklearn"
    d.mkdir()
    lr = LogisticRegression(C=0.5, max_iter=200).fit(x, y)
    rf = RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(x, y)
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(x, y)
    (d / "lr.pkl").write_bytes(pickle.dumps(lr, protocol=5))
    (d / "pipe.pickle").write_bytes(pickle.dumps(pipe, protocol=2))
    joblib.dump(rf, d / "rf.joblib")
    for comp in ("zlib", "gzip", "bz2", "xz", "lzma"):
        joblib.dump(rf, d / f"rf_{comp}.joblib", compress=(comp, 3))
    sio.dump(lr, d / "lr.skops")
    sio.dump(pipe, d / "pipe.skops")
    return {"dir": d, "lr": lr, "rf": rf, "pipe": pipe}


# -- Hugging Face -------------------------------------------------------------------------------
CARD = """---
license: Apache-2.0
language: de
tags:
  - speech
  - tiny
pipeline_tag: automatic-speech-recognition
datasets:
  - mozilla-foundation/common_voice_11_0
base_model: facebook/wav2vec2-base
model_name: tiny-german-asr
---
# Tiny German Speech Recognizer

A *very* small model for tests.

```
# not a heading: inside a code fence
```
"""


@pytest.fixture(scope="session")
def hf_dirs(work: Path) -> dict[str, Any]:
    """A tiny BERT saved with save_pretrained (single file + card + tokenizer, and sharded)."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=32)
    model = BertModel(cfg)
    single, sharded, binary = work / "tiny-bert", work / "tiny-bert-sharded", work / "bert-bin"
    model.save_pretrained(single)
    model.save_pretrained(sharded, max_shard_size="20KB")
    vocab = work / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
                               + [f"w{i}" for i in range(59)]))
    BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(single)
    (single / "README.md").write_text(CARD)
    binary.mkdir()
    (binary / "config.json").write_text(json.dumps(cfg.to_dict()))
    torch.save(model.state_dict(), binary / "pytorch_model.bin")
    return {"single": single, "sharded": sharded, "binary": binary,
            "parameters": sum(p.numel() for p in model.parameters()),
            "state_dict_elements": sum(t.numel() for t in model.state_dict().values())}


# -- MLflow -------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def mlflow_dir(work: Path, xy: tuple[np.ndarray, np.ndarray]) -> dict[str, Any]:
    """An MLflow sklearn model directory (mlflow.sklearn.save_model, no tracking server)."""
    import mlflow.sklearn
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    x, y = xy
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    model = LogisticRegression().fit(frame, y)
    path = work / "mlflow-model"
    # explicit requirements: skips MLflow's slow import-based requirement inference
    mlflow.sklearn.save_model(model, str(path),
                              signature=infer_signature(frame, model.predict(frame)),
                              pip_requirements=["scikit-learn"])
    return {"path": path, "model": mlflow.models.Model.load(str(path))}


# -- datasets -----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def tables(work: Path) -> dict[str, Any]:
    """The same table as CSV, TSV and Parquet (several row groups)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 40_000
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({
        "id": np.arange(n),
        "score": rng.random(n),
        "label": rng.choice(["cat", "dog"], n),
        "ok": rng.random(n) > 0.5,
        "day": pd.date_range("2024-01-01", periods=n, freq="h").strftime("%Y-%m-%d"),
        "maybe": [None if i % 7 == 0 else i for i in range(n)],
    })
    d = work / "tables"
    d.mkdir()
    frame.to_csv(d / "data.csv", index=False)
    frame.to_csv(d / "data.tsv", index=False, sep="\t")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, d / "data.parquet", row_group_size=8000, compression="zstd")
    return {"dir": d, "frame": frame, "table": table}


@pytest.fixture(scope="session")
def image_folder(work: Path) -> dict[str, Any]:
    """train/val splits of class folders with real PNG files (pillow)."""
    from PIL import Image

    root = work / "pets"
    counts = {"train": {"cat": 3, "dog": 2, "bird": 1}, "val": {"cat": 1, "dog": 1}}
    img = Image.new("RGB", (4, 4), (255, 0, 0))
    for split, classes in counts.items():
        for cls, n in classes.items():
            p = root / split / cls
            p.mkdir(parents=True)
            for i in range(n):
                img.save(p / f"{i}.png")
            (p / "notes.txt").write_text("not an image")
    (root / "README.md").write_text("pets")
    return {"path": root, "counts": counts}
