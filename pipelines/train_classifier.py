"""Example Kubeflow pipeline: a BlackLake dataset in, a registered ONNX model out.

    pull-dataset   blacklake://datasets/main/iris.csv -> a local CSV artifact (pinned commit)
    train          scikit-learn logistic regression, hold-out accuracy -> a .skops model
    export-onnx    blacklake_ml.convert.sklearn_to_onnx -> model.onnx (validated)
    push-model     -> a commit at blacklake://models/main/iris/model.onnx with the metrics and
                   the KFP run id in its metadata
    record-lineage dataset --consumed--> "train" step --produced--> model, under the run
    register       the pinned model URI as a version of an MLflow registered model

What it needs in the store: the repository ``datasets`` with ``iris.csv`` on ``main`` (numeric
feature columns and a ``label`` column) and a repository ``models`` to push to. On a fresh
store, ``seed_demo`` (or ``python -m pipelines.train_classifier --seed-demo --home DIR``)
creates both; it is idempotent.

Run it locally (tasks are subprocesses of this Python; no Kubernetes, no Docker)::

    import kfp.local
    from pipelines.train_classifier import run_local, seed_demo
    kfp.local.init(runner=kfp.local.SubprocessRunner(use_venv=False), pipeline_root="/tmp/kfp")
    seed_demo("/tmp/bl")                       # datasets/main/iris.csv + an empty models repo
    run = run_local(blacklake_home="/tmp/bl", mlflow_tracking_uri="sqlite:////tmp/m.db")
    print(run.outputs["model_uri"])

``run_local(**arguments)`` calls ``train_classifier(**arguments)`` and, when a step fails,
raises ``StepFailed`` with that step's own error line (``step 'pull-dataset' failed:
blacklake: RepoNotFound: no repository named 'datasets'``) instead of KFP's bare ``Inner task
failed: 'pull-dataset'``; calling ``train_classifier(...)`` directly works too.

Compile it (what ``pipelines/train_classifier.yaml``, the golden file checked by
``tests/integrations/kfp/test_kfp_pipeline.py``, holds)::

    python -m pipelines.train_classifier --compile                # rewrites the golden file
    python -m pipelines.train_classifier --compile -o p.yaml \\
        --base-image registry.example.com/ml:1.4                   # for your cluster's image

On a cluster the tasks need ``blacklake-ml[kfp]`` plus scikit-learn, skl2onnx, skops and
mlflow: build an image with them and pass ``--base-image``, or ``--install`` to pip-install
them when each task starts. The store comes from the tasks' environment (``BLACKLAKE_STORAGE``
/ ``BLACKLAKE_CATALOG``) unless ``blacklake_home`` is given.
"""

# No ``from __future__ import annotations``: KFP reads the component functions' annotations as
# types (Input[Dataset], Output[Model]...).
import argparse
import contextlib
import io
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from kfp import compiler, dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from blacklake_ml.integrations.kfp import BlackLakeComponents, ComponentOptions, build_components

GOLDEN = Path(__file__).with_suffix(".yaml")
#: what the example's own steps need on top of blacklake-ml[kfp] when packages are installed at
#: task start (ComponentOptions.installing)
TRAIN_PACKAGES = ("scikit-learn", "skops", "numpy")
EXPORT_PACKAGES = ("blacklake-ml[convert]",)
REGISTER_PACKAGES = ("blacklake-ml[mlflow]",)


