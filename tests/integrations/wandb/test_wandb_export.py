"""Export to W&B (offline runs, real ``wandb``): the digest predicted from the store equals the
one W&B computes — on the artifact, by W&B's own manifest code, and in the record the offline
run wrote for ``wandb sync`` — for exports by files and by gateway references."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from wandb_support import artifact_records, sample_files

from blacklake_ml.errors import InvalidInput, InvalidName, PathNotFound, RefNotFound, RepoNotFound
from blacklake_ml.gateway import Gateway
from blacklake_ml.gateway.files import RemoteFiles, files_routes
from blacklake_ml.integrations.wandb import (
    artifact_key,
    export_artifact,
    manifest_digest,
    plan_export,
    predict_digest,
)

BERT = {k[len("bert/"):]: v for k, v in sample_files().items() if k.startswith("bert/")}


def b64md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def wandb_digest_of(files: dict[str, bytes]) -> str:
    """The digest by W&B's own manifest class, from entries built independently."""
    from wandb.sdk.artifacts.artifact_manifests.artifact_manifest_v1 import (
        ArtifactManifestV1,
    )

    doc = {"version": 1, "storagePolicy": "wandb-storage-policy-v1",
           "storagePolicyConfig": {"storageLayout": "V2"},
           "contents": {p: {"digest": b64md5(d), "size": len(d)} for p, d in files.items()}}
    return str(ArtifactManifestV1.from_manifest_json(doc).digest())


def test_prediction_matches_wandb_manifest_code(store: Any) -> None:
    plan = plan_export(store, "blacklake://models/main/bert")
    assert [e.name for e in plan.entries] == sorted(BERT)
    assert {e.name: e.digest for e in plan.entries} == {p: b64md5(d) for p, d in BERT.items()}
    assert plan.digest == wandb_digest_of(BERT) == manifest_digest(
        {p: b64md5(d) for p, d in BERT.items()})
    assert predict_digest(store, "blacklake://models/main/bert") == plan.digest


def test_export_by_files_logs_the_predicted_digest(store: Any, run: Any) -> None:
    predicted = predict_digest(store, "blacklake://models/main/bert")
    result = export_artifact(store, "blacklake://models/main/bert", name="bert-base",
                             aliases=["candidate"])
    art = result.artifact
    assert result.logged and result.mode == "files"
    assert art.digest == result.digest == result.predicted_digest == predicted
    manifest = art.manifest.to_manifest_json()
    assert {p: e["digest"] for p, e in manifest["contents"].items()} == \
        {p: b64md5(d) for p, d in BERT.items()}
    # W&B copied every file into its staging area; our temporary checkout is gone.
    staging = Path(os.environ["WANDB_DATA_DIR"]) / "artifacts" / "staging"
    for name, entry in art.manifest.entries.items():
        assert Path(entry.local_path).parent == staging
        assert Path(entry.local_path).read_bytes() == BERT[name]
        assert "blacklake-wandb-" not in entry.local_path
    meta = art.metadata["blacklake"]
    commit = store.repo("models").resolve("main")
    assert meta["repo"] == "models" and meta["commit"] == commit and meta["ref"] == "main"
    assert meta["message"] == "bert base + training data"
    assert meta["commit_meta"] == {"stage": "candidate"}
    assert meta["author"] and meta["time"]
    assert meta["uri"] == f"blacklake://models/{commit}/bert"
    assert meta["uris"] == [f"blacklake://models/{commit}/bert"]
    run.finish()
    # What the offline run recorded for `wandb sync`: the same digest, files and metadata.
    [rec] = artifact_records(run)
    assert (rec.name, rec.type, rec.digest) == ("bert-base", "model", predicted)
    assert set(rec.aliases) >= {"candidate", "latest"}
    assert {c.path: c.digest for c in rec.manifest.contents} == \
        {p: b64md5(d) for p, d in BERT.items()}
    assert f'"commit":"{commit}"' in rec.metadata.replace(" ", "")


