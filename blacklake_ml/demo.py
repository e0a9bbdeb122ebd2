"""Seed a small demo store: real small models and datasets with history, cards and lineage.

``python -m blacklake_ml.demo [--home DIR]`` (also used by ``scripts/demo.sh`` and
``blacklake lab --demo``). Nothing is downloaded; every file is made here:

* ``demo-classifier`` — checkpoints of a toy image classifier (seeded random weights with a few
  regions changed per epoch, so chunk dedup shows): four epochs on ``main``, tag ``v1.0``,
  branch ``finetune-de`` with a German fine-tune.
* ``demo-reviews`` — a product-review dataset (``train.csv``, ``test.csv``, dataset card).
* ``demo-iris`` — a scikit-learn logistic regression on the iris data, saved with skops and
  converted to ONNX (skl2onnx; else built with the ``onnx`` helper API), with versions
  ``v1.0.0`` and ``v1.1.0``, alias ``champion``, deployments to ``staging``/``prod``, a
  branch ``experiment`` and recorded lineage (``demo-iris-data``'s ``iris.csv`` -> each fit ->
  its model files).
* ``demo-iris-data`` — the iris data as CSV and Parquet with a dataset card.
* ``demo-text`` — a tiny BERT-style Hugging Face folder ``tiny-bert/`` (``config.json``,
  ``model.safetensors``, ``vocab.txt``, model card), two versions.
* ``demo-sentiment-de`` — a German sentiment fine-tune of ``tiny-bert`` (its card names
  ``base_model: tiny-bert`` and ``datasets: [demo-reviews]``; its weights share the frozen
  embedding chunks with the base model).

Optional libraries (scikit-learn, skops, skl2onnx, onnx, safetensors, pyarrow) are used when
installed; without them the files they would write are left out or written by hand in the
same format, so :func:`seed` works with the core dependencies alone. Seeding is idempotent:
repositories that exist are left alone, missing ones are created.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson

from blacklake_ml.errors import NotFound, RepoExists

#: Every demo repository, in seeding order.
REPOS = ("demo-classifier", "demo-reviews", "demo-iris-data", "demo-iris", "demo-text",
         "demo-sentiment-de")


def _checkpoint(rng: random.Random, base: bytearray | None, size: int) -> bytearray:
    if base is None:
        return bytearray(rng.randbytes(size))
    data = bytearray(base)
    for _ in range(8):  # ~5% of the bytes change, in scattered regions, like a fine-tune step
        at = rng.randrange(0, size - size // 160)
        data[at:at + size // 160] = rng.randbytes(size // 160)
    return data


MODEL_CARD = """---
license: apache-2.0
language: [en, de]
pipeline_tag: image-classification
tags: [vision, demo]
datasets: [demo-reviews]
---
# Toy image classifier

A small convolutional image classifier used to demonstrate BlackLake: four training epochs on
main, a release tag and a German fine-tune branch. The weights are synthetic.
"""

DATASET_CARD = """---
license: cc-by-4.0
language: [en]
task_categories: [text-classification]
tags: [reviews, sentiment]
---
# Product reviews

Customer product reviews labelled positive or negative, split into train and test.
"""

IRIS_DATA_CARD = """---
license: cc-by-4.0
task_categories: [tabular-classification]
tags: [tabular, flowers, iris]
size_categories: [n<1K]
---
# Iris flower measurements

Fisher's iris data: sepal and petal length and width (cm) of 150 flowers of three species
(setosa, versicolor, virginica). CSV and Parquet copies of the same table.
"""

IRIS_CARD = """---
license: bsd-3-clause
library_name: sklearn
pipeline_tag: tabular-classification
tags: [tabular, sklearn, onnx, iris]
datasets: [demo-iris-data]
model_name: iris-logreg
---
# Iris species classifier

A logistic regression predicting the iris species from four flower measurements. Saved with
skops (`model.skops`, loadable without unpickling arbitrary code) and converted to ONNX
(`model.onnx`, input `X`: float32 [N, 4]). {note}
"""

TINY_BERT_CARD = """---
license: apache-2.0
language: [en]
pipeline_tag: fill-mask
library_name: transformers
tags: [bert, tiny, demo]
---
# tiny-bert

A two-layer BERT-style text encoder (hidden size 64, vocabulary of 2,048 word pieces) kept
small for demos and tests. {note}
"""

SENTIMENT_CARD = """---
license: apache-2.0
language: [de]
pipeline_tag: text-classification
library_name: transformers
base_model: tiny-bert
datasets: [demo-reviews]
tags: [sentiment, german, demo]
---
# German review sentiment

