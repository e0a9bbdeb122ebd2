"""Benign entries: files saved by the real libraries, nothing edited.

scikit-learn estimators (LogisticRegression, RandomForest, a StandardScaler Pipeline,
GradientBoosting, KMeans, SVC, MLP) as pickles and as joblib files (plain and
zlib/gzip/xz/bz2-compressed), skops, torch state dicts (zip and legacy), a whole
``nn.Sequential``, an optimizer state, safetensors, ONNX (skl2onnx and onnx.helper), Keras
``.keras``/``.h5`` without custom code, Hugging Face folders from ``save_pretrained`` of tiny
randomly initialised configs, numeric ``.npy``/``.npz``, an MLflow sklearn model folder.
Each is verified to load cleanly under its loader.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from . import (BENIGN, HF, JOBLIB, KERAS_SAFE, MLFLOW, NUMPY_SAFE, PICKLE, TORCH,
               TORCH_SAFE, Entry, base)

SK = ["lr", "rf", "pipe", "gb", "kmeans", "svc", "mlp"]
SK_NAMES = {"lr": "LogisticRegression", "rf": "RandomForest", "pipe": "Pipeline-Scaler-LR",
            "gb": "GradientBoosting", "kmeans": "KMeans", "svc": "SVC", "mlp": "MLP"}
SKOPS = "import skops.io as sio\nsio.load(P, trusted=sio.get_untrusted_types(file=P))"
ONNX = "import onnx\nonnx.checker.check_model(onnx.load(P))"
SAFETENSORS = "from safetensors.numpy import load_file\nload_file(P)"


def torch_bytes(obj, **kw) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    return buf.getvalue()


def sequential():
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))


def onnx_skl2onnx(p: Path) -> None:
    from skl2onnx import to_onnx

    x, _ = base.iris()
    base.write(p, to_onnx(base.sk_model("lr"), x[:1].astype("float32"),
                          target_opset=17).SerializeToString())


def onnx_helper(p: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    w = helper.make_tensor("w", TensorProto.FLOAT, [1, 4], [1.0, 2.0, 3.0, 4.0])
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "add", [x], [y],
                              [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    base.write(p, model.SerializeToString())


def keras_model(kind: str):
    import keras

    keras.utils.set_random_seed(0)
    if kind == "sequential":
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                                 keras.layers.Dense(2, activation="softmax")])
    inp = keras.Input((4,))
    h = keras.layers.Dense(8, activation="tanh")(inp)
    h = keras.layers.Dropout(0.1)(h)
    return keras.Model(inp, keras.layers.Dense(2)(h))


def hf_save(kind: str, p: Path, safe: bool = True) -> None:
    import torch
    from transformers import (BertConfig, BertModel, GPT2Config, GPT2LMHeadModel)

    torch.manual_seed(0)
    model: Any
    if kind == "bert":
        model = BertModel(BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=32,
                                     max_position_embeddings=32))
    else:
        model = GPT2LMHeadModel(GPT2Config(vocab_size=64, n_embd=16, n_layer=1, n_head=2,
                                           n_positions=32))
    if safe:
        model.save_pretrained(str(p))
    else:
        p.mkdir(parents=True, exist_ok=True)
        model.config.save_pretrained(str(p))
        torch.save(model.state_dict(), p / "pytorch_model.bin")


def checkpoint_folder(p: Path) -> None:
    """A Trainer-style checkpoint: model, optimizer.pt, scheduler.pt, rng_state.pth."""
    import json
    import random

    import numpy as np
    import torch

    hf_save("bert", p)
    torch.manual_seed(0)
    m = sequential()
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    m(torch.zeros(1, 4)).sum().backward()
    opt.step()
    sched.step()
    torch.save(opt.state_dict(), p / "optimizer.pt")
    state = sched.state_dict()
    state.pop("lr_lambdas", None)
    torch.save(state, p / "scheduler.pt")
    torch.save({"python": random.getstate(), "numpy": np.random.get_state(),
                "cpu": torch.random.get_rng_state()}, p / "rng_state.pth")
    (p / "trainer_state.json").write_text(json.dumps({"global_step": 1, "epoch": 0.1}))


def mlflow_sklearn(p: Path) -> None:
    import mlflow.sklearn

    mlflow.sklearn.save_model(base.sk_model("lr"), str(p), serialization_format="pickle")


def entries() -> list[Entry]:
    out: list[Entry] = []

    def add(variant, rel, make, loader, note="", quick=False):
        out.append(Entry(BENIGN, variant, f"benign/{rel}", make, loader, note, quick=quick))

    for i, kind in enumerate(SK):
        name = SK_NAMES[kind]
        add(f"sklearn-{name}.pkl", f"sk-{kind}.pkl",
            lambda p, kind=kind: base.write(p, base.sk_pickle(kind)), PICKLE,
            f"pickle.dumps of a fitted {name}", quick=i < 2)
        add(f"sklearn-{name}.joblib", f"sk-{kind}.joblib",
            lambda p, kind=kind: base.write(p, base.joblib_bytes(base.sk_model(kind))),
            JOBLIB, f"joblib.dump of a fitted {name}", quick=i < 2)
    for kind, comp, label in (("rf", 3, "zlib"), ("pipe", "gzip", "gzip"), ("gb", "xz", "xz"),
                              ("mlp", "bz2", "bz2"), ("kmeans", ("lzma", 3), "lzma")):
        add(f"sklearn-{SK_NAMES[kind]}.joblib-{label}", f"sk-{kind}-{label}.joblib",
            lambda p, kind=kind, comp=comp: base.write(
                p, base.joblib_bytes(base.sk_model(kind), compress=comp)),
            JOBLIB, f"joblib.dump(compress={comp!r})", quick=label == "zlib")
    def dtype_arrays() -> dict:
        import numpy as np

        return {
            "datetime64": {"a": np.arange(8).astype("M8[ns]")},
            "timedelta64": {"a": np.arange(3).astype("m8[s]")},
            "big-endian-int32": {"a": np.arange(4, dtype=">i4")},
            "object-array": {"a": np.array(["a", 1, None], object)},
            "misc-dtypes": {"c16": np.arange(5) * (1 + 2j), "u3": np.array(["a", "bc", "abc"]),
                            "s5": np.array([b"x", b"hello"]), "f2": np.ones((2, 3), np.float16),
                            "fortran": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
                            "rec": np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")])},
        }

    for name in dtype_arrays():
        add(f"joblib-{name}", f"joblib-{name}.joblib",
            lambda p, name=name: base.write(p, base.joblib_bytes(dtype_arrays()[name])),
            JOBLIB, f"joblib.dump of {name} arrays", quick=name == "object-array")

    def onehot(p: Path, compress=0) -> None:
        import numpy as np
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder

        x = np.array([["red", "s"], ["blue", "m"], ["red", "l"], ["green", "m"]], object)
        model = make_pipeline(OneHotEncoder(handle_unknown="ignore"), LogisticRegression())
        model.fit(x, np.array(["yes", "no", "yes", "no"]))
        base.write(p, base.joblib_bytes(model, compress=compress))

    add("sklearn-OneHotEncoder-Pipeline.joblib", "sk-onehot.joblib", onehot, JOBLIB,
        "OneHotEncoder + LogisticRegression on string data (object-array categories_, "
        "string classes_)")
    add("sklearn-OneHotEncoder-Pipeline.joblib-gzip", "sk-onehot-gzip.joblib",
        lambda p: onehot(p, compress="gzip"), JOBLIB, "the same, joblib compress='gzip'")
    add("sklearn-LogisticRegression.pkl-protocol2", "sk-lr-p2.pkl",
        lambda p: base.write(p, base.sk_pickle("lr", protocol=2)), PICKLE,
        "pickle protocol 2")
    for kind in ("lr", "pipe"):
        def skops_make(p: Path, kind=kind) -> None:
            import skops.io as sio

            base.write(p, sio.dumps(base.sk_model(kind)))

        add(f"skops-{SK_NAMES[kind]}", f"skops-{kind}.skops", skops_make, SKOPS,
            "skops.io.dumps", quick=kind == "lr")

    def torch_state(p: Path) -> None:
        base.write(p, torch_bytes(sequential().state_dict()))

    add("torch-state_dict.pt", "torch-state-dict.pt", torch_state, TORCH_SAFE,
        "torch.save of an nn.Sequential's state_dict (zip)", quick=True)
    add("torch-state_dict-legacy.pt", "torch-state-dict-legacy.pt",
        lambda p: base.write(p, torch_bytes(sequential().state_dict(),
                                            _use_new_zipfile_serialization=False)),
        TORCH_SAFE, "legacy (non-zip) torch.save")
    add("torch-state_dict-protocol4.pt", "torch-state-dict-p4.pt",
        lambda p: base.write(p, torch_bytes(sequential().state_dict(), pickle_protocol=4)),
        TORCH, "torch.save(pickle_protocol=4) (weights_only=True rejects its FRAME opcodes)")
    add("torch-whole-Sequential.pt", "torch-whole-module.pt",
        lambda p: base.write(p, torch_bytes(sequential())), TORCH,
        "torch.save of a whole nn.Sequential module (loaded with weights_only=False)",
        quick=True)

    def optimizer(p: Path) -> None:
        import torch

        m = sequential()
        opt = torch.optim.Adam(m.parameters(), lr=1e-3)
        m(torch.zeros(1, 4)).sum().backward()
        opt.step()
        base.write(p, torch_bytes(opt.state_dict()))

    add("torch-optimizer-state.pt", "torch-optimizer.pt", optimizer, TORCH_SAFE,
        "an Adam optimizer's state_dict")

    def st_torch(p: Path) -> None:
        from safetensors.torch import save_file

        p.parent.mkdir(parents=True, exist_ok=True)
        save_file(sequential().state_dict(), str(p))

    def st_numpy(p: Path) -> None:
        import numpy as np
        from safetensors.numpy import save_file

        p.parent.mkdir(parents=True, exist_ok=True)
        save_file({"a": np.arange(12, dtype=np.float32).reshape(3, 4),
                   "b": np.ones(3, dtype=np.int64)}, str(p))

    add("safetensors-torch", "st-torch.safetensors", st_torch, SAFETENSORS, quick=True)
    add("safetensors-numpy", "st-numpy.safetensors", st_numpy, SAFETENSORS)
    add("onnx-skl2onnx-LogisticRegression", "lr.onnx", onnx_skl2onnx, ONNX, quick=True)
    add("onnx-helper-Add", "add.onnx", onnx_helper, ONNX)
    add("keras-sequential.keras", "keras-seq.keras",
        lambda p: keras_model("sequential").save(str(p)), KERAS_SAFE, quick=True)
    add("keras-functional.keras", "keras-func.keras",
        lambda p: keras_model("functional").save(str(p)), KERAS_SAFE)
    add("keras-sequential.h5", "keras-seq.h5",
        lambda p: keras_model("sequential").save(str(p)), KERAS_SAFE)
    add("hf-bert-tiny-safetensors", "hf-bert", lambda p: hf_save("bert", p), HF,
        "BertModel(tiny BertConfig).save_pretrained", quick=True)
    add("hf-gpt2-tiny-safetensors", "hf-gpt2", lambda p: hf_save("gpt2", p),
        HF.replace("AutoModel", "AutoModelForCausalLM"), "GPT2LMHeadModel tiny")
    add("hf-bert-tiny-pytorch_model.bin", "hf-bert-bin", lambda p: hf_save("bert", p, False),
        HF, "tiny Bert with a torch.save'd pytorch_model.bin instead of safetensors")
    add("hf-bert-trainer-checkpoint", "hf-checkpoint", checkpoint_folder,
        "from transformers import AutoModel\nimport torch, os\nAutoModel.from_pretrained(P)\n"
        "for f in ('optimizer.pt', 'scheduler.pt', 'rng_state.pth'):\n"
        "    torch.load(os.path.join(P, f), weights_only=False)",
        "Trainer-style checkpoint folder: tiny Bert + optimizer.pt, scheduler.pt, "
        "rng_state.pth (random/numpy/torch RNG states, as the Trainer saves them)")

    def npy(p: Path) -> None:
        import numpy as np

        buf = io.BytesIO()
        np.save(buf, np.arange(20, dtype=np.float32).reshape(4, 5))
        base.write(p, buf.getvalue())

    def npy_struct(p: Path) -> None:
        import numpy as np

        buf = io.BytesIO()
        np.save(buf, np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8"), ("c", "S3")]))
        base.write(p, buf.getvalue())

    def npz(compressed: bool):
        def make(p: Path) -> None:
            import numpy as np

            buf = io.BytesIO()
            (np.savez_compressed if compressed else np.savez)(
                buf, w=np.ones((3, 3)), b=np.arange(3), names=np.array(["a", "bc"]))
            base.write(p, buf.getvalue())
        return make

    add("numpy-float.npy", "float.npy", npy, NUMPY_SAFE, quick=True)
    add("numpy-structured.npy", "structured.npy", npy_struct, NUMPY_SAFE)
    add("numpy.npz", "arrays.npz", npz(False), NUMPY_SAFE)
    add("numpy-compressed.npz", "arrays-compressed.npz", npz(True), NUMPY_SAFE)
    add("mlflow-sklearn-model", "mlflow-sklearn", mlflow_sklearn, MLFLOW,
        "mlflow.sklearn.save_model(LogisticRegression) folder")
    return out

