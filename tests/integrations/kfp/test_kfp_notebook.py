"""notebooks/kfp.ipynb runs top to bottom in a real kernel: the example pipeline on kfp.local,
the model commit with the KFP run id, the lineage and the MLflow version."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from notebook_runner import run_notebook, text_of


@pytest.mark.slow
def test_kfp_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    nb = run_notebook("kfp.ipynb", tmp_path, monkeypatch)
    text = text_of(nb)
    model = re.search(r"model: (blacklake://models/([0-9a-f]{64})/iris/model\.onnx)", text)
    assert model, text
    commit = model.group(2)
    assert re.search(rf"^{commit}$", text, re.MULTILINE)  # the commit cell shows that commit
    assert re.search(r"kfp_run_id = \S+", text)
    assert "kfp_task = push-model" in text
    assert re.search(r"accuracy = 0?\.?\d", text)
    assert "Pipeline 'train-classifier' finished with status SUCCESS" in \
        re.sub(r"\x1b\[[0-9;]*m", "", text)
    # lineage: dataset -> train task -> model, and the pipeline run
    assert "iris.csv --consumed--> train [task]" in text
    assert "train [task] --produced--> model.onnx" in text
    assert re.search(r"iris.csv --consumed--> train-classifier-\S+ \[pipeline_run\]", text)
    assert f"source: {model.group(1)}" in text and "same as the pushed model: True" in text
    assert not list(tmp_path.glob("blacklake-kfp-*"))  # the notebook cleaned up after itself