tiny-bert fine-tuned to tell positive from negative German product reviews. The embeddings
were frozen during fine-tuning, so the weights share most of their bytes with the base model.
{note}
"""


def _safetensors(data: bytes) -> bytes:
    """``data`` as one float32 tensor in safetensors layout (a real header, so the model
    card shows a parameter count)."""
    header = orjson.dumps({"weight": {"dtype": "F32", "shape": [len(data) // 4],
                                      "data_offsets": [0, len(data)]}})
    header += b" " * (-len(header) % 8)
    return len(header).to_bytes(8, "little") + header + data


def safetensors_bytes(tensors: dict[str, np.ndarray]) -> bytes:
    """float32 ``tensors`` as a safetensors file (``safetensors.numpy`` when installed,
    else the same layout written here)."""
    try:
        from safetensors.numpy import save
    except ImportError:
        pass
    else:
        return bytes(save(tensors, metadata={"format": "pt"}))
    meta: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        raw = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        meta[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                      "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header = orjson.dumps(meta)
    header += b" " * (-len(header) % 8)
    return len(header).to_bytes(8, "little") + header + b"".join(blobs)


# -- demo-classifier and demo-reviews (the original demo) ----------------------------------
def _seed_classifier(store: Any, checkpoint_mib: int) -> None:
    rng = random.Random(7)
    model = store.create_repo("demo-classifier", "Toy image classifier checkpoints")
    size = checkpoint_mib * 1024 * 1024
    weights: bytearray | None = None
    for epoch in range(1, 5):
        weights = _checkpoint(rng, weights, size)
        with model.transaction("main", f"epoch {epoch}: val_acc={0.70 + epoch * 0.04:.2f}",
                               meta={"epoch": epoch, "framework": "pytorch"}) as tx:
            tx.put_bytes(_safetensors(bytes(weights)), "model.safetensors",
                         {"framework": "pytorch", "params": str(size // 4)})
            tx.put_bytes(MODEL_CARD.replace("The weights", f"Epoch {epoch}. The weights")
                         .encode(), "README.md")
    model.create_tag("v1.0", "main")
    model.create_branch("finetune-de", "main")
    weights = _checkpoint(rng, weights, size)
    model.put_bytes(_safetensors(bytes(weights)), "model.safetensors", branch="finetune-de",
                    message="fine-tune on German reviews", meta={"language": "de"})


def _seed_reviews(store: Any) -> None:
    data = store.create_repo("demo-reviews", "Product reviews dataset")
    with data.transaction("main", "import reviews") as tx:
        for split, n in (("train", 2000), ("test", 200)):
            rows = ["id,text,label"] + [f"{i},review {i} of {split},{i % 2}" for i in range(n)]
            tx.put_bytes("\n".join(rows).encode(), f"{split}.csv", {"split": split})
        tx.put_bytes(DATASET_CARD.encode(), "README.md")


# -- iris: a real scikit-learn model, skops + ONNX, and its dataset --------------------------
IRIS_FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
IRIS_SPECIES = ("setosa", "versicolor", "virginica")


def iris_data() -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)``: the iris table from scikit-learn (bundled, no download), else a
    synthetic look-alike drawn around the species' mean measurements."""
    try:
        from sklearn.datasets import load_iris
    except ImportError:
        rng = np.random.default_rng(0)
        means = np.array([[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.6, 2.0]])
        y = np.repeat(np.arange(3), 50)
        x = means[y] + rng.normal(0.0, 0.3, (150, 4))
        return np.round(np.abs(x), 1), y
    x, y = load_iris(return_X_y=True)
    return np.asarray(x, dtype=np.float64), np.asarray(y)


def _iris_csv(x: np.ndarray, y: np.ndarray) -> bytes:
    rows = [",".join(IRIS_FEATURES + ("species",))]
    rows += [",".join(f"{v:.1f}" for v in r) + f",{IRIS_SPECIES[c]}" for r, c in zip(x, y)]
    return ("\n".join(rows) + "\n").encode()


def _iris_parquet(x: np.ndarray, y: np.ndarray) -> bytes | None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None
    cols: dict[str, Any] = {n: x[:, i] for i, n in enumerate(IRIS_FEATURES)}
    cols["species"] = [IRIS_SPECIES[c] for c in y]
    buf = io.BytesIO()
    pq.write_table(pa.table(cols), buf)
    return buf.getvalue()


