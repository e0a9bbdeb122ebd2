"""Seed a small demo store: a model repository with checkpoint history and a dataset.

``python -m blacklake_ml.demo [--home DIR]`` (also used by ``scripts/demo.sh``). The
checkpoints are synthetic (seeded random weights with a few regions changed per version), so
the demo shows chunk-level dedup without downloading anything.
"""

from __future__ import annotations

import argparse
import random
import sys
from typing import Any

import orjson

from blacklake_ml.errors import RepoExists


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


def _safetensors(data: bytes) -> bytes:
    """``data`` as one float32 tensor in safetensors layout (a real header, so the model
    card shows a parameter count)."""
    header = orjson.dumps({"weight": {"dtype": "F32", "shape": [len(data) // 4],
                                      "data_offsets": [0, len(data)]}})
    header += b" " * (-len(header) % 8)
    return len(header).to_bytes(8, "little") + header + data


def seed(store: Any, *, checkpoint_mib: int = 8) -> dict[str, Any]:
    """Create ``demo-classifier`` and ``demo-reviews`` in ``store`` (idempotent)."""
    rng = random.Random(7)
    try:
        model = store.create_repo("demo-classifier", "Toy image classifier checkpoints")
    except RepoExists:
        return {"seeded": False, "repos": ["demo-classifier", "demo-reviews"]}
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
    data = store.create_repo("demo-reviews", "Product reviews dataset")
    with data.transaction("main", "import reviews") as tx:
        for split, n in (("train", 2000), ("test", 200)):
            rows = ["id,text,label"] + [f"{i},review {i} of {split},{i % 2}" for i in range(n)]
            tx.put_bytes("\n".join(rows).encode(), f"{split}.csv", {"split": split})
        tx.put_bytes(DATASET_CARD.encode(), "README.md")
    return {"seeded": True, "repos": ["demo-classifier", "demo-reviews"]}


def main(argv: list[str] | None = None) -> int:
    """Seed the demo store and print what is in it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", help="store location (default: BLACKLAKE_HOME)")
    parser.add_argument("--checkpoint-mib", type=int, default=8)
    args = parser.parse_args(argv)
    from blacklake_ml import Store

    with Store.open(args.home) as store:
        out = seed(store, checkpoint_mib=args.checkpoint_mib)
        print(("seeded " if out["seeded"] else "already seeded: ") + ", ".join(out["repos"]),
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
