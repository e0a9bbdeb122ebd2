"""The ``blacklake://`` artifact repository with real MLflow (sqlite tracking store).

Each logging call is one commit carrying the run id; a directory (and so a logged model) is
one commit; reads are listed relative to the artifact URI and downloads are thread-safe and
byte-identical; bad URIs and artifact paths fail with one clear error and change nothing.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pytest
from conftest import ARTIFACT_ROOT
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

from blacklake_ml.errors import (
    InvalidInput,
    InvalidPath,
    InvalidURI,
    PathNotFound,
    RefNotFound,
    RepoNotFound,
)
from blacklake_ml.integrations.mlflow import batch
from blacklake_ml.integrations.mlflow.artifacts import BlackLakeArtifactRepository


def head(store: Any, repo: str = "models") -> str:
    return store.repo(repo).branch_head("main")


def commits_since(store: Any, before: str, repo: str = "models") -> list[Any]:
    out = []
    for row in store.repo(repo).log("main"):
        if row.id == before:
            return out
        out.append(row)
    raise AssertionError("old head is not in the history")


def make_dir(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def train() -> tuple[Any, Any]:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.random((60, 3))
    y = (x[:, 0] + x[:, 1] > 1).astype(int)
    return LogisticRegression().fit(x, y), x


# -- writing ----------------------------------------------------------------------------------
def test_log_artifact_is_one_commit_with_the_run_id(store: Any, experiment: str,
                                                    tmp_path: Path) -> None:
    f = tmp_path / "notes.txt"
    f.write_text("hello")
    before = head(store)
    with mlflow.start_run(run_name="first") as run:
        mlflow.log_artifact(str(f), "docs")
    rid = run.info.run_id
    new = commits_since(store, before)
    assert len(new) == 1
    meta = new[0].meta
    assert meta["mlflow.run_id"] == rid
    assert meta["mlflow.experiment_id"] == experiment
    assert meta["mlflow.operation"] == "log_artifact"
    assert meta["mlflow.artifact_path"] == "docs/notes.txt"
    path = f"mlflow/{rid}/artifacts/docs/notes.txt"
    assert store.repo("models").read_bytes("main", path) == b"hello"
    # lineage: run --produced--> the file pinned to that commit
    g = store.lineage.graph(f"run:mlflow:{rid}", depth=1)
    produced = [e["target"] for e in g["edges"] if e["kind"] == "produced"]
    assert produced == [f"blacklake://models/{new[0].id}/{path}"]
    run_node = next(n for n in g["nodes"] if n["id"] == f"run:mlflow:{rid}")
    assert run_node["label"] == "first"
    assert run_node["facets"]["experiment_id"] == experiment


def test_log_artifacts_of_a_directory_is_one_commit(store: Any, experiment: str,
                                                    tmp_path: Path) -> None:
    files = {f"f{i}.txt": f"file {i}".encode() for i in range(6)}
    files.update({"sub/deeper/x.bin": os.urandom(300_000), "sub/y.json": b"{}"})
    src = make_dir(tmp_path / "out", files)
    before = head(store)
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(src), "results")
    new = commits_since(store, before)
    assert len(new) == 1  # 8 files, one commit
    assert new[0].meta["mlflow.run_id"] == run.info.run_id
    assert new[0].meta["mlflow.operation"] == "log_artifacts"
    base = f"mlflow/{run.info.run_id}/artifacts/results"
    stored = {e["path"][len(base) + 1:] for e in
              store.repo("models").ls("main", base, recursive=True)}
    assert stored == set(files)
    # listing through MLflow: paths relative to the run's artifact URI
    client = mlflow.MlflowClient()
    top = client.list_artifacts(run.info.run_id)
    assert [(a.path, a.is_dir) for a in top] == [("results", True)]
    listed = {(a.path, a.is_dir, a.file_size)
              for a in client.list_artifacts(run.info.run_id, "results")}
    assert ("results/sub", True, None) in listed
    assert ("results/f0.txt", False, 6) in listed
    assert client.list_artifacts(run.info.run_id, "results/f0.txt") == []
    assert client.list_artifacts(run.info.run_id, "results/missing") == []


def test_log_model_is_one_commit_and_loads_back(store: Any, experiment: str,
                                                tmp_path: Path) -> None:
    model, x = train()
    before = head(store)
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(model, name="clf", pip_requirements=["scikit-learn"])
    new = commits_since(store, before)
    assert len(new) == 1, [c.message for c in new]  # the whole model folder, one commit
    meta = new[0].meta
    assert meta["mlflow.model_id"] == info.model_id
    assert meta["mlflow.run_id"] == run.info.run_id
    assert meta["mlflow.experiment_id"] == experiment
    root = f"mlflow/models/{info.model_id}/artifacts"
    names = {e["path"].rsplit("/", 1)[-1] for e in store.repo("models").ls("main", root)}
    assert "MLmodel" in names
    location = mlflow.get_logged_model(info.model_id).artifact_location
    assert location == f"{ARTIFACT_ROOT}/models/{info.model_id}/artifacts"
    expected = model.predict(x)
    # through MLflow's model URI, and straight from the blacklake:// URI
    for uri in (info.model_uri, location):
        assert (mlflow.pyfunc.load_model(uri).predict(x) == expected).all()
    local = mlflow.artifacts.download_artifacts(location, dst_path=str(tmp_path / "dl"))
    for name in names:
        assert Path(local, name).read_bytes() == \
            store.repo("models").read_bytes("main", f"{root}/{name}")
    # lineage: run --produced--> the model directory
    g = store.lineage.graph(f"blacklake://models/main/{root}", depth=1, direction="up")
    runs = [n for n in g["nodes"] if n["kind"] == "run"]
    assert [n["id"] for n in runs] == [f"run:mlflow:{run.info.run_id}"]
    g = store.lineage.graph(f"run:mlflow:{run.info.run_id}", depth=1)
    (out,) = [n for n in g["nodes"] if n["kind"] == "directory"]
    assert out["path"] == root and out["commit"] == new[0].id
    assert out["facets"]["mlflow_model_id"] == info.model_id


def test_delete_artifacts_commits_a_removal(store: Any, experiment: str, tmp_path: Path) -> None:
    src = make_dir(tmp_path / "d", {"a.txt": b"a", "b.txt": b"b"})
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(src), "tmp")
    repo = get_artifact_repository(mlflow.get_run(run.info.run_id).info.artifact_uri)
    logged = head(store)
    repo.delete_artifacts("tmp/a.txt")
    new = commits_since(store, logged)
    assert [c.meta["mlflow.operation"] for c in new] == ["delete_artifacts"]
    assert new[0].meta["mlflow.run_id"] == run.info.run_id
    assert [a.path for a in repo.list_artifacts("tmp")] == ["tmp/b.txt"]
    # history keeps it
    path = f"mlflow/{run.info.run_id}/artifacts/tmp/a.txt"
    assert store.repo("models").read_bytes(logged, path) == b"a"
    again = head(store)
    repo.delete_artifacts("tmp/a.txt")  # already gone: nothing to commit
    assert head(store) == again


def test_batch_folds_many_calls_into_one_commit(store: Any, experiment: str) -> None:
    before = head(store)
    with mlflow.start_run() as run, batch():
        for i in range(12):
            mlflow.log_dict({"epoch": i}, f"reports/{i}.json")
        assert head(store) == before  # staged, not yet published
        mid = mlflow.MlflowClient().list_artifacts(run.info.run_id, "reports")
        assert len(mid) == 12  # a read publishes what is staged first
        for i in range(12, 20):
            mlflow.log_text(f"note {i}", f"notes/{i}.txt")
    new = commits_since(store, before)
    assert len(new) == 2  # the 12 reports (published by the read) and the 8 notes
    assert all(c.meta["mlflow.run_id"] == run.info.run_id for c in new)
    assert new[0].meta["mlflow.calls"] == "8"
    art = f"mlflow/{run.info.run_id}/artifacts"
    assert store.repo("models").read_bytes("main", f"{art}/notes/19.txt") == b"note 19"
    g = store.lineage.graph(f"run:mlflow:{run.info.run_id}", depth=1)
    assert len([e for e in g["edges"] if e["kind"] == "produced"]) == 20


# -- reading ----------------------------------------------------------------------------------
def test_concurrent_downloads_are_byte_identical(store: Any, experiment: str,
                                                 tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    files = {f"part-{i:02d}.bin": rng.bytes(int(rng.integers(1, 600_000)))
             for i in range(24)}
    files["shared/same-1.bin"] = files["shared/same-2.bin"] = rng.bytes(400_000)
    src = make_dir(tmp_path / "data", files)
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(src), "data")
    uri = mlflow.get_run(run.info.run_id).info.artifact_uri
    repo = get_artifact_repository(uri)
    assert isinstance(repo, BlackLakeArtifactRepository)
    digests = {k: hashlib.sha256(v).hexdigest() for k, v in files.items()}

    # MLflow's own thread pool, several whole-directory downloads at once
    def whole(n: int) -> None:
        out = repo.download_artifacts("data", dst_path=str(_mk(tmp_path / f"w{n}")))
        got = {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
               for p in Path(out).rglob("*") if p.is_file()}
        assert got == digests

    # and _download_file hammered directly from many threads on one repository object
    errors: list[BaseException] = []

    def hammer(n: int) -> None:
        try:
            for i, (rel, digest) in enumerate(sorted(digests.items())):
                if (i + n) % 3:
                    continue
                dst = tmp_path / "h" / str(n) / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                repo._download_file(f"data/{rel}", str(dst))
                assert hashlib.sha256(dst.read_bytes()).hexdigest() == digest
            whole(n)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def _mk(p: Path) -> Path:
    p.mkdir(parents=True)
    return p


def test_download_reads_one_commit_while_the_branch_moves(store: Any, experiment: str,
                                                          tmp_path: Path) -> None:
    src = make_dir(tmp_path / "v1", {"a.txt": b"old a", "b.txt": b"old b"})
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(src), "ckpt")
    repo = get_artifact_repository(mlflow.get_run(run.info.run_id).info.artifact_uri)
    assert isinstance(repo, BlackLakeArtifactRepository)
    view = repo._pinned_view()  # what download_artifacts reads through
    (src / "a.txt").write_bytes(b"new a")
    repo.log_artifacts(str(src), "ckpt")
    view._download_file("ckpt/a.txt", str(tmp_path / "pinned.txt"))
    repo._download_file("ckpt/a.txt", str(tmp_path / "head.txt"))
    assert (tmp_path / "pinned.txt").read_bytes() == b"old a"
    assert (tmp_path / "head.txt").read_bytes() == b"new a"


# -- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize("uri, error", [
    ("blacklake://", InvalidURI),
    ("blacklake://models", InvalidURI),
    ("blacklake://Models/main/x", InvalidInput),
    ("blacklake://models/main/../x", InvalidPath),
    ("blacklake://models/main/x?y=1", InvalidURI),
])
def test_bad_artifact_uris_fail_clearly(store: Any, uri: str, error: type) -> None:
    with pytest.raises(error):
        BlackLakeArtifactRepository(uri)


def test_bad_artifact_paths_change_nothing(store: Any, tracking: str, tmp_path: Path) -> None:
    f = tmp_path / "x.txt"
    f.write_text("x")
    repo = BlackLakeArtifactRepository(f"{ARTIFACT_ROOT}/run")
    before = head(store)
    for bad in ("../escape", "a/../../b", "/etc", "a/./b", "a\x00b"):
        with pytest.raises(InvalidPath):
            repo.log_artifact(str(f), bad)
        with pytest.raises(InvalidPath):
            repo.log_artifacts(str(tmp_path), bad)
        with pytest.raises(InvalidPath):
            repo.list_artifacts(bad)
        with pytest.raises(InvalidPath):
            repo._download_file(f"{bad}/x.txt", str(tmp_path / "out.txt"))
    with pytest.raises(InvalidPath):
        BlackLakeArtifactRepository("blacklake://models/main").delete_artifacts()
    with pytest.raises(PathNotFound):
        repo.log_artifact(str(tmp_path / "missing.txt"))
    with pytest.raises(PathNotFound):
        repo.log_artifacts(str(tmp_path / "missing"))
    assert head(store) == before
    assert not (tmp_path / "out.txt").exists()


def test_unknown_repo_and_read_only_refs(store: Any, experiment: str, tmp_path: Path) -> None:
    f = tmp_path / "x.txt"
    f.write_text("x")
    with pytest.raises(RepoNotFound):
        BlackLakeArtifactRepository("blacklake://nope/main/p").log_artifact(str(f))
    with pytest.raises(RepoNotFound):
        BlackLakeArtifactRepository("blacklake://nope/main/p").list_artifacts()
    # a tag or a commit id can be read but not written
    store.repo("models").create_tag("frozen", "main")
    before = head(store)
    for ref in ("frozen", before[:12], "no-such-branch"):
        with pytest.raises(RefNotFound):
            BlackLakeArtifactRepository(f"blacklake://models/{ref}/p").log_artifact(str(f))
    assert BlackLakeArtifactRepository("blacklake://models/frozen").list_artifacts() == []
    assert head(store) == before
    # an experiment pointing at a repository that does not exist: MLflow's call fails
    exp = mlflow.create_experiment(f"nope-{os.getpid()}-{id(f)}",
                                   artifact_location="blacklake://nope/main/mlflow")
    with mlflow.start_run(experiment_id=exp), pytest.raises(RepoNotFound):
        mlflow.log_artifact(str(f))
    assert [r.name for r in store.list_repos()] == ["data", "models"]


def test_use_store_pins_an_open_store(store: Any, tracking: str, tmp_path: Path) -> None:
    from blacklake_ml import Store
    from blacklake_ml.integrations.mlflow import use_store

    other = Store.open(tmp_path / "other-home")
    other.create_repo("models")
    f = tmp_path / "x.txt"
    f.write_text("elsewhere")
    repo = BlackLakeArtifactRepository("blacklake://models/main/p")
    before = head(store)
    with use_store(other):
        repo.log_artifact(str(f))
    assert other.repo("models").read_bytes("main", "p/x.txt") == b"elsewhere"
    assert head(store) == before  # the configured store (BLACKLAKE_HOME) was not touched
    repo.log_artifact(str(f))
    assert store.repo("models").read_bytes("main", "p/x.txt") == b"elsewhere"
    other.close()