def iris_model_files(c: float) -> tuple[dict[str, bytes], str]:
    """``({file name: bytes}, note)``: a logistic regression with regularisation ``c``
    fitted on the iris data, as ``model.skops`` and ``model.onnx`` where the libraries
    allow (the note says what was used)."""
    x, y = iris_data()
    files: dict[str, bytes] = {}
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        # Nearest-centroid as a linear classifier: score_k = mu_k.x - |mu_k|^2 / 2.
        mu = np.stack([x[y == k].mean(axis=0) for k in range(3)])
        coef, intercept = mu, -0.5 * (mu ** 2).sum(axis=1)
        onnx_bytes = _onnx_linear(coef, intercept)
        if onnx_bytes is not None:
            files["model.onnx"] = onnx_bytes
        return files, "(scikit-learn was not installed: nearest-centroid weights.)"
    clf = LogisticRegression(C=c, max_iter=1000).fit(x, y)
    note = f"Training accuracy {clf.score(x, y):.3f} (C={c})."
    try:
        import skops.io as sio
    except ImportError:
        pass
    else:
        files["model.skops"] = sio.dumps(clf)
    try:
        from skl2onnx import to_onnx
    except ImportError:
        onnx_bytes = _onnx_linear(clf.coef_, clf.intercept_)
    else:
        onx = to_onnx(clf, x[:1].astype(np.float32),
                      options={id(clf): {"zipmap": False}}, target_opset=17)
        onnx_bytes = onx.SerializeToString()
    if onnx_bytes is not None:
        files["model.onnx"] = onnx_bytes
    return files, note


def _onnx_linear(coef: np.ndarray, intercept: np.ndarray) -> bytes | None:
    """A linear classifier (``argmax(X W^T + b)``) built with the ``onnx`` helper API."""
    try:
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        return None
    w = numpy_helper.from_array(np.asarray(coef, np.float32).T.copy(), "W")
    b = numpy_helper.from_array(np.asarray(intercept, np.float32), "B")
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["X", "W", "B"], ["scores"]),
         helper.make_node("ArgMax", ["scores"], ["label"], axis=1, keepdims=0)],
        "iris_linear",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
         helper.make_tensor_value_info("scores", TensorProto.FLOAT, [None, 3])],
        [w, b])
    model = helper.make_model(graph, producer_name="blacklake-demo",
                              opset_imports=[helper.make_opsetid("", 17)])
    return bytes(model.SerializeToString())


def _seed_iris_data(store: Any) -> None:
    repo = store.create_repo("demo-iris-data", "Iris flower measurements (CSV and Parquet)")
    x, y = iris_data()
    with repo.transaction("main", "import the iris table") as tx:
        tx.put_bytes(_iris_csv(x, y), "iris.csv", {"rows": "150"})
        parquet = _iris_parquet(x, y)
        if parquet is not None:
            tx.put_bytes(parquet, "iris.parquet", {"rows": "150"})
        tx.put_bytes(IRIS_DATA_CARD.encode(), "README.md")


def _record_training(store: Any, repo: Any, commit: str, c: float, files: dict[str, bytes]
                     ) -> None:
    """Lineage of a demo fit: the iris table (the same data demo-iris-data stores) went into
    it, the model files came out. Skipped when demo-iris-data is not in this store."""
    data = "blacklake://demo-iris-data/main/iris.csv"
    try:
        store.lineage.stored(data)
    except NotFound:
        return
    run = store.lineage.run("demo", f"iris-logreg-C{c}-{commit[:12]}",
                            name=f"fit logistic regression C={c}",
                            facets={"job": "iris-logreg", "params": {"C": c}})
    store.lineage.record_run(run, inputs=[data], outputs=[
        f"blacklake://{repo.name}/{commit}/{name}" for name in sorted(files)])