def test_export_by_references_has_the_same_digest(store: Any, run: Any,
                                                  gateway: Gateway) -> None:
    predicted = predict_digest(store, "blacklake://models/main/bert")
    result = export_artifact(store, "blacklake://models/main/bert", name="bert-refs",
                             references=True, gateway=gateway)
    art = result.artifact
    assert result.mode == "references"
    assert art.digest == predicted  # same bytes, same digest, whichever way
    commit = store.repo("models").resolve("main")
    for name, entry in art.manifest.entries.items():
        assert entry.ref.startswith(f"{gateway.url}/files/models/{commit}/bert/")
        assert "?sig=" in entry.ref
        assert entry.digest == b64md5(BERT[name])
        assert entry.extra["etag"] == f'"{b64md5(BERT[name])}"'
        assert entry.size == len(BERT[name])
    run.finish()
    [rec] = artifact_records(run)
    assert rec.digest == predicted
    assert all(c.ref.startswith(gateway.url) for c in rec.manifest.contents)


def test_references_through_a_gateway_in_another_process_style(store: Any, run: Any,
                                                                gateway: Gateway) -> None:
    """RemoteFiles signs like the gateway itself (the CLI's way to reach `blacklake serve`)."""
    result = export_artifact(store, "blacklake://models/main/data/train.csv", name="train",
                             type="dataset", references=True,
                             gateway=RemoteFiles(gateway.url, gateway.token))
    assert result.digest == predict_digest(store, "blacklake://models/main/data/train.csv")
    assert list(result.artifact.manifest.entries) == ["train.csv"]


def test_paths_narrow_the_export_and_names_stay_relative(store: Any, run: Any) -> None:
    result = export_artifact(store, "blacklake://models/main", name="subset",
                             paths=["bert/tokenizer", "data/train.csv"])
    files = sample_files()
    want = {"bert/tokenizer/vocab.txt": files["bert/tokenizer/vocab.txt"],
            "data/train.csv": files["data/train.csv"]}
    assert sorted(result.artifact.manifest.entries) == sorted(want)
    assert result.digest == wandb_digest_of(want)
    commit = store.repo("models").resolve("main")
    assert result.artifact.metadata["blacklake"]["uris"] == [
        f"blacklake://models/{commit}/bert/tokenizer",
        f"blacklake://models/{commit}/data/train.csv"]


def test_a_file_uri_exports_one_entry_and_a_default_name(store: Any, run: Any) -> None:
    result = export_artifact(store, "blacklake://models/main/bert/model.safetensors")
    assert result.name == "models-model.safetensors"
    assert list(result.artifact.manifest.entries) == ["model.safetensors"]
    assert result.digest == wandb_digest_of({"model.safetensors": BERT["model.safetensors"]})


def test_export_pins_the_commit(store: Any, run: Any, tmp_path: Path) -> None:
    """A URI at a branch exports the commit the branch names now; a later commit changes
    nothing in it (URLs and metadata name the commit id)."""
    repo = store.repo("models")
    old = repo.resolve("main")
    plan = plan_export(store, "blacklake://models/main/bert")
    repo.put_bytes(b"changed", "bert/config.json", message="change config")
    result = export_artifact(store, f"blacklake://models/{old[:12]}/bert", name="pinned")
    assert result.plan.commit == old
    assert result.digest == plan.digest


def test_lineage_of_an_export(store: Any, run: Any) -> None:
    result = export_artifact(store, "blacklake://models/main/bert", name="bert-lineage")
    key = artifact_key("bert-lineage", result.digest)
    assert result.node == key
    g = store.lineage.graph(key, depth=1, direction="both")
    edges = {(e["source"], e["target"], e["kind"]) for e in g["edges"]}
    commit = store.repo("models").resolve("main")
    assert (f"blacklake://models/{commit}/bert", key, "derived_from") in edges
    assert (f"run:wandb:{run.id}", key, "produced") in edges
    nodes = {n["id"]: n for n in g["nodes"]}
    assert nodes[key]["kind"] == "artifact" and nodes[key]["system"] == "wandb"
    assert nodes[key]["facets"]["type"] == "model"
    assert nodes[key]["facets"]["project"] == "bl-tests"
    assert nodes[f"run:wandb:{run.id}"]["facets"]["project"] == "bl-tests"
    # And from the stored side: the model's downstream shows the artifact.
    down = store.lineage.downstream("blacklake://models/main/bert")
    assert key in {n["id"] for n in down["nodes"]}


