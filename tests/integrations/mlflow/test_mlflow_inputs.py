"""What runs read: the ``blacklake.inputs`` run tag (run-context provider), the
``blacklake://`` dataset source, ``use`` / ``log_input``, and the lineage
``dataset --consumed--> run --produced--> model`` they record."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
from conftest import TRAIN_CSV
from mlflow.data.dataset_source_registry import get_dataset_source_from_json
from mlflow.exceptions import MlflowException

import blacklake_ml.integrations.mlflow as blm
from blacklake_ml.errors import InvalidURI, PathNotFound, RepoNotFound
from blacklake_ml.integrations.mlflow.datasets import BlackLakeDatasetSource

SHA = hashlib.sha256(TRAIN_CSV).hexdigest()


def pinned(store: Any, path: str = "train.csv", repo: str = "data") -> str:
    return f"blacklake://{repo}/{store.repo(repo).branch_head('main')}/{path}"


def tags_of(run_id: str) -> dict[str, str]:
    return dict(mlflow.get_run(run_id).data.tags)


def edges(store: Any, start: str, depth: int = 1, direction: str = "both") -> set[tuple]:
    g = store.lineage.graph(start, depth=depth, direction=direction)  # type: ignore[arg-type]
    return {(e["source"], e["kind"], e["target"]) for e in g["edges"]}


def test_reads_before_a_run_tag_it_and_become_its_inputs(store: Any, experiment: str,
                                                         tmp_path: Path) -> None:
    uri = blm.use("blacklake://data/main/train.csv")
    assert uri == pinned(store)
    with mlflow.start_run() as run:
        pass
    tags = tags_of(run.info.run_id)
    assert json.loads(tags["blacklake.inputs"]) == [uri]
    assert tags["blacklake.inputs.count"] == "1"
    # the data moves on: the run still names the commit it read
    store.repo("data").put_bytes(b"x1,x2,y\n", "train.csv", message="new data")
    assert uri != pinned(store)
    # lineage is recorded when the run next touches BlackLake (or on sync_run)
    rid = run.info.run_id
    assert ((uri, "consumed", f"run:mlflow:{rid}")
            not in _safe_edges(store, f"run:mlflow:{rid}"))
    assert blm.sync_run(rid) == [uri]
    assert (uri, "consumed", f"run:mlflow:{rid}") in edges(store, f"run:mlflow:{rid}")
    # a later run of the same process is tagged too, until the reads are cleared
    with mlflow.start_run() as second:
        pass
    assert json.loads(tags_of(second.info.run_id)["blacklake.inputs"]) == [uri]
    blm.clear_inputs()
    with mlflow.start_run() as third:
        pass
    assert "blacklake.inputs" not in tags_of(third.info.run_id)


def _safe_edges(store: Any, key: str) -> set[tuple]:
    try:
        return edges(store, key)
    except Exception:  # noqa: BLE001 - the run node may not exist yet
        return set()


def test_reads_during_a_run_update_its_tag_and_lineage_at_once(store: Any,
                                                               experiment: str) -> None:
    store.repo("data").put_bytes(b"labels", "labels.txt", message="labels")
    with mlflow.start_run() as run:
        a = blm.use("blacklake://data/main/train.csv")
        b = blm.use("blacklake://data/main/labels.txt")
        rid = run.info.run_id
        assert json.loads(tags_of(rid)["blacklake.inputs"]) == [a, b]
        got = edges(store, f"run:mlflow:{rid}")
        assert {(a, "consumed", f"run:mlflow:{rid}"),
                (b, "consumed", f"run:mlflow:{rid}")} <= got
    # reads inside the run are that run's, not the next one's
    with mlflow.start_run() as other:
        pass
    assert "blacklake.inputs" not in tags_of(other.info.run_id)


def test_dataset_source_pins_and_lineage_reaches_the_model(store: Any, experiment: str) -> None:
    from sklearn.linear_model import LogisticRegression

    uri = "blacklake://data/main/train.csv"
    with mlflow.start_run() as run:
        df = pd.read_csv(store.open_uri(uri))
        ds = mlflow.data.from_pandas(df, source=uri, targets="y", name="train")
        assert isinstance(ds.source, BlackLakeDatasetSource)
        src = ds.source.to_dict()
        assert src["uri"] == pinned(store)
        assert src["commit"] == store.repo("data").branch_head("main")
        assert (src["sha256"], src["size"], src["kind"]) == (SHA, len(TRAIN_CSV), "file")
        assert src["requested_uri"] == uri
        mlflow.log_input(ds, context="training")
        model = LogisticRegression().fit(df[["x1", "x2"]], df["y"])
        info = mlflow.sklearn.log_model(model, name="clf", pip_requirements=["scikit-learn"])
    rid = run.info.run_id
    logged = mlflow.get_run(rid).inputs.dataset_inputs
    assert [d.dataset.source_type for d in logged] == ["blacklake"]
    # MLflow parses the stored source back into ours
    back = get_dataset_source_from_json(logged[0].dataset.source, "blacklake")
    assert isinstance(back, BlackLakeDatasetSource) and back.uri == pinned(store)
    assert back.sha256 == SHA
    # dataset --consumed--> run --produced--> model, seen from the dataset
    model_dir = f"mlflow/models/{info.model_id}/artifacts"
    g = store.lineage.graph(uri, depth=2, direction="down")
    kinds = {(e["kind"], e["target"].split("/", 4)[-1] if e["target"].startswith(
        "blacklake://") else e["target"]) for e in g["edges"]}
    assert ("consumed", f"run:mlflow:{rid}") in kinds
    assert ("produced", model_dir) in kinds
    up = store.lineage.graph(f"blacklake://models/main/{model_dir}", depth=2, direction="up")
    assert any(n["id"] == pinned(store) for n in up["nodes"])


def test_log_input_helper_loads_logs_and_records(store: Any, experiment: str,
                                                 tmp_path: Path) -> None:
    store.repo("data").put_bytes(b"\x00weights", "emb/vectors.bin", message="vectors")
    with mlflow.start_run() as run:
        ds = blm.log_input("blacklake://data/main/train.csv", context="training", targets="y")
        meta = blm.log_input("blacklake://data/main/emb", context="features")
    assert ds.digest == SHA[:32]
    assert list(ds.df.columns) == ["x1", "x2", "y"] and len(ds.df) == 6
    assert type(meta).__name__ == "MetaDataset"
    assert meta.source.to_dict()["kind"] == "directory"
    rid = run.info.run_id
    logged = {d.dataset.name: d for d in mlflow.get_run(rid).inputs.dataset_inputs}
    assert set(logged) == {"train.csv", "emb"}
    got = edges(store, f"run:mlflow:{rid}")
    assert (pinned(store), "consumed", f"run:mlflow:{rid}") in got
    assert (pinned(store, "emb"), "consumed", f"run:mlflow:{rid}") in got
    assert set(json.loads(tags_of(rid)["blacklake.inputs"])) == {pinned(store),
                                                                   pinned(store, "emb")}
    # the source loads the pinned bytes
    out = ds.source.load(str(tmp_path / "dl"))
    assert Path(out).read_bytes() == TRAIN_CSV


def test_loading_another_runs_model_is_an_input(store: Any, experiment: str) -> None:
    from sklearn.dummy import DummyClassifier

    with mlflow.start_run() as producer:
        info = mlflow.sklearn.log_model(DummyClassifier().fit([[0], [1]], [0, 1]), name="m",
                                        pip_requirements=["scikit-learn"])
        mlflow.pyfunc.load_model(info.model_uri)  # its own model: not an input
    assert "blacklake.inputs" not in tags_of(producer.info.run_id)
    location = mlflow.get_logged_model(info.model_id).artifact_location
    with mlflow.start_run() as consumer:
        mlflow.pyfunc.load_model(location)
    (read,) = json.loads(tags_of(consumer.info.run_id)["blacklake.inputs"])
    assert read.endswith(f"/mlflow/models/{info.model_id}/artifacts")
    model_node = read
    assert (model_node, "consumed", f"run:mlflow:{consumer.info.run_id}") in \
        edges(store, f"run:mlflow:{consumer.info.run_id}")


def test_bad_dataset_uris(store: Any, experiment: str) -> None:
    with pytest.raises(PathNotFound):
        blm.dataset("blacklake://data/main/missing.csv")
    with pytest.raises(RepoNotFound):
        blm.use("blacklake://nope/main/x.csv")
    with pytest.raises(InvalidURI):
        blm.use("s3://bucket/x.csv")
    with pytest.raises(InvalidURI):
        blm.dataset("blacklake://data")
    # through MLflow's resolver: MLflow reports our error as the reason it could not resolve
    with pytest.warns(UserWarning, match="missing.csv"), pytest.raises(MlflowException):
        mlflow.data.from_pandas(pd.DataFrame({"a": [1]}),
                                source="blacklake://data/main/missing.csv")
    with mlflow.start_run() as run, pytest.raises(PathNotFound):
        blm.log_input("blacklake://data/main/missing.csv")
    assert mlflow.get_run(run.info.run_id).inputs.dataset_inputs == []
    from blacklake_ml.integrations.mlflow import inputs

    assert inputs.ambient() == []  # failed reads are not inputs