def _seed_iris(store: Any) -> None:
    repo = store.create_repo("demo-iris", "Iris species classifier (scikit-learn, ONNX)")
    for c, version in ((0.05, "v1.0.0"), (1.0, "v1.1.0")):
        files, note = iris_model_files(c)
        with repo.transaction("main", f"logistic regression, C={c}",
                              meta={"framework": "sklearn", "C": c}) as tx:
            for name, data in files.items():
                tx.put_bytes(data, name, {"framework": "sklearn"})
            tx.put_bytes(IRIS_CARD.format(note=note).encode(), "README.md")
        assert tx.result is not None
        _record_training(store, repo, tx.result.commit, c, files)
        repo.lifecycle.create_version(version, "main")
        repo.lifecycle.deploy("staging", version, note="demo")
    repo.lifecycle.deploy("prod", "v1.0.0", note="demo: first release")
    repo.lifecycle.set_alias("champion", "v1.1.0", reason="demo: better accuracy")
    repo.create_branch("experiment", "v1.0.0")
    files, note = iris_model_files(100.0)
    with repo.transaction("experiment", "try almost no regularisation (C=100)",
                          meta={"framework": "sklearn", "C": 100.0}) as tx:
        for name, data in files.items():
            tx.put_bytes(data, name, {"framework": "sklearn"})
        tx.put_bytes(IRIS_CARD.format(note=note).encode(), "README.md")


# -- a tiny Hugging Face-style BERT and its German fine-tune ---------------------------------
TINY_BERT = {"vocab": 2048, "hidden": 64, "layers": 2, "intermediate": 128, "positions": 128}


def tiny_bert_config(architecture: str, **extra: Any) -> dict[str, Any]:
    """A ``config.json`` for the tiny BERT."""
    t = TINY_BERT
    return {"architectures": [architecture], "model_type": "bert",
            "hidden_size": t["hidden"], "num_hidden_layers": t["layers"],
            "num_attention_heads": 2, "intermediate_size": t["intermediate"],
            "vocab_size": t["vocab"], "max_position_embeddings": t["positions"],
            "type_vocab_size": 2, "hidden_act": "gelu", "torch_dtype": "float32",
            "transformers_version": "4.57.0", **extra}


def tiny_bert_weights(seed: int, *, base: dict[str, np.ndarray] | None = None,
                      step: float = 0.0) -> dict[str, np.ndarray]:
    """BERT-shaped float32 tensors: fresh (``base`` None), or ``base`` with the encoder
    layers moved by ``step`` (the embeddings stay frozen, byte for byte)."""
    rng = np.random.default_rng(seed)
    t = TINY_BERT
    h, inter = t["hidden"], t["intermediate"]
    if base is not None:
        return {k: (v if k.startswith("bert.embeddings.") or v.ndim < 2
                    else (v + rng.normal(0.0, step, v.shape)).astype(np.float32))
                for k, v in base.items()}
    out: dict[str, np.ndarray] = {}

    def add(name: str, *shape: int) -> None:
        out[name] = rng.normal(0.0, 0.02, shape).astype(np.float32)

    add("bert.embeddings.word_embeddings.weight", t["vocab"], h)
    add("bert.embeddings.position_embeddings.weight", t["positions"], h)
    add("bert.embeddings.token_type_embeddings.weight", 2, h)
    out["bert.embeddings.LayerNorm.weight"] = np.ones(h, np.float32)
    out["bert.embeddings.LayerNorm.bias"] = np.zeros(h, np.float32)
    for i in range(t["layers"]):
        p = f"bert.encoder.layer.{i}."
        for part in ("attention.self.query", "attention.self.key", "attention.self.value",
                     "attention.output.dense"):
            add(p + part + ".weight", h, h)
            add(p + part + ".bias", h)
        add(p + "intermediate.dense.weight", inter, h)
        add(p + "intermediate.dense.bias", inter)
        add(p + "output.dense.weight", h, inter)
        add(p + "output.dense.bias", h)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            out[p + norm + ".weight"] = np.ones(h, np.float32)
            out[p + norm + ".bias"] = np.zeros(h, np.float32)
    return out


def _vocab() -> bytes:
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = [a + b for a in letters for b in letters]
    words += [f"##{w}" for w in words]
    return ("\n".join((special + words)[:TINY_BERT["vocab"]]) + "\n").encode()


def _put_hf_folder(tx: Any, prefix: str, config: dict[str, Any],
                   weights: dict[str, np.ndarray], card: str) -> None:
    tx.put_bytes(orjson.dumps(config, option=orjson.OPT_INDENT_2), f"{prefix}config.json")
    tx.put_bytes(safetensors_bytes(weights), f"{prefix}model.safetensors",
                 {"framework": "pytorch"})
    tx.put_bytes(_vocab(), f"{prefix}vocab.txt")
    tx.put_bytes(card.encode(), f"{prefix}README.md")


