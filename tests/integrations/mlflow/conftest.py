"""Fixtures of the MLflow bridge tests (real MLflow, real sqlite tracking store).

* ``mlflow_db`` (session) — ``sqlite:///…`` of one tracking database migrated once per
  session (a fresh database takes ~5 s to migrate); tests keep apart by experiment;
* ``mlflow_db_file`` (session) — its path, for tests that copy the migrated database;
* ``home`` — ``BLACKLAKE_HOME`` under ``tmp_path`` (the plugins open the store from it);
* ``store`` — that store, with an empty ``models`` repository and a ``data`` repository
  holding ``train.csv``;
* ``tracking`` — MLflow pointed at ``mlflow_db``; no run left active afterwards;
* ``experiment`` — a new experiment whose artifact location is
  ``blacklake://models/main/mlflow``, set as the current one; its id.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mlflow")
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")

ARTIFACT_ROOT = "blacklake://models/main/mlflow"
TRAIN_CSV = b"x1,x2,y\n0.1,1.0,0\n0.9,0.2,1\n0.2,0.8,0\n0.8,0.1,1\n0.3,0.9,0\n0.7,0.3,1\n"


@pytest.fixture(scope="session")
def mlflow_db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()  # runs the migrations
    return path


@pytest.fixture(scope="session")
def mlflow_db(mlflow_db_file: Path) -> str:
    return f"sqlite:///{mlflow_db_file}"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from blacklake_ml.integrations.mlflow import inputs, session

    path = tmp_path / "home"
    monkeypatch.setenv("BLACKLAKE_HOME", str(path))
    monkeypatch.setenv("BLACKLAKE_FSYNC", "0")
    inputs.clear_inputs()
    yield path
    inputs.clear_inputs()
    session.close_stores()


@pytest.fixture
def store(home: Path) -> Iterator[Any]:
    from blacklake_ml import Store

    st = Store.open(home)
    st.create_repo("models")
    st.create_repo("data").put_bytes(TRAIN_CSV, "train.csv", message="training data")
    yield st
    st.close()


@pytest.fixture
def tracking(mlflow_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_db)
    mlflow.set_tracking_uri(mlflow_db)
    yield mlflow_db
    while mlflow.active_run() is not None:
        mlflow.end_run()


@pytest.fixture
def experiment(tracking: str, store: Any) -> str:
    import mlflow

    exp_id = mlflow.create_experiment(f"bl-{uuid.uuid4().hex[:12]}",
                                      artifact_location=ARTIFACT_ROOT)
    mlflow.set_experiment(experiment_id=exp_id)
    return str(exp_id)
