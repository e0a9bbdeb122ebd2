"""Fixtures of the Kubeflow Pipelines bridge tests.

* ``kfp_local`` — ``kfp.local`` initialised with the subprocess runner (tasks run in this
  Python, ``use_venv=False``) and a pipeline root under ``tmp_path``;
* ``home`` — a BlackLake store under ``tmp_path`` with ``datasets`` (``iris.csv`` from
  scikit-learn's bundled copy, ``images/`` a two-file directory) and an empty ``models`` repo;
  the path, since every task opens the store itself;
* ``mlflow_tracking_uri`` — one sqlite tracking store per session (migrating a fresh database
  takes seconds).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# ``pipelines`` (the example pipelines) is a top-level folder of the repository, not part of
# the installed package: make it importable however pytest was started.
ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A seeded store's home directory (see the module docstring)."""
    from blacklake_ml import Store

    home = tmp_path / "home"
    src = tmp_path / "seed"
    (src / "images").mkdir(parents=True)
    from pipelines.train_classifier import write_iris_csv

    write_iris_csv(src / "iris.csv")
    (src / "images" / "a.txt").write_text("alpha\n")
    (src / "images" / "b.txt").write_text("beta\n")
    with Store.open(home) as store:
        data = store.create_repo("datasets", "training data")
        data.put(src / "iris.csv", "iris.csv", message="iris")
        data.put(src / "images", "images", message="images")
        store.create_repo("models", "trained models")
    return home


@pytest.fixture
def kfp_local(tmp_path: Path) -> Iterator[Path]:
    """kfp.local with the subprocess runner; yields the pipeline root."""
    import kfp.local
    from kfp.local import config

    root = tmp_path / "kfp-root"
    kfp.local.init(runner=kfp.local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    try:
        yield root
    finally:
        # kfp.local keeps its configuration in a process-wide singleton: drop it so a test
        # that forgets kfp_local fails instead of writing into another test's tmp_path
        config.LocalExecutionConfig.instance = None


@pytest.fixture(scope="session")
def mlflow_tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A sqlite MLflow tracking store shared by the session (migrated once)."""
    import mlflow

    path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    uri = f"sqlite:///{path}"
    mlflow.MlflowClient(tracking_uri=uri).search_experiments()  # runs the migrations now
    return uri