def _seed_text(store: Any) -> dict[str, np.ndarray]:
    repo = store.create_repo("demo-text", "Small text encoders (Hugging Face layout)")
    base = tiny_bert_weights(11)
    with repo.transaction("main", "tiny-bert: pretraining, 10k steps") as tx:
        _put_hf_folder(tx, "tiny-bert/", tiny_bert_config("BertForMaskedLM"), base,
                       TINY_BERT_CARD.format(note="Pretrained for 10k steps."))
    repo.lifecycle.create_version("v1.0.0", "main")
    more = tiny_bert_weights(12, base=base, step=0.002)
    with repo.transaction("main", "tiny-bert: pretraining, 20k steps") as tx:
        _put_hf_folder(tx, "tiny-bert/", tiny_bert_config("BertForMaskedLM"), more,
                       TINY_BERT_CARD.format(note="Pretrained for 20k steps."))
    repo.lifecycle.create_version("v1.1.0", "main")
    return more


def _seed_sentiment(store: Any, base: dict[str, np.ndarray] | None) -> None:
    repo = store.create_repo("demo-sentiment-de", "German review sentiment (fine-tuned tiny-bert)")
    if base is None:  # demo-text existed already: rebuild its latest weights (deterministic)
        base = tiny_bert_weights(12, base=tiny_bert_weights(11), step=0.002)
    rng = np.random.default_rng(21)
    head = {"classifier.weight": rng.normal(0.0, 0.02, (2, TINY_BERT["hidden"]))
            .astype(np.float32), "classifier.bias": np.zeros(2, np.float32)}
    config = tiny_bert_config("BertForSequenceClassification",
                              id2label={"0": "negative", "1": "positive"},
                              label2id={"negative": 0, "positive": 1})
    weights = base
    for epoch, acc in ((1, 0.81), (2, 0.86)):
        weights = {**tiny_bert_weights(30 + epoch, base=weights, step=0.001), **head}
        with repo.transaction("main", f"fine-tune epoch {epoch}: val_acc={acc}",
                              meta={"epoch": epoch, "val_acc": acc}) as tx:
            _put_hf_folder(tx, "", config, weights, SENTIMENT_CARD.format(
                note=f"Epoch {epoch}, validation accuracy {acc}."))
    repo.lifecycle.create_version("v1.0.0", "main")


def seed(store: Any, *, checkpoint_mib: int = 8) -> dict[str, Any]:
    """Create the demo repositories in ``store`` (idempotent: existing ones are kept).

    Returns ``{"seeded": bool, "repos": [...], "created": [...]}``; ``seeded`` is true when
    anything was created.
    """
    created: list[str] = []
    text_weights: list[dict[str, np.ndarray]] = []
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("demo-classifier", lambda: _seed_classifier(store, checkpoint_mib)),
        ("demo-reviews", lambda: _seed_reviews(store)),
        ("demo-iris-data", lambda: _seed_iris_data(store)),
        ("demo-iris", lambda: _seed_iris(store)),
        ("demo-text", lambda: text_weights.append(_seed_text(store))),
        ("demo-sentiment-de",
         lambda: _seed_sentiment(store, text_weights[0] if text_weights else None)),
    ]
    for name, step in steps:
        try:
            step()
        except RepoExists:
            continue
        except BaseException:
            # Leave no half-seeded repository behind: the next seed() would skip it.
            with contextlib.suppress(Exception):  # the original error matters more
                store.delete_repo(name)
            raise
        created.append(name)
    return {"seeded": bool(created), "repos": list(REPOS), "created": created}


def main(argv: list[str] | None = None) -> int:
    """Seed the demo store and print what is in it."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", help="store location (default: BLACKLAKE_HOME)")
    parser.add_argument("--checkpoint-mib", type=int, default=8)
    args = parser.parse_args(argv)
    from blacklake_ml import Store

    with Store.open(args.home) as store:
        out = seed(store, checkpoint_mib=args.checkpoint_mib)
        print(describe(out), file=sys.stderr)
        prepare_search(store)
    return 0


def prepare_search(store: Any) -> None:
    """Embed the cards now (and make the model's one-time ONNX export), so the demo's first
    ``blacklake search`` is as fast as every later one. Skipped without the search extra."""
    from blacklake_ml.search.engine import dense_available

    if dense_available():
        store.searcher().vectors()


def describe(out: dict[str, Any]) -> str:
    """One line saying what :func:`seed` did."""
    if out["created"]:
        return "seeded " + ", ".join(out["created"])
    return "already seeded: " + ", ".join(out["repos"])


if __name__ == "__main__":
    sys.exit(main())
