"""The content the REST API tests browse: two repositories of real model folders.

``hub``: the four model cards of ``search_fixtures.zoo`` under ``models/`` (``asr-de`` with
real safetensors weights), a Hugging Face dataset card under ``datasets/callcenter-de``,
``notes.txt``; tags ``v1.0.0`` (a version) and ``baseline``, alias ``champion`` and a ``prod``
deployment, a deprecated first commit; branch ``experiment`` (changes the asr-de card's licence and ``notes.txt``, which
main changed too: merging it conflicts) and ``feature`` (adds a file: merges cleanly).
``ft``: ``asr-de-ft``, a fine-tune of ``asr-de`` (``base_model``), trained on
``callcenter-de``, whose weights share most chunks with the original, committed by run
``run-42``. ``tiny``: a repository with a two-file quota.
"""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path

from search_fixtures import hf_model, zoo

from blacklake_ml.api import Store

WEIGHTS_FLOATS = 256 * 1024  # 1 MiB of float32: sketched (>= 256 KiB), ~16 chunks


def safetensors(n_floats: int, seed: int) -> bytes:
    """A valid safetensors file: one F32 tensor of random values."""
    header = json.dumps({"weight": {"dtype": "F32", "shape": [n_floats],
                                    "data_offsets": [0, 4 * n_floats]}}).encode()
    header += b" " * (-len(header) % 8)
    data = random.Random(seed).randbytes(4 * n_floats)
    return struct.pack("<Q", len(header)) + header + data


def dataset_card(root: Path) -> Path:
    d = root / "callcenter-de"
    d.mkdir(parents=True)
    (d / "README.md").write_text(
        "---\nlicense: cc-by-4.0\nlanguage: [de]\ntask_categories: "
        "[automatic-speech-recognition]\n---\n\n# Call-center German\n\nRecorded support "
        "calls with transcripts.\n")
    (d / "data.csv").write_text("audio,text\na.wav,guten tag\nb.wav,danke\n")
    return d


def seed_store(store: Store, src: Path) -> None:
    """Create the repositories described in the module docstring."""
    models = zoo(src / "zoo")
    weights = safetensors(WEIGHTS_FLOATS, 1)
    (models / "asr-de" / "model.safetensors").write_bytes(weights)
    hub = store.create_repo("hub", "Speech and vision models")
    zoo_commit = hub.put(models, "models", message="Add the model zoo").commit
    dataset_card(src / "datasets")
    hub.put(src / "datasets", "datasets", message="Add the call-center dataset",
            commit_meta={"run_id": "prep-7"})
    # recorded lineage: the DVC stage that prepared the dataset (the commit names its run id)
    prep = store.lineage.run("dvc", "prep-7", type="stage", name="prepare call-center audio")
    store.lineage.record_run(prep, inputs=["s3://raw/callcenter/2026-10.tar"],
                             outputs=["blacklake://hub/main/datasets/callcenter-de"])
    hub.put_bytes(b"line1\nline2\n", "notes.txt", message="Add notes")
    hub.create_tag("v1.0.0", "main")
    hub.create_tag("baseline", "main")
    hub.lifecycle.set_alias("champion", "v1.0.0", reason="first release")
    hub.lifecycle.deploy("prod", "champion", note="OPS-1")
    hub.lifecycle.deprecate(zoo_commit, reason="weights leaked the test split", sunset="2027-03-31")

    hub.create_branch("experiment", "main")
    card = models / "asr-de" / "README.md"
    card.write_text(card.read_text().replace("license: apache-2.0", "license: mit"))
    with hub.transaction("experiment", "Relicense asr-de under MIT") as tx:
        tx.put_file(card, "models/asr-de/README.md")
        tx.put_bytes(b"line1\nexperiment\n", "notes.txt")
    hub.put_bytes(b"line1\nmain side\n", "notes.txt", message="Edit notes on main")
    hub.create_branch("feature", "main")
    hub.put_bytes(b"hello\n", "extra/hello.txt", branch="feature", message="Add hello")

    ft = store.create_repo("ft", "Fine-tunes")
    d = hf_model(src / "ft", "asr-de-ft", title="Nordlicht call-center fine-tune",
                 body="Fine-tuned on German call-center calls.", license="apache-2.0",
                 language=["de"], pipeline_tag="automatic-speech-recognition",
                 base_model="asr-de", datasets=["callcenter-de"],
                 config={"architectures": ["WhisperForConditionalGeneration"],
                         "model_type": "whisper", "d_model": 384})
    tuned = bytearray(weights)
    tail = len(tuned) // 8
    tuned[-tail:] = random.Random(2).randbytes(tail)
    (d / "model.safetensors").write_bytes(bytes(tuned))
    ft.put(d, "asr-de-ft", message="Fine-tune asr-de", commit_meta={"run_id": "run-42"})

    tiny = store.create_repo("tiny", "Quota test", max_files=2)
    tiny.put_bytes(b"a", "a.txt", message="a")
    tiny.create_branch("more", "main")
    tiny.put_bytes(b"b", "b.txt", branch="more", message="b")
    tiny.put_bytes(b"c", "c.txt", message="c")
