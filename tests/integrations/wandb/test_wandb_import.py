"""Import of W&B artifacts: a directory laid out as ``artifact.download()`` lays it out, plus the
manifest W&B wrote for an artifact built offline (files, gateway references fetched by W&B's
own handler, XXH128 digests), verified file by file; and ``import_artifact`` through a fake
``wandb.Api`` (the one thing that needs a W&B server)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from wandb_support import FakeApi, download_layout, sample_files

from blacklake_ml.errors import (
    InvalidInput,
    InvalidName,
    InvalidPath,
    NotFound,
    PathNotFound,
    RefNotFound,
    RepoNotFound,
)
from blacklake_ml.gateway import Gateway
from blacklake_ml.integrations.wandb import (
    MANIFEST_NAME,
    ArtifactInfo,
    Manifest,
    RunInfo,
    artifact_key,
    export_artifact,
    import_artifact,
    import_directory,
)

BERT = {k[len("bert/"):]: v for k, v in sample_files().items() if k.startswith("bert/")}


def offline_artifact(tmp: Path, files: dict[str, bytes], *, name: str = "trained",
                     **kwargs: Any) -> Any:
    """A real ``wandb.Artifact`` built offline from ``files``."""
    import wandb

    src = tmp / f"src-{name}"
    art = wandb.Artifact(name, type="model", **kwargs)
    for rel, data in files.items():
        p = src / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        art.add_file(str(p), name=rel)
    return art


def tree(store: Any, repo: str, ref: str, path: str) -> dict[str, bytes]:
    r = store.repo(repo)
    prefix = f"{path}/" if path else ""
    return {i["path"][len(prefix):]: r.read_bytes(ref, i["path"])
            for i in r.ls(ref, path, recursive=True) if i["kind"] == "file"}


def head(store: Any, repo: str = "models") -> str:
    return str(store.repo(repo).resolve("main"))


def test_roundtrip_of_an_exported_artifact(store: Any, run: Any, tmp_path: Path) -> None:
    """Export (files) -> the directory a download would give -> import: same bytes, the W&B
    identity in the commit, lineage run -> artifact -> stored path."""
    exported = export_artifact(store, "blacklake://models/main/bert", name="bert-base")
    root = download_layout(exported.artifact, tmp_path / "artifacts" / "bert-base:v0")
    info = ArtifactInfo(name="bert-base", version="v0", type="model", digest=exported.digest,
                        project="bl-tests", run=RunInfo(id=run.id, project="bl-tests"))
    result = import_directory(store, root, "imported/main/models/bert", artifact=info,
                              create_repo=True)
    assert result.created and result.files == 3
    assert result.digest == exported.digest
    assert tree(store, "imported", "main", "models/bert") == BERT
    [row] = store.repo("imported").log("main", limit=1)
    assert row.message == "Import W&B artifact bl-tests/bert-base:v0"
    assert row.meta["wandb.artifact"] == "bl-tests/bert-base:v0"
    assert row.meta["wandb.digest"] == exported.digest
    assert (row.meta["wandb.type"], row.meta["wandb.version"]) == ("model", "v0")
    assert row.meta["wandb.run"] == run.id
    key = artifact_key("bert-base", exported.digest)
    assert result.node == key
    g = store.lineage.graph(key, depth=1)
    edges = {(e["source"], e["target"], e["kind"]) for e in g["edges"]}
    assert (key, result.uri, "derived_from") in edges
    assert (f"run:wandb:{run.id}", key, "produced") in edges
    # The export's edge too: the stored original -> artifact -> the imported copy.
    assert (f"blacklake://models/{head(store)}/bert", key, "derived_from") in edges
    up = store.lineage.upstream("blacklake://imported/main/models/bert")
    assert {key, f"run:wandb:{run.id}"} <= {n["id"] for n in up["nodes"]}


def test_name_and_version_come_from_the_download_directory(store: Any, tmp_path: Path) -> None:
    art = offline_artifact(tmp_path, BERT)
    root = download_layout(art, tmp_path / "artifacts" / "trained:v7")
    result = import_directory(store, root, "models/main/from-wandb")
    assert (result.artifact.name, result.artifact.version) == ("trained", "v7")
    assert result.digest == art.digest
    assert result.artifact.run is None
    assert store.repo("models").log("main", limit=1)[0].meta["wandb.artifact"] == "trained:v7"


def test_references_fetched_through_the_gateway_verify(store: Any, run: Any,
                                                       gateway: Gateway, tmp_path: Path
                                                       ) -> None:
    """A reference artifact: W&B's HTTP handler downloads each URL (re-checking the ETag),
    and the import verifies the base64-MD5 ETags against the bytes."""
    exported = export_artifact(store, "blacklake://models/main/bert", name="bert-refs",
                               references=True, gateway=gateway)
    root = download_layout(exported.artifact, tmp_path / "dl" / "bert-refs:v0")
    result = import_directory(store, root, "models/main/copy")
    assert result.unverified == []
    assert tree(store, "models", "main", "copy") == BERT
    entry = store.repo("models").ls("main", "copy/config.json")[0]
    assert entry["meta"]["wandb.ref"].startswith(gateway.url)


def test_a_tampered_file_is_refused_and_nothing_is_committed(store: Any, tmp_path: Path
                                                             ) -> None:
    art = offline_artifact(tmp_path, BERT)
    root = download_layout(art, tmp_path / "trained:v0")
    data = bytearray((root / "model.safetensors").read_bytes())
    data[1234] ^= 0xFF  # same size, different bytes
    (root / "model.safetensors").write_bytes(bytes(data))
    before = head(store)
    with pytest.raises(InvalidInput, match=r"do not match the W&B manifest.*model\.safetensors"):
        import_directory(store, root, "models/main/x")
    assert head(store) == before
    with pytest.raises(InvalidInput, match="do not match"):
        import_directory(store, root, "fresh", create_repo=True)
    with pytest.raises(RepoNotFound):
        store.repo("fresh")  # not even the repository was created
    with pytest.raises(InvalidInput, match="no lineage node"):
        store.lineage.graph(artifact_key("trained", art.digest))


def test_a_truncated_file_is_refused(store: Any, tmp_path: Path) -> None:
    art = offline_artifact(tmp_path, BERT)
    root = download_layout(art, tmp_path / "trained:v0")
    (root / "tokenizer" / "vocab.txt").write_bytes(b"[PAD]\n")
    with pytest.raises(InvalidInput, match="tokenizer/vocab.txt"):
        import_directory(store, root, "models/main/x")


def test_missing_and_extra_files_and_symlinks(store: Any, tmp_path: Path) -> None:
    art = offline_artifact(tmp_path, BERT)
    root = download_layout(art, tmp_path / "trained:v0")
    before = head(store)
    (root / "stray.txt").write_text("not in the artifact")
    with pytest.raises(InvalidInput, match="not in the W&B manifest: stray.txt"):
        import_directory(store, root, "models/main/x")
    (root / "stray.txt").unlink()
    os.symlink(root / "config.json", root / "link.json")
    with pytest.raises(InvalidInput, match="symlink"):
        import_directory(store, root, "models/main/x")
    (root / "link.json").unlink()
    (root / "config.json").unlink()
    with pytest.raises(PathNotFound, match="missing from .*: config.json"):
        import_directory(store, root, "models/main/x")
    assert head(store) == before


@pytest.mark.parametrize(("doc", "error", "match"), [
    ({"version": 2, "contents": {}}, InvalidInput, "version"),
    ({"version": 1}, InvalidInput, "contents"),
    ({"version": 1, "contents": {}}, InvalidInput, "lists no files"),
    ({"version": 1, "contents": {"../evil": {"digest": "x"}}}, InvalidPath, "evil"),
    ({"version": 1, "contents": {"/abs": {"digest": "x"}}}, InvalidPath, "abs"),
    ({"version": 1, "contents": {"a": {"size": 1}}}, InvalidInput, "digest"),
    ({"version": 1, "contents": {"a": {"digest": "x", "size": -1}}}, InvalidInput, "size"),
    ([1, 2], InvalidInput, "JSON object"),
])
def test_bad_manifests(store: Any, tmp_path: Path, doc: Any, error: type[Exception],
                       match: str) -> None:
    root = tmp_path / "art"
    root.mkdir()
    (root / "a").write_bytes(b"x")
    (root / MANIFEST_NAME).write_text(json.dumps(doc))
    before = head(store)
    with pytest.raises(error, match=match):
        import_directory(store, root, "models/main/x")
    assert head(store) == before


def test_manifest_file_problems(store: Any, tmp_path: Path) -> None:
    root = tmp_path / "art"
    root.mkdir()
    (root / "a").write_bytes(b"x")
    with pytest.raises(PathNotFound, match="no W&B manifest"):
        import_directory(store, root, "models/main/x")
    (root / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(InvalidInput, match="not JSON"):
        import_directory(store, root, "models/main/x")
    with pytest.raises(PathNotFound, match="no such directory"):
        import_directory(store, tmp_path / "nope", "models/main/x")


def test_a_digest_that_is_not_the_manifests_is_refused(store: Any, tmp_path: Path) -> None:
    art = offline_artifact(tmp_path, BERT)
    root = download_layout(art, tmp_path / "trained:v0")
    with pytest.raises(InvalidInput, match="wrong manifest"):
        import_directory(store, root, "models/main/x",
                         artifact=ArtifactInfo(name="trained", digest="0" * 32))


@pytest.mark.parametrize(("dest", "error"), [
    ("nosuch/main/x", RepoNotFound),
    ("models/nosuch/x", RefNotFound),
    ("models/main/data/train.csv", InvalidInput),  # a file where the directory goes
    ("models/main/../x", InvalidPath),
    ("BAD REPO", InvalidName),
    ("", InvalidInput),
])
def test_bad_destinations(store: Any, tmp_path: Path, dest: str, error: type[Exception]
                          ) -> None:
    art = offline_artifact(tmp_path, BERT)
    root = download_layout(art, tmp_path / "trained:v0")
    before = head(store)
    with pytest.raises(error):
        import_directory(store, root, dest)
    assert head(store) == before


def test_destination_mirrors_the_artifact_unless_keep(store: Any, tmp_path: Path) -> None:
    repo = store.repo("models")
    repo.put_bytes(b"old", "dest/old.txt", message="old file")
    art = offline_artifact(tmp_path, {"new.txt": b"new"})
    root = download_layout(art, tmp_path / "trained:v0")
    kept = import_directory(store, root, "models/main/dest", replace=False)
    assert tree(store, "models", "main", "dest") == {"old.txt": b"old", "new.txt": b"new"}
    assert kept.removed == []
    mirrored = import_directory(store, root, "blacklake://models/main/dest",
                                message="mirror it")
    assert mirrored.removed == ["dest/old.txt"]
    assert tree(store, "models", "main", "dest") == {"new.txt": b"new"}
    again = import_directory(store, root, "models/main/dest")
    assert not again.created and again.commit == mirrored.commit


def test_xxh128_artifacts_verify(store: Any, tmp_path: Path) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        art = offline_artifact(tmp_path, BERT, name="fast", digest_algorithm="XXH128")
    manifest = Manifest.from_json(art.manifest.to_manifest_json())
    assert manifest.algorithm == "XXH128"
    assert manifest.digest() == art.manifest.digest() == art.digest
    root = download_layout(art, tmp_path / "fast:v0")
    result = import_directory(store, root, "models/main/fast")
    assert result.digest == art.digest
    (root / "config.json").write_bytes(b"{}")
    with pytest.raises(InvalidInput, match="config.json"):
        import_directory(store, root, "models/main/fast2")


def _reference_dir(tmp_path: Path, digest: str, data: bytes) -> Path:
    root = tmp_path / "refs:v0"
    root.mkdir(parents=True)
    (root / "remote.bin").write_bytes(data)
    doc = {"version": 1, "storagePolicy": "wandb-storage-policy-v1",
           "contents": {"remote.bin": {"digest": digest, "ref": "https://example.invalid/x",
                                       "size": len(data), "extra": {"etag": f'"{digest}"'}}}}
    (root / MANIFEST_NAME).write_text(json.dumps(doc))
    return root


def test_reference_etags(store: Any, tmp_path: Path) -> None:
    data = b"remote bytes"
    # hex MD5 ETag (S3 and most servers): verified
    ok = import_directory(store, _reference_dir(tmp_path / "a", hashlib.md5(data).hexdigest(),
                                                data), "models/main/r1")
    assert ok.unverified == []
    # hex MD5 that does not match: refused
    with pytest.raises(InvalidInput, match="remote.bin"):
        import_directory(store, _reference_dir(tmp_path / "b", "0" * 32, data),
                         "models/main/r2")
    # an opaque ETag cannot be checked: refused unless allowed, then reported
    opaque = _reference_dir(tmp_path / "c", "W/some-version-tag", data)
    with pytest.raises(InvalidInput, match="opaque ETag"):
        import_directory(store, opaque, "models/main/r3")
    allowed = import_directory(store, opaque, "models/main/r3",
                               allow_unverified_references=True)
    assert allowed.unverified == ["remote.bin"]
    # base64 MD5 ETag (this gateway, GCS): verified
    b64 = base64.b64encode(hashlib.md5(data).digest()).decode()
    assert import_directory(store, _reference_dir(tmp_path / "d", b64, data),
                            "models/main/r4").unverified == []


# -- through the W&B public API (faked: it needs a server) ---------------------------------
def test_import_artifact_through_the_api(store: Any, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import wandb

    real = offline_artifact(tmp_path, BERT, name="bert")
    api = FakeApi({"team/proj/bert:v3": real})
    monkeypatch.setattr(wandb, "Api", lambda *a, **k: api)
    result = import_artifact(store, "team/proj/bert:v3", "models/main/api-bert")
    assert api.asked == ["team/proj/bert:v3"]
    assert tree(store, "models", "main", "api-bert") == BERT
    info = result.artifact
    assert (info.name, info.version, info.entity, info.project) == ("bert", "v3", "team",
                                                                     "proj")
    meta = store.repo("models").log("main", limit=1)[0].meta
    assert meta["wandb.artifact"] == "team/proj/bert:v3"
    assert meta["wandb.run"] == "run42abc" and meta["wandb.run_name"] == "brisk-sun-7"
    assert meta["wandb.digest"] == real.digest
    g = store.lineage.graph("run:wandb:run42abc", depth=2, direction="down")
    kinds = {(e["source"], e["target"], e["kind"]) for e in g["edges"]}
    key = artifact_key("bert", real.digest)
    assert ("run:wandb:run42abc", key, "produced") in kinds
    assert (key, result.uri, "derived_from") in kinds
    nodes = {n["id"]: n for n in g["nodes"]}
    assert nodes[key]["label"] == "bert:v3"
    assert nodes["run:wandb:run42abc"]["label"] == "brisk-sun-7"


def test_import_artifact_errors(store: Any, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    import wandb

    api = FakeApi({})
    with pytest.raises(NotFound, match="could not be fetched"):
        import_artifact(store, "team/proj/nope:v1", "models/main/x", api=api)

    def no_server(*_a: Any, **_k: Any) -> Any:
        raise wandb.errors.UsageError("api_key not configured (no-tty)")

    monkeypatch.setattr(wandb, "Api", no_server)
    with pytest.raises(NotFound, match="cannot reach the W&B API"):
        import_artifact(store, "team/proj/nope:v1", "models/main/x")


def test_a_partially_copied_directory_is_not_trusted(store: Any, tmp_path: Path) -> None:
    """A download interrupted mid-file: the size check fails, nothing lands."""
    art = offline_artifact(tmp_path, BERT)
    root = download_layout(art, tmp_path / "trained:v0")
    with open(root / "model.safetensors", "r+b") as f:
        f.truncate(1000)
    shutil.copy(root / "config.json", tmp_path / "keep.json")
    before = head(store)
    with pytest.raises(InvalidInput, match="model.safetensors"):
        import_directory(store, root, "models/main/x")
    assert head(store) == before