# -- the example's own steps (component sources: KFP ships each function's text to its task, so
#    everything they use is imported inside the body) -----------------------------------------
def train(
    dataset: Input[Dataset],
    model: Output[Model],
    metrics: Output[Metrics],
    label_column: str = "label",
    test_fraction: float = 0.25,
    seed: int = 0,
) -> float:
    """Fit a logistic regression on a CSV (numeric features + ``label_column``); report the
    hold-out accuracy. ``model`` is a directory holding ``model.skops``."""
    import csv
    import os

    import numpy as np
    import skops.io
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    with open(dataset.path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or label_column not in rows[0]:
        raise SystemExit(f"train: {dataset.path} has no rows or no column {label_column!r}")
    features = [c for c in rows[0] if c != label_column]
    x = np.array([[float(r[c]) for c in features] for r in rows], dtype=np.float32)
    y = np.array([r[label_column] for r in rows])
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y)
    clf = LogisticRegression(max_iter=500, random_state=seed).fit(x_train, y_train)
    accuracy = float(clf.score(x_test, y_test))

    os.makedirs(model.path, exist_ok=True)
    skops.io.dump(clf, os.path.join(model.path, "model.skops"))
    model.metadata.update({
        "framework": "scikit-learn",
        "estimator": "LogisticRegression",
        "accuracy": accuracy,
        "n_train": len(y_train),
        "n_test": len(y_test),
        "features": ",".join(features),
        "label_column": label_column,
        "dataset": dataset.metadata.get("blacklake_uri", dataset.uri),
    })
    metrics.log_metric("accuracy", accuracy)
    print(f"accuracy {accuracy:.4f} on {len(y_test)} held-out rows")
    return accuracy


def export_onnx(model: Input[Model], onnx_model: Output[Model]) -> str:
    """Convert the trained model to ONNX (validated by onnx.checker); the ONNX artifact keeps
    the model's metadata (metrics) and adds the converter's summary."""
    import os

    from blacklake_ml.convert import sklearn_to_onnx

    summary = sklearn_to_onnx(os.path.join(model.path, "model.skops"), onnx_model.path)
    onnx_model.metadata.update(dict(model.metadata))
    onnx_model.metadata.update({
        "format": "onnx",
        "opset": summary["opset"].get("ai.onnx", 0),
        "onnx_inputs": ",".join(summary["inputs"]),
        "onnx_outputs": ",".join(summary["outputs"]),
        "n_features": summary["n_features"],
    })
    print(f"exported {summary['estimator']} to ONNX ({summary['bytes']} bytes)")
    return str(summary["estimator"])


def register(
    model_uri: str,
    model_name: str,
    tracking_uri: str,
    blacklake_home: str = "",
) -> str:
    """Register the pinned ``blacklake://`` model URI as a new version of ``model_name`` in the
    MLflow registry at ``tracking_uri``; returns the version number. The bridge checks that
    the model exists, makes the pinned URI the version's source and records the lineage
    edge stored model --derived_from--> models:/NAME/VERSION."""
    from blacklake_ml.integrations.kfp.runtime import open_store, task_errors
    from blacklake_ml.integrations.mlflow.registry import register_model

    with task_errors(), open_store(blacklake_home) as store:
        registered = register_model(store, model_uri, model_name,
                                    tracking_uri=tracking_uri or None)
    print(f"registered {registered['source']} as {model_name} version "
          f"{registered['version']}")
    return str(registered["version"])


# -- the pipeline ----------------------------------------------------------------------------------
class PipelineOutputs(NamedTuple):
    """What a run of the pipeline returns."""

    model_uri: str
    model_version: str


