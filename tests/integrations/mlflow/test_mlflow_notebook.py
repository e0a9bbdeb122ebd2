"""notebooks/mlflow.ipynb runs top to bottom in a real kernel and shows what it promises."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from notebook_runner import run_notebook, text_of

pytest.importorskip("nbclient")
pytestmark = pytest.mark.slow


def test_mlflow_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = run_notebook("mlflow.ipynb", tmp_path, monkeypatch)
    out = text_of(nb)
    assert "stored 150 rows at blacklake://data/main/iris.csv" in out
    assert re.search(r"dataset source: blacklake://data/[0-9a-f]{64}/iris\.csv", out)
    assert "run id in commit metadata: True" in out
    assert "mlflow.model_id = m-" in out
    assert "predictions agree: True" in out
    assert "'MLmodel'" in out
    assert "iris.csv --consumed--> logreg" in out
    assert "logreg --produced--> model iris-logreg" in out
    assert "champion predicts [0, 0, 0]" in out
    assert re.search(r"registered version 1 source blacklake://models/[0-9a-f]{64}/", out)
    assert "version 1 mapped -> tag mlflow-iris-classifier-v1" in out
    assert "aliases: {'champion':" in out
