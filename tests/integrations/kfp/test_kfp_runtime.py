"""The task-side logic of the KFP components, without KFP: resolve/pull/push/search on a real
store, artifact and commit metadata, lineage recording and the one-line task errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from helpers import store_state

from blacklake_ml import Store
from blacklake_ml.errors import (
    InvalidInput,
    InvalidURI,
    PathNotFound,
    RefNotFound,
    RepoNotFound,
)
from blacklake_ml.integrations.kfp import runtime
from blacklake_ml.integrations.kfp.artifacts import commit_metadata
from blacklake_ml.integrations.kfp.lineage import KfpLineage, artifact_uri, check_run_id


def artifact(path: Path, name: str = "model", metadata: dict[str, Any] | None = None) -> Any:
    """What a KFP artifact looks like to the runtime (name, uri, path, metadata)."""
    return SimpleNamespace(name=name, uri=str(path), path=str(path),
                           metadata=dict(metadata or {}))


def test_resolve_pins_file_and_directory(home: Path) -> None:
    with Store.open(home) as store:
        head = store.repo("datasets").branch_head("main")
        f = runtime.resolve(store, "blacklake://datasets/main/iris.csv")
        d = runtime.resolve(store, "blacklake://datasets/main/images")
        data = store.repo("datasets").read_bytes("main", "iris.csv")
    assert f.commit == d.commit == head
    assert f.pinned_uri == f"blacklake://datasets/{head}/iris.csv"
    assert f.kind == "file" and f.size == len(data) and f.nfiles == 1
    assert f.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert d.kind == "directory" and d.nfiles == 2 and d.digest == f"blacklake-tree:{d.object_id}"
    meta = f.metadata()
    assert meta["blacklake_uri"] == f.pinned_uri
    assert meta["blacklake_source_uri"] == "blacklake://datasets/main/iris.csv"
    assert meta["blacklake_commit"] == head and meta["blacklake_ref"] == "main"


def test_pull_file_and_directory(home: Path, tmp_path: Path) -> None:
    with Store.open(home) as store:
        runtime.pull(store, "blacklake://datasets/main/iris.csv", tmp_path / "out.csv")
        runtime.pull(store, "blacklake://datasets/main/images", tmp_path / "imgs")
        expected = store.repo("datasets").read_bytes("main", "iris.csv")
    assert (tmp_path / "out.csv").read_bytes() == expected
    assert sorted(p.name for p in (tmp_path / "imgs").iterdir()) == ["a.txt", "b.txt"]
    assert (tmp_path / "imgs" / "b.txt").read_text() == "beta\n"


@pytest.mark.parametrize(("uri", "error"), [
    ("blacklake://nope/main/iris.csv", RepoNotFound),
    ("blacklake://datasets/no-branch/iris.csv", RefNotFound),
    ("blacklake://datasets/main/missing.csv", PathNotFound),
    ("s3://bucket/iris.csv", InvalidURI),
])
def test_pull_bad_uri(home: Path, tmp_path: Path, uri: str, error: type[Exception]) -> None:
    with Store.open(home) as store:
        before = store_state(store)
        with pytest.raises(error):
            runtime.pull(store, uri, tmp_path / "out")
        assert store_state(store) == before
    assert not (tmp_path / "out").exists()


def test_push_file_directory_and_destination_rules(home: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.write_bytes(b"onnx-bytes")
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "w.bin").write_bytes(b"w" * 100)
    with Store.open(home) as store:
        a = runtime.push(store, model, "blacklake://models/main/iris/model.onnx",
                         message="one file", commit_meta={"accuracy": "0.9"},
                         file_meta={"accuracy": "0.9"})
        b = runtime.push(store, model, "blacklake://models/main/iris/",  # trailing /: below
                         message="into a directory")
        c = runtime.push(store, folder, "blacklake://models/main/bundle", message="a dir")
        repo = store.repo("models")
        assert a.path == "iris/model.onnx" and a.kind == "file"
        assert b.path == "iris/model" and b.commit != a.commit
        assert c.path == "bundle" and c.kind == "directory" and c.nfiles == 1
        assert repo.read_bytes(c.commit, "bundle/sub/w.bin") == b"w" * 100
        row = repo.log("main", limit=3)[2]
        assert row.id == a.commit and row.meta["accuracy"] == "0.9"
        assert repo.entry(a.commit, "iris/model.onnx").meta == {"accuracy": "0.9"}
        # the same bytes again: no new commit, the pinned URI is the head's
        again = runtime.push(store, model, "blacklake://models/main/iris/model.onnx",
                             message="unchanged")
        assert again.commit == repo.branch_head("main")


@pytest.mark.parametrize(("uri", "error"), [
    ("blacklake://nope/main/m.onnx", RepoNotFound),
    ("blacklake://models/no-branch/m.onnx", RefNotFound),
    ("blacklake://models/main/../m.onnx", InvalidInput),
])
def test_push_bad_target_changes_nothing(home: Path, tmp_path: Path, uri: str,
                                         error: type[Exception]) -> None:
    (tmp_path / "m").write_bytes(b"x")
    with Store.open(home) as store:
        store.repo("models").create_tag("v1", "main")
        before = store_state(store)
        with pytest.raises(error):
            runtime.push(store, tmp_path / "m", uri, message="m")
        with pytest.raises(RefNotFound, match="not a branch"):
            runtime.push(store, tmp_path / "m", "blacklake://models/v1/m.onnx", message="m")
        with pytest.raises(PathNotFound, match="did the upstream task"):
            runtime.push(store, tmp_path / "absent", "blacklake://models/main/m", message="m")
        (tmp_path / "empty" / "sub").mkdir(parents=True)
        with pytest.raises(InvalidInput, match="holds no files"):
            runtime.push(store, tmp_path / "empty", "blacklake://models/main/m", message="m")
        assert store_state(store) == before


def test_commit_metadata_flattens_kfp_metadata() -> None:
    meta = commit_metadata({"accuracy": 0.9375, "epochs": 3.0, "ok": True, "none": None,
                            "params": {"lr": 0.1}, "blacklake_uri": "blacklake://x/main/y",
                            "a=b": 1, "huge": "x" * 5000, "nan": float("nan")})
    # KFP hands ints back as floats: 3.0 is stored as the int it was
    assert meta == {"accuracy": "0.9375", "epochs": "3", "ok": "true",
                    "params": '{"lr": 0.1}'}


def test_check_run_id_refuses_placeholders_and_empty() -> None:
    assert check_run_id(" 1234 ") == "1234"
    with pytest.raises(InvalidInput, match="PIPELINE_JOB_ID_PLACEHOLDER"):
        check_run_id("{{$.pipeline_job_uuid}}")
    with pytest.raises(InvalidInput, match="empty"):
        check_run_id("")


def test_artifact_uri_makes_local_paths_file_uris(tmp_path: Path) -> None:
    assert artifact_uri(str(tmp_path / "a")) == (tmp_path / "a").as_uri()
    assert artifact_uri("minio://mlpipeline/v2/artifacts/x") == "minio://mlpipeline/v2/artifacts/x"


def test_lineage_records_task_under_pipeline_run(home: Path, tmp_path: Path) -> None:
    with Store.open(home) as store:
        lineage = KfpLineage(store, "run-42", "train", job_name="{{$.pipeline_job_name}}")
        assert lineage.job_name is None  # an unsubstituted placeholder is not a name
        added = lineage.record(inputs=["blacklake://datasets/main/iris.csv"],
                               outputs=[str(tmp_path / "model")])
        assert added == 3  # dataset -> task, dataset -> run, task -> artifact
        assert lineage.record(inputs=["blacklake://datasets/main/iris.csv"],
                              outputs=[str(tmp_path / "model")]) == 0  # idempotent
        g = store.lineage.graph("run:kfp:run-42/train", depth=1)
        with pytest.raises(InvalidInput, match="nothing to record"):
            lineage.record()
    nodes = {n["id"]: n for n in g["nodes"]}
    task = nodes["run:kfp:run-42/train"]
    assert task["facets"]["type"] == "task"
    assert task["facets"]["pipeline_run"] == "run:kfp:run-42"
    assert nodes[(tmp_path / "model").as_uri()]["kind"] == "artifact"
    kinds = {(e["source"].split("/")[0], e["kind"]) for e in g["edges"]}
    assert ("blacklake:", "consumed") in kinds and ("run:kfp:run-42", "produced") in kinds


def test_task_entry_points_fail_with_one_line(home: Path, tmp_path: Path) -> None:
    out = artifact(tmp_path / "dataset", "dataset")
    with pytest.raises(SystemExit) as exc:
        runtime.task_pull("blacklake://datasets/main/missing.csv", out, home=str(home),
                          run_id="7", task="pull-dataset")
    message = str(exc.value.code)
    assert message.startswith("blacklake: PathNotFound: blacklake://datasets/main/missing.csv "
                              "does not exist (no 'missing.csv' in datasets at main, commit ")
    assert "\n" not in message
    with pytest.raises(SystemExit, match="blacklake: InvalidInput: .*was not filled in"):
        runtime.task_pull("blacklake://datasets/main/iris.csv", out, home=str(home),
                          run_id="{{$.pipeline_job_uuid}}", task="pull-dataset")
    with pytest.raises(SystemExit, match="blacklake: NotFound: no model or dataset matches"):
        runtime.task_search("zebra quantum", home=str(home), k=3, repo="", filters=[],
                            mode="bm25", require_hit=True)
    with Store.open(home) as store:
        assert store.lineage.stats()["edges"] == 0  # nothing was recorded by failed tasks


def test_task_push_metadata_and_output(home: Path, tmp_path: Path) -> None:
    (tmp_path / "onnx").write_bytes(b"model-bytes")
    src = artifact(tmp_path / "onnx", "onnx_model", {"accuracy": 0.75, "n_test": 38.0})
    out = artifact(tmp_path / "pushed", "pushed")
    pinned, commit = runtime.task_push(
        src, "blacklake://models/main/m.onnx", out, home=str(home), run_id="123",
        task="push-model", job_name="train-classifier-xyz", metadata={"stage": "candidate"})
    assert pinned == f"blacklake://models/{commit}/m.onnx"
    assert out.uri == str(tmp_path / "pushed")  # stays in KFP's storage by default
    pointer = json.loads((tmp_path / "pushed").read_text())
    assert pointer["blacklake_uri"] == pinned and pointer["kfp_run_id"] == "123"
    assert out.metadata["blacklake_commit"] == commit and out.metadata["accuracy"] == "0.75"
    with Store.open(home) as store:
        row = store.repo("models").log("main", limit=1)[0]
    assert row.id == commit
    assert row.meta == {"accuracy": "0.75", "n_test": "38", "stage": "candidate",
                        "kfp_run_id": "123", "kfp_task": "push-model",
                        "kfp_job": "train-classifier-xyz",
                        "kfp_artifact": (tmp_path / "onnx").as_uri()}
    assert row.message == "KFP run 123: push-model"
    # repoint_uri: the output artifact becomes the pinned URI, nothing is written locally
    (tmp_path / "onnx").write_bytes(b"model-bytes v2")
    out2 = artifact(tmp_path / "pushed2", "pushed")
    pinned2, _ = runtime.task_push(src, "blacklake://models/main/m.onnx", out2, home=str(home),
                                   run_id="124", task="push-model", repoint_uri=True)
    assert out2.uri == pinned2 != pinned and not (tmp_path / "pushed2").exists()


def test_search_needs_a_query_and_known_mode(home: Path) -> None:
    with Store.open(home) as store:
        with pytest.raises(InvalidInput, match="empty"):
            runtime.search(store, "  ")
        with pytest.raises(InvalidInput, match="unknown search mode"):
            runtime.search(store, "iris", mode="fuzzy")
        assert runtime.search(store, "iris", mode="bm25") == [
            "blacklake://datasets/main/iris.csv"]