def build_pipeline(options: ComponentOptions | None = None) -> Any:
    """The pipeline with every task packaged by ``options`` (default: the local/prebuilt-image
    options of :class:`ComponentOptions`)."""
    opts = options or ComponentOptions()
    bl: BlackLakeComponents = build_components(opts)
    train_op = opts.component(train, packages=TRAIN_PACKAGES)
    export_op = opts.component(export_onnx, packages=EXPORT_PACKAGES)
    register_op = opts.component(register, packages=REGISTER_PACKAGES)

    @dsl.pipeline(name="train-classifier",
                  description="BlackLake dataset -> scikit-learn -> ONNX -> BlackLake model with "
                              "metrics -> MLflow registered model version")
    def train_classifier(
        dataset_uri: str = "blacklake://datasets/main/iris.csv",
        model_uri: str = "blacklake://models/main/iris/model.onnx",
        model_name: str = "iris-classifier",
        mlflow_tracking_uri: str = "http://mlflow:5000",
        label_column: str = "label",
        blacklake_home: str = "",
    ) -> PipelineOutputs:
        # Tasks that read a branch or write the store must run every time: a cached pull would
        # hand on the commit the branch had when the cache entry was made.
        pull = bl.pull_dataset(uri=dataset_uri, blacklake_home=blacklake_home)
        pull.set_caching_options(False)
        fit = train_op(dataset=pull.outputs["dataset"], label_column=label_column)
        onnx = export_op(model=fit.outputs["model"])
        push = bl.push_model(model=onnx.outputs["onnx_model"], uri=model_uri,
                             message="train-classifier: ONNX export",
                             blacklake_home=blacklake_home)
        push.set_caching_options(False)
        # train and export-onnx never talk to BlackLake: record the logical step ourselves
        step = bl.record_lineage(step="train", consumed=[pull.outputs["pinned_uri"]],
                                 produced=[push.outputs["pinned_uri"]],
                                 blacklake_home=blacklake_home)
        step.set_caching_options(False)
        reg = register_op(model_uri=push.outputs["pinned_uri"], model_name=model_name,
                          tracking_uri=mlflow_tracking_uri, blacklake_home=blacklake_home)
        reg.set_caching_options(False)
        return PipelineOutputs(model_uri=push.outputs["pinned_uri"],  # type: ignore[arg-type]
                               model_version=reg.output)

    return train_classifier


train_classifier = build_pipeline()

#: what the pipeline's default parameters read and write
DATASET_URI = "blacklake://datasets/main/iris.csv"
MODELS_REPO = "models"


# -- running it: seeding a fresh store, and errors that say what went wrong ------------------------
def write_iris_csv(path: str | Path) -> Path:
    """scikit-learn's bundled iris data as CSV: four float columns and a string ``label``."""
    import csv

    from sklearn.datasets import load_iris

    iris = load_iris()
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*iris.feature_names, "label"])
        for x, y in zip(iris.data, iris.target):
            w.writerow([*(float(v) for v in x), iris.target_names[y]])
    return Path(path)


def seed_demo(blacklake_home: str | Path = "") -> str:
    """Make the store at ``blacklake_home`` (default: the environment's store) ready for the
    pipeline's defaults: repository ``datasets`` with ``iris.csv`` on ``main`` and an empty
    repository ``models``. Idempotent (an existing ``iris.csv`` is kept); returns the dataset
    URI."""
    import tempfile

    from blacklake_ml import Store
    from blacklake_ml.errors import NotFound

    with Store.open(str(blacklake_home) or None) as store:
        repos = {r.name for r in store.list_repos()}
        data = (store.repo("datasets") if "datasets" in repos
                else store.create_repo("datasets", "training data"))
        if MODELS_REPO not in repos:
            store.create_repo(MODELS_REPO, "trained models")
        try:
            data.entry("main", "iris.csv")
        except NotFound:  # no commit yet, or no iris.csv
            with tempfile.TemporaryDirectory() as tmp:
                data.put(write_iris_csv(Path(tmp) / "iris.csv"), "iris.csv",
                         message="iris (scikit-learn's copy)")
    return DATASET_URI


class StepFailed(RuntimeError):
    """A step of a local run failed; ``step`` names it, ``error`` is its own last error line
    and ``log`` the step's streamed output."""

    def __init__(self, step: str, error: str, log: str) -> None:
        hint = ""
        if re.search(r"\b(RepoNotFound|PathNotFound)\b", error) and step in (
                "pull-dataset", "push-model"):
            hint = ("\n(the example pipeline needs repository 'datasets' with iris.csv and "
                    "repository 'models'; on a fresh store create them with "
                    "seed_demo(blacklake_home) or `python -m pipelines.train_classifier "
                    "--seed-demo --home DIR`)")
        super().__init__(f"step {step!r} failed: {error}{hint}")
        self.step, self.error, self.log = step, error, log


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _Tee(io.TextIOBase):
    def __init__(self, out: Any) -> None:
        self.out, self.buffer_ = out, io.StringIO()

    def write(self, s: str) -> int:
        self.out.write(s)
        self.buffer_.write(s)
        return len(s)

    def flush(self) -> None:
        self.out.flush()


