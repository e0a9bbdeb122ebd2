"""Components only the KFP bridge tests use (KFP reads component sources with ``inspect``, so
they live in a real file). No ``from __future__ import annotations``: KFP needs the types."""

from typing import Any

from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output

from blacklake_ml.integrations.kfp import build_components

BL = build_components()


@dsl.component(install_kfp_package=False, base_image="python:3.11")
def make_model_dir(model: Output[Model], accuracy: float = 0.93) -> None:
    """A model directory of two files, with metrics in its metadata."""
    import os

    os.makedirs(model.path, exist_ok=True)
    with open(os.path.join(model.path, "weights.bin"), "wb") as f:
        f.write(bytes(range(256)) * 64)
    with open(os.path.join(model.path, "config.json"), "w") as f:
        f.write('{"layers": 2}')
    model.metadata.update({"accuracy": accuracy, "params": {"lr": 0.1, "epochs": 3},
                           "blacklake_uri": "blacklake://stale/main/x"})


@dsl.component(install_kfp_package=False, base_image="python:3.11")
def make_csv(dataset: Output[Dataset], rows: int = 10) -> None:
    """A small CSV file artifact."""
    with open(dataset.path, "w") as f:
        f.write("x,y\n" + "".join(f"{i},{i * i}\n" for i in range(rows)))
    dataset.metadata["rows"] = rows


@dsl.component(install_kfp_package=False, base_image="python:3.11")
def describe(artifact: Input[Dataset]) -> str:
    """What a downstream task sees of an artifact: its URI and metadata, as JSON."""
    import json

    return json.dumps({"uri": artifact.uri, "path": artifact.path,
                       "metadata": dict(artifact.metadata)}, sort_keys=True)


@dsl.component(install_kfp_package=False, base_image="python:3.11")
def describe_model(artifact: Input[Model]) -> str:
    """As describe, for a Model artifact, plus its file's JSON content if it is a file."""
    import json
    import os

    pointer = None
    if os.path.isfile(artifact.path):
        with open(artifact.path) as f:
            pointer = json.load(f)
    return json.dumps({"uri": artifact.uri, "metadata": dict(artifact.metadata),
                       "pointer": pointer}, sort_keys=True)


@dsl.pipeline(name="push-model-dir")
def push_model_dir(uri: str, blacklake_home: str) -> str:
    made = make_model_dir()
    pushed = BL.push_model(model=made.outputs["model"], uri=uri, blacklake_home=blacklake_home,
                           metadata={"stage": "candidate"})
    return describe_model(artifact=pushed.outputs["pushed"]).output


@dsl.pipeline(name="push-csv-repointed")
def push_csv_repointed(uri: str, blacklake_home: str) -> str:
    made = make_csv()
    pushed = BL.push_dataset(dataset=made.outputs["dataset"], uri=uri, repoint_uri=True,
                             blacklake_home=blacklake_home, message="a csv from KFP")
    return describe(artifact=pushed.outputs["pushed"]).output


@dsl.pipeline(name="pull-then-push")
def pull_then_push(source: str, target: str, blacklake_home: str) -> str:
    pulled = BL.pull_dataset(uri=source, blacklake_home=blacklake_home)
    pushed = BL.push_dataset(dataset=pulled.outputs["dataset"], uri=target,
                             blacklake_home=blacklake_home)
    return pushed.outputs["pinned_uri"]


@dsl.pipeline(name="search-then-pull")
def search_then_pull(query: str, blacklake_home: str) -> str:
    found = BL.search(query=query, mode="bm25", k=3, blacklake_home=blacklake_home)
    pulled = BL.pull_model(uri=found.outputs["best"], blacklake_home=blacklake_home)
    return pulled.outputs["pinned_uri"]


def importer_pipeline(uri: str, home: str) -> Any:
    """A pipeline importing ``uri`` (pinned now, through the store at ``home``)."""
    from blacklake_ml.api import Store
    from blacklake_ml.integrations.kfp import blacklake_importer

    with Store.open(home) as store:
        @dsl.pipeline(name="import-blacklake")
        def imported() -> str:
            imp = blacklake_importer(uri, Dataset, store=store)
            return describe(artifact=imp.output).output

    return imported
