"""Each BlackLake KFP component run for real by ``kfp.local``'s subprocess runner, alone or in a
two-task pipeline, against a tmp store; plus the importer, packaging options and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import store_state
from kfp_test_components import (
    importer_pipeline,
    pull_then_push,
    push_csv_repointed,
    push_model_dir,
)

from blacklake_ml import Store
from blacklake_ml.errors import PathNotFound, RepoNotFound
from blacklake_ml.integrations.kfp import (
    ComponentOptions,
    blacklake_importer,
    build_components,
    pull_dataset,
    pull_model,
    push_model,
    record_lineage,
    search,
)

IRIS = "blacklake://datasets/main/iris.csv"


def run_nodes(graph: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [n for n in graph["nodes"] if n["kind"] == "run" and n["facets"]["type"] == type_]


def edge_set(graph: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(e["source"], e["target"], e["kind"]) for e in graph["edges"]}


def test_pull_dataset_file(kfp_local: Path, home: Path) -> None:
    task = pull_dataset(uri=IRIS, blacklake_home=str(home))
    art = task.outputs["dataset"]
    with Store.open(home) as store:
        repo = store.repo("datasets")
        head = repo.branch_head("main")
        data = repo.read_bytes("main", "iris.csv")
        sha = repo.digests("main", "iris.csv")["sha256"]
        g = store.lineage.graph(IRIS, depth=2, direction="down")
    assert task.outputs["commit"] == head
    assert task.outputs["pinned_uri"] == f"blacklake://datasets/{head}/iris.csv"
    assert Path(art.path).read_bytes() == data
    assert art.metadata["blacklake_uri"] == task.outputs["pinned_uri"]
    assert art.metadata["blacklake_commit"] == head
    assert art.metadata["blacklake_digest"] == f"sha256:{sha}"
    assert art.metadata["blacklake_source_uri"] == IRIS
    # lineage: dataset --consumed--> pull task (under its run) --produced--> the KFP artifact
    [t] = run_nodes(g, "task")
    [run] = run_nodes(g, "pipeline_run")
    assert t["label"] == "pull-dataset" and t["facets"]["pipeline_run"] == run["id"]
    assert (t["id"], Path(art.path).as_uri(), "produced") in edge_set(g)
    assert (g["center"], run["id"], "consumed") in edge_set(g)


def test_pull_model_directory(kfp_local: Path, home: Path) -> None:
    task = pull_model(uri="blacklake://datasets/main/images", blacklake_home=str(home))
    art = task.outputs["model"]
    assert sorted(p.name for p in Path(art.path).iterdir()) == ["a.txt", "b.txt"]
    assert art.metadata["blacklake_kind"] == "directory"
    assert art.metadata["blacklake_nfiles"] == 2
    assert art.metadata["blacklake_digest"].startswith("blacklake-tree:")


def test_push_model_directory_with_metadata(kfp_local: Path, home: Path) -> None:
    run = push_model_dir(uri="blacklake://models/main/candidate", blacklake_home=str(home))
    seen = json.loads(run.output)  # what a downstream task saw of the pushed artifact
    with Store.open(home) as store:
        repo = store.repo("models")
        row = repo.log("main", limit=1)[0]
        files = sorted(e["path"] for e in repo.ls(row.id, "candidate", recursive=True))
        weights = repo.read_bytes(row.id, "candidate/weights.bin")
        up = store.lineage.upstream(f"blacklake://models/{row.id}/candidate", depth=2)
    assert files == ["candidate/config.json", "candidate/weights.bin"]
    assert weights == bytes(range(256)) * 64
    assert row.meta["accuracy"] == "0.93" and row.meta["stage"] == "candidate"
    assert json.loads(row.meta["params"]) == {"lr": 0.1, "epochs": 3}
    assert "blacklake_uri" not in row.meta  # the stale input metadata is not copied
    assert row.meta["kfp_task"] == "push-model" and row.meta["kfp_run_id"].strip()
    # the pushed artifact stays in KFP's storage: a JSON pointer + metadata naming the commit
    assert not seen["uri"].startswith("blacklake://")
    assert seen["pointer"]["blacklake_uri"] == f"blacklake://models/{row.id}/candidate"
    assert seen["metadata"]["blacklake_uri"] == seen["pointer"]["blacklake_uri"]
    assert seen["metadata"]["blacklake_commit"] == row.id
    assert seen["metadata"]["kfp_run_id"] == row.meta["kfp_run_id"]
    [task] = run_nodes(up, "task")
    [prun] = run_nodes(up, "pipeline_run")
    assert prun["id"] == f"run:kfp:{row.meta['kfp_run_id']}"
    assert (task["id"], up["center"], "produced") in edge_set(up)
    assert (prun["id"], up["center"], "produced") in edge_set(up)


def test_push_dataset_repointed_to_the_commit(kfp_local: Path, home: Path) -> None:
    run = push_csv_repointed(uri="blacklake://models/main/tables/squares.csv",
                             blacklake_home=str(home))
    seen = json.loads(run.output)
    with Store.open(home) as store:
        row = store.repo("models").log("main", limit=1)[0]
        data = store.repo("models").read_bytes(row.id, "tables/squares.csv")
    assert data.startswith(b"x,y\n0,0\n1,1\n")
    assert row.message == "a csv from KFP" and row.meta["rows"] == "10"
    assert seen["uri"] == seen["path"] == f"blacklake://models/{row.id}/tables/squares.csv"
    assert seen["metadata"]["blacklake_digest"].startswith("sha256:")


def test_pull_then_push_chains_lineage_through_the_kfp_artifact(kfp_local: Path,
                                                                  home: Path) -> None:
    run = pull_then_push(source=IRIS, target="blacklake://models/main/data/iris.csv",
                         blacklake_home=str(home))
    with Store.open(home) as store:
        src = store.repo("datasets").entry("main", "iris.csv")
        dst = store.repo("models").entry("main", "data/iris.csv")
        up = store.lineage.upstream(run.output, depth=4)
    assert src.id == dst.id  # the same content, stored once
    kinds = {n["kind"] for n in up["nodes"]}
    assert kinds == {"file", "run", "artifact"}
    pulled = [n for n in up["nodes"] if n["kind"] == "file" and n["repo"] == "datasets"]
    assert len(pulled) == 1 and pulled[0]["path"] == "iris.csv"
    tasks = {n["label"] for n in run_nodes(up, "task")}
    assert tasks == {"pull-dataset", "push-dataset"}


def test_record_lineage_alone(kfp_local: Path, home: Path) -> None:
    task = record_lineage(step="evaluate", consumed=[IRIS],
                          produced=["s3://reports/eval.html"], blacklake_home=str(home))
    key = task.output
    assert key.startswith("run:kfp:") and key.endswith("/evaluate")
    with Store.open(home) as store:
        g = store.lineage.graph(key, depth=1)
    nodes = {n["id"]: n for n in g["nodes"]}
    assert nodes["s3://reports/eval.html"]["kind"] == "artifact"
    assert (key, "s3://reports/eval.html", "produced") in edge_set(g)
    assert any(s.startswith("blacklake://datasets/") and t == key and k == "consumed"
               for s, t, k in edge_set(g))


def test_search_alone(kfp_local: Path, home: Path) -> None:
    task = search(query="iris", mode="bm25", k=3, blacklake_home=str(home))
    assert task.outputs["uris"] == [IRIS]
    assert task.outputs["best"] == IRIS
    none = search(query="zebra quantum", mode="bm25", require_hit=False,
                  blacklake_home=str(home))
    assert none.outputs["uris"] == [] and none.outputs["best"] == ""


def test_importer_pins_at_definition_time(kfp_local: Path, home: Path) -> None:
    pipeline = importer_pipeline(IRIS, str(home))
    with Store.open(home) as store:  # the branch moves after the pipeline was defined
        head = store.repo("datasets").branch_head("main")
        store.repo("datasets").put_bytes(b"a,label\n1,x\n", "iris.csv", message="replace")
    seen = json.loads(pipeline().output)
    assert seen["uri"] == f"blacklake://datasets/{head}/iris.csv"
    assert seen["metadata"]["blacklake_commit"] == head
    assert seen["metadata"]["blacklake_source_uri"] == IRIS


def test_importer_bad_uri_fails_before_compiling(home: Path) -> None:
    with Store.open(home) as store:
        with pytest.raises(RepoNotFound):
            blacklake_importer("blacklake://nope/main/x", store=store)
        with pytest.raises(PathNotFound, match="does not exist"):
            blacklake_importer("blacklake://datasets/main/nope.csv", store=store)


def failure_output(capfd: pytest.CaptureFixture[str]) -> str:
    out, err = capfd.readouterr()
    return out + err


def test_pull_unknown_uri_fails_with_one_clear_line(kfp_local: Path, home: Path,
                                                    capfd: pytest.CaptureFixture[str]) -> None:
    with Store.open(home) as store:
        before = store_state(store)
    with pytest.raises(RuntimeError, match="FAILURE"):
        pull_dataset(uri="blacklake://datasets/main/nope.csv", blacklake_home=str(home))
    log = failure_output(capfd)
    assert ("blacklake: PathNotFound: blacklake://datasets/main/nope.csv does not exist "
            "(no 'nope.csv' in datasets at main") in log
    assert "Traceback" not in log  # one line, not a stack dump
    with pytest.raises(RuntimeError, match="FAILURE"):
        pull_dataset(uri="blacklake://nope/main/x", blacklake_home=str(home))
    assert "blacklake: RepoNotFound: " in failure_output(capfd)
    with Store.open(home) as store:
        assert store_state(store) == before
        assert store.lineage.stats()["edges"] == 0


def test_push_to_unknown_repo_fails_and_changes_nothing(kfp_local: Path, home: Path,
                                                       capfd: pytest.CaptureFixture[str]
                                                       ) -> None:
    with Store.open(home) as store:
        before = store_state(store)
    with pytest.raises(RuntimeError, match="Inner task failed: .*push-model"):
        push_model_dir(uri="blacklake://no-such-repo/main/m", blacklake_home=str(home))
    assert "blacklake: RepoNotFound: " in failure_output(capfd)
    with Store.open(home) as store:
        assert store_state(store) == before
        assert store.lineage.stats()["edges"] == 0


def test_packaging_options_shape_the_task_command() -> None:
    local = push_model.component_spec.implementation.container
    assert local.image == "python:3.11"
    assert not any("pip install" in part for part in local.command)  # runs as-is
    cluster = build_components(ComponentOptions.installing("python:3.12-slim",
                                                           extra=["pandas"]))
    spec = cluster.pull_dataset.component_spec.implementation.container
    assert spec.image == "python:3.12-slim"
    install = spec.command[2]
    assert "'blacklake-ml[kfp]'" in install and "'pandas'" in install
    assert "kfp==" not in install  # blacklake-ml[kfp] brings kfp; no second install
    prebuilt = build_components(ComponentOptions(base_image="registry.example.com/ml:1"))
    assert prebuilt.search.component_spec.implementation.container.image == \
        "registry.example.com/ml:1"