def test_without_a_run_the_artifact_comes_back_unlogged(store: Any) -> None:
    import wandb

    assert wandb.run is None
    result = export_artifact(store, "blacklake://models/main/data", name="data-only",
                             type="dataset")
    assert not result.logged and result.run is None
    assert result.artifact.is_draft()
    g = store.lineage.graph(result.node, depth=1)
    assert [e["kind"] for e in g["edges"]] == ["derived_from"]


def _no_artifact_logged(store: Any, run: Any, _name: str) -> None:
    """Nothing reached W&B or the lineage graph."""
    run.finish()
    assert artifact_records(run) == []
    with pytest.raises(InvalidInput, match="no lineage node"):
        store.lineage.graph(f"run:wandb:{run.id}")
    down = store.lineage.downstream("blacklake://models/main")
    assert not [n for n in down["nodes"] if n["kind"] == "artifact"]


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"name": "bad/name"}, InvalidName, "artifact name"),
    ({"name": "x" * 129}, InvalidName, "artifact name"),
    ({"type": "wandb-internal"}, InvalidName, "artifact type"),
    ({"type": "a:b"}, InvalidName, "artifact type"),
    ({"references": True}, InvalidInput, "needs the gateway"),
    ({"gateway": RemoteFiles("http://127.0.0.1:9", "t")}, InvalidInput, "only used by"),
    ({"paths": ["nope"]}, PathNotFound, "nope"),
    ({"paths": ["../data"]}, InvalidInput, "data"),
])
def test_bad_input_logs_nothing(store: Any, run: Any, kwargs: dict[str, Any],
                                error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        export_artifact(store, "blacklake://models/main/bert", **kwargs)
    _no_artifact_logged(store, run, "bert")


@pytest.mark.parametrize(("uri", "error"), [
    ("blacklake://nosuch/main/bert", RepoNotFound),
    ("blacklake://models/nosuch/bert", RefNotFound),
    ("blacklake://models/main/nope", PathNotFound),
    ("s3://models/main/bert", InvalidInput),
])
def test_bad_uris(store: Any, run: Any, uri: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        export_artifact(store, uri)
    _no_artifact_logged(store, run, "models")


def test_paths_cannot_narrow_a_file(store: Any, run: Any) -> None:
    with pytest.raises(InvalidInput, match="is a file"):
        export_artifact(store, "blacklake://models/main/data/train.csv", paths=["x"])
    _no_artifact_logged(store, run, "train")


def test_a_gateway_serving_another_store_is_caught(store: Any, run: Any, tmp_path: Path
                                                   ) -> None:
    """References whose ETags disagree with this store fail before anything is logged."""
    from blacklake_ml import Store

    other = Store.open(tmp_path / "other")
    repo = other.create_repo("models")
    commit = store.repo("models").resolve("main")
    try:
        # Same repo name, different content, and no commit of that id: 404s.
        repo.put_bytes(b"other", "bert/config.json", message="x")
        with Gateway(files_routes(other), token="t") as gw, \
                pytest.raises(InvalidInput, match="HTTP 404"):
            export_artifact(store, f"blacklake://models/{commit}/bert", name="wrong",
                            references=True, gateway=gw)
        with Gateway(files_routes(store), token="t") as gw, \
                pytest.raises(InvalidInput, match="HTTP 401"):
            export_artifact(store, "blacklake://models/main/bert", name="wrong",
                            references=True, gateway=RemoteFiles(gw.url, "not-the-token"))
    finally:
        other.close()
    _no_artifact_logged(store, run, "wrong")


def test_references_to_awkward_file_names(store: Any, run: Any, gateway: Gateway) -> None:
    """Spaces, '#', '?', '%', '+' and non-ASCII survive signing, W&B's URL handling and the
    gateway's decoding."""
    names = ["odd name #1.txt", "q?a=b&c.txt", "100% done+.txt", "grüße/ünï.txt"]
    repo = store.repo("models")
    with repo.transaction("main", "awkward names") as tx:
        for i, name in enumerate(names):
            tx.put_bytes(f"file {i}".encode(), f"odd/{name}")
    result = export_artifact(store, "blacklake://models/main/odd", name="odd",
                             references=True, gateway=gateway)
    assert sorted(result.artifact.manifest.entries) == sorted(names)
    assert result.digest == wandb_digest_of({n: f"file {i}".encode()
                                             for i, n in enumerate(names)})
