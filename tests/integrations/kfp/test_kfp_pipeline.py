"""The example pipeline (pipelines/train_classifier.py): its compiled IR against the committed
golden file, and a real end-to-end local run — BlackLake dataset -> scikit-learn -> ONNX ->
BlackLake model with metrics and the KFP run id -> MLflow registered model version — with its
lineage."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from blacklake_ml import Store
from pipelines import train_classifier as example  # importable: see this directory's conftest

ROOT = Path(__file__).resolve().parents[3]

#: The compiler writes the installed KFP version into the IR (``sdkVersion: kfp-2.17.3``). It is
#: the only thing in the file that does not come from our code — two compilations with the
#: same KFP are byte-identical (component sources, defaults and images are all ours, nothing
#: is timestamped or path-dependent) — so only that line is normalised: a KFP patch release
#: must not fail the test, while any change to the pipeline, a component or its source does.
_SDK_VERSION = re.compile(r"^sdkVersion: kfp-\S+$", re.MULTILINE)


def normalised(text: str) -> str:
    return _SDK_VERSION.sub("sdkVersion: kfp-<version>", text)


REGENERATE = "regenerate it with: python -m pipelines.train_classifier --compile"


def test_compiled_pipeline_matches_golden_file(tmp_path: Path) -> None:
    out = example.compile_pipeline(tmp_path / "p.yaml")
    assert example.GOLDEN.is_file(), f"{example.GOLDEN} is missing: {REGENERATE}"
    assert normalised(out.read_text()) == normalised(example.GOLDEN.read_text()), \
        f"the compiled pipeline differs from {example.GOLDEN.name}; review the change, then " \
        + REGENERATE


def test_compile_command(tmp_path: Path) -> None:
    def compile_(*args: str) -> str:
        out = tmp_path / f"p{len(args)}.yaml"
        subprocess.run([sys.executable, "-m", "pipelines.train_classifier", "--compile",
                        "-o", str(out), *args], cwd=ROOT, check=True, capture_output=True)
        return out.read_text()

    assert normalised(compile_()) == normalised(example.GOLDEN.read_text())
    cluster = compile_("--install", "--base-image", "python:3.12-slim")
    assert "image: python:3.12-slim" in cluster and "image: python:3.11" not in cluster
    assert "'blacklake-ml[kfp]'" in cluster and "'scikit-learn'" in cluster
    assert "'blacklake-ml[mlflow]'" in cluster


def graph_edges(g: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(e["source"], e["target"], e["kind"]) for e in g["edges"]}


@pytest.mark.slow
def test_pipeline_runs_end_to_end(kfp_local: Path, home: Path, mlflow_tracking_uri: str
                                  ) -> None:
    import mlflow
    import numpy as np
    import onnx
    from onnx.reference import ReferenceEvaluator

    run = example.train_classifier(blacklake_home=str(home),
                                   mlflow_tracking_uri=mlflow_tracking_uri,
                                   model_name="kfp-e2e-iris")
    model_uri = run.outputs["model_uri"]
    version = run.outputs["model_version"]

    with Store.open(home) as store:
        models = store.repo("models")
        head = models.branch_head("main")
        row = models.log("main", limit=1)[0]
        onnx_bytes = models.read_bytes("main", "iris/model.onnx")
        dataset = store.repo("datasets")
        data_commit = dataset.branch_head("main")
        up = store.lineage.upstream(model_uri, depth=2)
        down = store.lineage.downstream(f"blacklake://datasets/{data_commit}/iris.csv",
                                        depth=2)
        csv_text = dataset.read_bytes("main", "iris.csv").decode()
        registered = store.lineage.downstream(model_uri, depth=1)

    # the model commit: pinned URI returned, KFP run id and metrics in its metadata
    assert model_uri == f"blacklake://models/{head}/iris/model.onnx"
    assert row.id == head
    run_id = row.meta["kfp_run_id"]
    assert run_id and not run_id.startswith("{{")
    assert row.meta["kfp_task"] == "push-model"
    accuracy = float(row.meta["accuracy"])
    assert 0.8 <= accuracy <= 1.0
    assert row.meta["n_test"] == "38" and row.meta["format"] == "onnx"
    assert row.meta["dataset"] == f"blacklake://datasets/{data_commit}/iris.csv"

    # the ONNX file is valid and classifies the training data as well as the metric says
    model = onnx.load_from_string(onnx_bytes)
    onnx.checker.check_model(model)
    lines = csv_text.strip().splitlines()[1:]
    x = np.array([[float(v) for v in line.split(",")[:4]] for line in lines], dtype=np.float32)
    y = np.array([line.split(",")[4] for line in lines])
    labels, probabilities = (np.asarray(a) for a in
                             ReferenceEvaluator(model).run(None, {"input": x}))
    assert probabilities.shape == (150, 3)
    assert float((labels == y).mean()) >= 0.9

    # the MLflow model version's source is the pinned blacklake:// URI
    client = mlflow.MlflowClient(tracking_uri=mlflow_tracking_uri)
    mv = client.get_model_version("kfp-e2e-iris", version)
    assert mv.source == model_uri
    assert mv.tags["blacklake.commit"] == head

    # lineage: dataset -> task(s) -> model, under the pipeline run
    run_key = f"run:kfp:{run_id}"
    nodes = {n["id"]: n for n in up["nodes"]}
    dataset_key = f"blacklake://datasets/{data_commit}/iris.csv"
    train_key, push_key = f"{run_key}/train", f"{run_key}/push-model"
    assert nodes[run_key]["facets"]["type"] == "pipeline_run"
    for key in (train_key, push_key):
        assert nodes[key]["facets"]["type"] == "task"
        assert nodes[key]["facets"]["pipeline_run"] == run_key
    edges = graph_edges(up)
    center = up["center"]
    assert {(dataset_key, train_key, "consumed"), (train_key, center, "produced"),
            (dataset_key, run_key, "consumed"), (run_key, center, "produced"),
            (push_key, center, "produced")} <= edges
    # the ONNX file the push task consumed is the export task's output artifact
    onnx_artifacts = [s for s, t, k in edges if t == push_key and k == "consumed"]
    assert len(onnx_artifacts) == 1 and onnx_artifacts[0].endswith("/export-onnx/onnx_model")
    # downstream of the dataset: the pull task, its artifact, and the registered version
    down_edges = graph_edges(down)
    assert (dataset_key, f"{run_key}/pull-dataset", "consumed") in down_edges
    assert (center, f"models:/kfp-e2e-iris/{version}", "derived_from") in \
        graph_edges(registered)
