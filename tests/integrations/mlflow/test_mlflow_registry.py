"""Registry sync: ``register_model`` (pinned ``blacklake://`` source, checked to exist) and
``import_registry`` (versions -> tags, aliases -> aliases), from Python and the CLI."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pytest
from test_cli import BL

from blacklake_ml.errors import InvalidInput, InvalidURI, NotFound, PathNotFound, RepoNotFound
from blacklake_ml.integrations.mlflow import import_registry, register_model
from blacklake_ml.integrations.mlflow.registry import version_tag


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def log_sklearn(name: str = "clf") -> tuple[Any, Any, Any]:
    from sklearn.linear_model import LogisticRegression

    x = np.random.default_rng(1).random((40, 2))
    model = LogisticRegression().fit(x, (x[:, 0] > 0.5).astype(int))
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(model, name=name, pip_requirements=["scikit-learn"])
    return info, run, (model, x)


def test_register_pins_the_source_and_loads(store: Any, experiment: str) -> None:
    info, run, (model, x) = log_sklearn()
    uri = f"blacklake://models/main/mlflow/models/{info.model_id}/artifacts"
    name = unique("iris")
    doc = register_model(store, uri, name)
    commit = store.repo("models").branch_head("main")
    assert doc["version"] == "1"
    assert doc["source"] == f"blacklake://models/{commit}/mlflow/models/{info.model_id}/artifacts"
    assert (doc["commit"], doc["repo"], doc["run_id"], doc["model_id"]) == \
        (commit, "models", run.info.run_id, info.model_id)
    mv = mlflow.MlflowClient().get_model_version(name, "1")
    assert mv.source == doc["source"] and mv.run_id == run.info.run_id
    assert mv.tags["blacklake.commit"] == commit
    assert mv.tags["blacklake.path"] == f"mlflow/models/{info.model_id}/artifacts"
    assert mv.tags["blacklake.repo"] == "models" and mv.tags["blacklake.uri"] == uri
    # the registry source loads (MLflow resolves models:/NAME/1 to the pinned blacklake URI)
    assert (mlflow.pyfunc.load_model(f"models:/{name}/1").predict(x) == model.predict(x)).all()
    # a second registration is version 2; lineage: stored model --derived_from--> versions
    assert register_model(store, uri, name)["version"] == "2"
    g = store.lineage.graph(uri, depth=1, direction="down")
    derived = {e["target"] for e in g["edges"] if e["kind"] == "derived_from"}
    assert derived == {f"models:/{name}/1", f"models:/{name}/2"}


def test_register_refuses_what_does_not_exist(store: Any, tracking: str) -> None:
    client = mlflow.MlflowClient()
    name = unique("ghost")
    for uri, error in [("blacklake://models/main/no/such/model", PathNotFound),
                       ("blacklake://nope/main/model", RepoNotFound),
                       ("blacklake://models/no-branch/model", NotFound),
                       ("s3://bucket/model", InvalidURI),
                       ("blacklake://models/main", InvalidInput)]:
        with pytest.raises(error):
            register_model(store, uri, name)
    with pytest.raises(InvalidInput):
        register_model(store, "blacklake://data/main/train.csv", "  ")
    # nothing was created in the registry
    assert client.search_registered_models(filter_string=f"name='{name}'") == []


def test_import_versions_and_aliases(store: Any, experiment: str, tmp_path: Path) -> None:
    client = mlflow.MlflowClient()
    name = unique("churn")
    # v1, v2: registered from BlackLake; v3: an ordinary MLflow model on local disk;
    # v4: a BlackLake model in another repository
    info1, _, _ = log_sklearn()
    uri1 = f"blacklake://models/main/mlflow/models/{info1.model_id}/artifacts"
    register_model(store, uri1, name)
    info2, _, _ = log_sklearn()
    register_model(store, f"blacklake://models/main/mlflow/models/{info2.model_id}/artifacts",
                   name)
    local_exp = mlflow.create_experiment(unique("local"),
                                         artifact_location=(tmp_path / "art").as_uri())
    with mlflow.start_run(experiment_id=local_exp):
        from sklearn.dummy import DummyClassifier

        info3 = mlflow.sklearn.log_model(DummyClassifier().fit([[0], [1]], [0, 1]),
                                         name="dummy", pip_requirements=["scikit-learn"])
    mlflow.register_model(info3.model_uri, name)
    other = store.create_repo("elsewhere")
    other.put_bytes(b"onnx bytes", "model.onnx", message="an ONNX model")
    register_model(store, "blacklake://elsewhere/main/model.onnx", name)
    client.set_registered_model_alias(name, "champion", "1")
    client.set_registered_model_alias(name, "challenger", "3")

    doc = import_registry(store, name, "models")
    by_version = {v["version"]: v for v in doc["versions"]}
    assert [by_version[v]["action"] for v in "1234"] == ["mapped", "mapped", "imported",
                                                        "copied"]
    repo = store.repo("models")
    tags = {t.name: t.commit for t in repo.tags()}
    for v in "1234":
        assert tags[version_tag(name, v)] == by_version[v]["commit"]
    # v1 maps to the very commit its source was pinned to
    assert by_version["1"]["commit"] == client.get_model_version(name, "1").tags[
        "blacklake.commit"]
    # v3 was downloaded through MLflow: the same files, committed with provenance
    v3 = repo.log(by_version["3"]["commit"], limit=1)[0]
    assert v3.meta["mlflow.registered_model"] == name and v3.meta["mlflow.version"] == "3"
    dest = by_version["3"]["uri"].split("/", 4)[-1]
    listed = {e["path"].rsplit("/", 1)[-1] for e in repo.ls(v3.id, dest)}
    assert {"MLmodel", "model.skops"} <= listed or {"MLmodel", "model.pkl"} <= listed
    assert repo.read_bytes(by_version["4"]["commit"], "mlflow/" + dest.split("/")[1]
                           + "/v4/model.onnx") == b"onnx bytes"
    aliases = {a.name: a.commit for a in repo.lifecycle.aliases()}
    assert aliases == {"champion": by_version["1"]["commit"],
                       "challenger": by_version["3"]["commit"]}
    # lineage of the imported copy: models:/NAME/3 --derived_from--> stored copy
    g = store.lineage.graph(f"models:/{name}/3", depth=1)
    assert {(e["source"], e["kind"]) for e in g["edges"]} == {(f"models:/{name}/3",
                                                               "derived_from")}

    # re-import: nothing new; a moved alias moves (recorded in its history)
    client.set_registered_model_alias(name, "champion", "2")
    again = import_registry(store, name, "models")
    assert {v["action"] for v in again["versions"]} == {"exists"}
    moved = {a["alias"]: a["moved"] for a in again["aliases"]}
    assert moved == {"champion": True, "challenger": False}
    champion = {a.name: a.commit for a in repo.lifecycle.aliases()}["champion"]
    assert champion == by_version["2"]["commit"]
    assert len(repo.lifecycle.alias_history("champion")) == 2

    # an alias removed in MLflow goes too, unless someone moved it here since
    client.delete_registered_model_alias(name, "challenger")
    client.delete_registered_model_alias(name, "champion")
    repo.lifecycle.set_alias("champion", by_version["3"]["commit"], reason="ours now", by="ada")
    third = import_registry(store, name, "models")
    assert [(a["alias"], a.get("removed")) for a in third["aliases"]] == [("challenger", True)]
    assert {a.name for a in repo.lifecycle.aliases()} == {"champion"}
    assert repo.lifecycle.alias_history("challenger")[0].action == "delete"


def test_import_errors_change_nothing(store: Any, tracking: str) -> None:
    before = [(t.name, t.commit) for t in store.repo("models").tags()]
    with pytest.raises(NotFound):
        import_registry(store, unique("missing"), "models")
    with pytest.raises(RepoNotFound):
        import_registry(store, unique("missing"), "nope")
    assert [(t.name, t.commit) for t in store.repo("models").tags()] == before


# -- CLI ----------------------------------------------------------------------------------
def test_cli_register_and_import(store: Any, experiment: str, home: Path, tmp_path: Path,
                                 tracking: str) -> None:
    info, _, _ = log_sklearn()
    uri = f"blacklake://models/main/mlflow/models/{info.model_id}/artifacts"
    bl = BL(home, tmp_path)
    name = unique("cli")
    doc = bl.json("mlflow", "register", uri, name, "--tracking-uri", tracking)
    assert doc["version"] == "1" and doc["source"].startswith("blacklake://models/")
    human = bl.ok("mlflow", "register", uri, name, "--tracking-uri", tracking)
    assert human.stdout.startswith(f"registered {name} version 2 from blacklake://")
    mlflow.MlflowClient().set_registered_model_alias(name, "prod", "2")
    out = bl.json("mlflow", "import", name, "models", "--tracking-uri", tracking)
    assert [v["action"] for v in out["versions"]] == ["mapped", "mapped"]
    assert out["aliases"] == [{"alias": "prod", "version": "2", "commit": doc["commit"],
                               "moved": True}]
    # bad input: one line, the error's exit code, nothing changed
    bl.fail("mlflow", "register", "blacklake://models/main/nothing/here", name,
            "--tracking-uri", tracking, code=3)
    bl.fail("mlflow", "register", "not-a-uri", name, "--tracking-uri", tracking, code=2)
    bl.fail("mlflow", "import", unique("nope"), "models", "--tracking-uri", tracking, code=3)
    bl.fail("mlflow", "import", name, "Bad_Repo", "--tracking-uri", tracking, code=2)
    versions = mlflow.MlflowClient().search_model_versions(f"name='{name}'")
    assert sorted(str(v.version) for v in versions) == ["1", "2"]
    assert json.loads(bl.ok("mlflow", "import", name, "models", "--json",
                            "--tracking-uri", tracking).stdout)["versions"][0]["action"] \
        == "exists"