@contextlib.contextmanager
def _tee_stdout() -> Iterator[_Tee]:
    tee = _Tee(sys.stdout)
    sys.stdout = tee  # type: ignore[assignment]
    try:
        yield tee
    finally:
        sys.stdout = tee.out


def step_error(log: str, step: str) -> tuple[str, str]:
    """``(error line, step log)`` of ``step`` in kfp.local's output ``log``: the last line the
    step's process printed (a task fails with one ``blacklake: …`` line, a traceback ends with
    the exception)."""
    lines = _ANSI.sub("", log).splitlines()
    start = max((i for i, line in enumerate(lines) if f"Executing task '{step}'" in line),
                default=-1)
    end = next((i for i in range(start + 1, len(lines))
                if f"Task '{step}' finished with status" in lines[i]), len(lines))
    body = lines[start + 1:end]
    printed = [line.strip() for line in body
               if line.strip() and not line.strip().startswith("[KFP Executor")
               and "Streamed logs:" not in line]
    return (printed[-1] if printed else "(the step printed nothing)"), "\n".join(body)


def run_local(**arguments: Any) -> Any:
    """``train_classifier(**arguments)`` under kfp.local (initialised by the caller with
    ``kfp.local.init``); a failing step raises :class:`StepFailed` carrying the step's own
    error instead of KFP's ``Inner task failed: '<step>'``."""
    with _tee_stdout() as tee:
        try:
            return train_classifier(**arguments)
        except RuntimeError as exc:
            m = re.search(r"Inner task failed: '([^']+)'", _ANSI.sub("", str(exc)))
            if not m:
                raise
            error, log = step_error(tee.buffer_.getvalue(), m.group(1))
            raise StepFailed(m.group(1), error, log) from exc


def compile_pipeline(path: str | Path = GOLDEN, options: ComponentOptions | None = None) -> Path:
    """Compile the pipeline to KFP IR YAML at ``path``."""
    pipeline = train_classifier if options is None else build_pipeline(options)
    compiler.Compiler().compile(pipeline, str(path))
    return Path(path)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pipelines.train_classifier --compile [-o FILE] [--base-image I] [--install]``
    or ``--seed-demo [--home DIR]``"""
    parser = argparse.ArgumentParser(prog="python -m pipelines.train_classifier",
                                     description=__doc__.split("\n", 1)[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--compile", action="store_true",
                        help="compile the pipeline to IR YAML")
    action.add_argument("--seed-demo", action="store_true",
                        help="create what the default parameters need in the store: "
                             f"{DATASET_URI} (scikit-learn's iris) and repository "
                             f"{MODELS_REPO!r}")
    parser.add_argument("--home", default="",
                        help="with --seed-demo: the store home (default: BLACKLAKE_HOME / "
                             "the configured store)")
    parser.add_argument("-o", "--output", default=str(GOLDEN),
                        help="where to write it (default: the golden file next to this module)")
    parser.add_argument("--base-image", default=None,
                        help="container image of every task (default python:3.11)")
    parser.add_argument("--install", action="store_true",
                        help="pip-install blacklake-ml[kfp] and each step's packages when a "
                             "task starts (for a stock Python image)")
    args = parser.parse_args(argv)
    if args.seed_demo:
        print(seed_demo(args.home))
        return 0
    options = None
    if args.install:
        options = ComponentOptions.installing(**({"base_image": args.base_image}
                                                  if args.base_image else {}))
    elif args.base_image:
        options = ComponentOptions(base_image=args.base_image)
    out = compile_pipeline(args.output, options)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
