"""The recorded lineage graph (blacklake_ml.service.lineage) on both catalogs, its OpenLineage
export, the ``blacklake lineage`` command and its merge into the Jupyter lineage view."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import store, store_spec  # noqa: F401 - fixtures are found by name

from blacklake_ml.cli.main import cli
from blacklake_ml.errors import InvalidInput, InvalidPath, PathNotFound, RepoNotFound
from blacklake_ml.service.store import Store


def seed(st: Store) -> dict[str, str]:
    """A repo with a dataset and a model folder; returns pinned URIs of both."""
    r = st.create_repo("proj")
    r.put_bytes(b"a,b\n1,2\n", "data/train.csv", message="data")
    r.put_bytes(b"\x00weights" * 100, "models/clf/model.onnx", message="model v1")
    r.put_bytes(b"{}", "models/clf/config.json", message="config")
    return {"data": "blacklake://proj/main/data/train.csv",
            "model": "blacklake://proj/main/models/clf"}


def ids(graph: dict[str, Any]) -> set[str]:
    return {n["id"] for n in graph["nodes"]}


def edges(graph: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(e["source"], e["target"], e["kind"]) for e in graph["edges"]}


def test_run_inputs_and_outputs_round_trip(store: Store) -> None:  # noqa: F811
    uris = seed(store)
    lin = store.lineage
    run = lin.run("mlflow", "r1", name="train clf", facets={"experiment": "clf"})
    lin.record_run(run, inputs=[uris["data"], "s3://raw/iris.csv"], outputs=[uris["model"]])
    model = lin.stored(uris["model"])
    data = lin.stored(uris["data"])
    assert model.kind == "directory" and data.kind == "file" and data.facets["size"] == 8

    up = lin.upstream(uris["model"])
    assert up["center"] == model.key
    assert edges(up) == {(run.key, model.key, "produced"), (data.key, run.key, "consumed"),
                         ("s3://raw/iris.csv", run.key, "consumed")}
    runs = [n for n in up["nodes"] if n["kind"] == "run"]
    assert runs[0]["system"] == "mlflow" and runs[0]["facets"]["experiment"] == "clf"
    assert lin.downstream(uris["model"])["edges"] == []

    down = lin.downstream(uris["data"])
    assert edges(down) == {(data.key, run.key, "consumed"), (run.key, model.key, "produced")}
    # by node key, both ways
    assert edges(lin.graph(run.key, depth=1)) == edges(up)
    # recording again adds nothing
    assert lin.record([(uris["data"], run, "consumed")]) == 0
    assert lin.stats() == {"nodes": 4, "edges": 3}
    # a sibling run that read the same data is neither upstream nor downstream of the model
    other = lin.run("mlflow", "r2")
    lin.record_run(other, inputs=[uris["data"]], outputs=["s3://elsewhere/m2"])
    both = lin.graph(uris["model"])
    assert other.key not in ids(both) and data.key in ids(both)


def test_lineage_follows_content_not_commits(store: Store) -> None:  # noqa: F811
    uris = seed(store)
    lin = store.lineage
    run = lin.run("kfp", "pipe-1", type="pipeline_run")
    lin.record_run(run, outputs=[uris["model"]])
    r = store.repo("proj")
    r.put_bytes(b"unrelated", "README.md", message="docs")  # main moves, the model does not
    assert run.key in ids(lin.upstream(uris["model"]))
    # a file inside the recorded folder sees the folder's lineage through "contains"
    inner = lin.upstream(uris["model"] + "/model.onnx")
    assert run.key in ids(inner)
    assert any(k == "contains" for _, _, k in edges(inner))
    # the repository root holds it: the run shows up below it
    assert run.key in ids(lin.upstream("blacklake://proj/main"))
    # once the model changes, the old run no longer describes what main holds
    r.put_bytes(b"\x01weights" * 100, "models/clf/model.onnx", message="model v2")
    assert run.key not in ids(lin.upstream(uris["model"]))
    # ... but the commit it was recorded at still has it
    old = lin.stored(uris["model"]).commit
    assert old is not None
    first = [c.id for c in r.log("main", path="models/clf")][1]
    assert run.key in ids(lin.upstream(f"blacklake://proj/{first}/models/clf"))


def test_derived_from_and_depth(store: Store) -> None:  # noqa: F811
    uris = seed(store)
    lin = store.lineage
    art = lin.external("wandb-artifact://team/proj/clf:v3", kind="model", system="wandb")
    lin.record([(art, uris["model"], "derived_from")])
    up = lin.graph(uris["model"], direction="up", depth=1)
    assert edges(up) == {(art.key, lin.stored(uris["model"]).key, "derived_from")}
    chain = [lin.run("dvc", f"s{i}", type="stage") for i in range(4)]
    for a, b in itertools.pairwise(chain):
        lin.record([(a, lin.external(f"file://out/{a.key}"), "produced"),
                    (lin.external(f"file://out/{a.key}"), b, "consumed")])
    g = lin.graph(chain[0].key, direction="down", depth=2)
    assert chain[1].key in ids(g) and chain[2].key not in ids(g)
    small = lin.graph(chain[0].key, direction="down", depth=10, max_nodes=3)
    assert small["truncated"] and len(small["nodes"]) <= 3


def test_bad_input_changes_nothing(store: Store) -> None:  # noqa: F811
    uris = seed(store)
    lin = store.lineage
    run = lin.run("mlflow", "r1")
    with pytest.raises(PathNotFound):
        lin.record_run(run, outputs=["blacklake://proj/main/nope"])
    with pytest.raises(RepoNotFound):
        lin.stored("blacklake://ghost/main/x")
    with pytest.raises(InvalidPath):
        lin.stored("blacklake://proj/main/../etc")
    with pytest.raises(InvalidInput):
        lin.record([(uris["data"], run, "ate")])
    with pytest.raises(InvalidInput):
        lin.record([(run, run, "produced")])
    with pytest.raises(InvalidInput):
        lin.run("mlflow", "", name="x")
    with pytest.raises(InvalidInput):
        lin.run("mlflow", "r", type="meeting")
    with pytest.raises(InvalidInput):
        lin.run("mlflow", "r", facets={"blob": "x" * 70_000})
    with pytest.raises(InvalidInput):
        lin.external(uris["data"])
    with pytest.raises(InvalidInput):
        lin.graph("run:nobody:0")
    with pytest.raises(InvalidInput):
        lin.graph(uris["data"], depth=0)
    assert lin.stats() == {"nodes": 0, "edges": 0}
    # a failing record in a batch records none of it
    with pytest.raises(PathNotFound):
        lin.record([(uris["data"], run, "consumed"), (run, "blacklake://proj/main/no", "produced")])
    assert lin.stats() == {"nodes": 0, "edges": 0}


def test_openlineage_events_parse_with_the_openlineage_client(store: Store) -> None:  # noqa: F811
    ol = pytest.importorskip("openlineage.client.event_v2")
    serde = pytest.importorskip("openlineage.client.serde")
    uris = seed(store)
    lin = store.lineage
    train = lin.run("mlflow", "r1", name="train", facets={"experiment": "clf"})
    evaluate = lin.run("kfp", "p9", type="pipeline_run", facets={"pipeline": "eval"})
    lin.record_run(train, inputs=[uris["data"]], outputs=[uris["model"]])
    lin.record_run(evaluate, inputs=[uris["model"]], outputs=["s3://reports/eval.html"])
    events = lin.openlineage(uris["model"])
    assert [(e["job"]["namespace"], e["job"]["name"]) for e in events] == [
        ("blacklake.mlflow", "clf"), ("blacklake.kfp", "eval")]
    for ev in events:
        # the client's own types validate the run id (a UUID) and the event time
        obj = ol.RunEvent(
            eventType=ol.RunState[ev["eventType"]], eventTime=ev["eventTime"],
            run=ol.Run(runId=ev["run"]["runId"]), job=ol.Job(namespace=ev["job"]["namespace"], name=ev["job"]["name"]),
            producer=ev["producer"],
            inputs=[ol.InputDataset(namespace=d["namespace"], name=d["name"])
                    for d in ev["inputs"]],
            outputs=[ol.OutputDataset(namespace=d["namespace"], name=d["name"])
                     for d in ev["outputs"]])
        doc = serde.Serde.to_dict(obj)
        for key in ("eventType", "eventTime", "producer", "job"):
            assert doc[key] == ev[key]
        assert doc["run"]["runId"] == ev["run"]["runId"]
        assert json.loads(json.dumps(ev)) == ev  # plain JSON
    model = lin.stored(uris["model"])
    assert events[0]["outputs"][0]["namespace"] == "blacklake://proj"
    assert events[0]["outputs"][0]["name"] == "models/clf"
    assert events[0]["outputs"][0]["facets"]["version"]["datasetVersion"] == model.commit
    assert events[1]["outputs"] == [{"namespace": "s3://reports", "name": "eval.html",
                                     "facets": {}}]
    assert lin.openlineage(train.key)[0]["run"]["runId"] == events[0]["run"]["runId"]


def test_concurrent_writers_share_nodes(store_spec: Any) -> None:  # noqa: F811
    """Two store handles recording the same nodes at once never duplicate them."""
    import threading

    st = store_spec.open()
    try:
        uris = seed(st)
    finally:
        st.close()
    errors: list[BaseException] = []

    def work(i: int) -> None:
        s = store_spec.open()
        try:
            for j in range(10):
                run = s.lineage.run("mlflow", f"r{j}")
                s.lineage.record_run(run, inputs=[uris["data"]], outputs=[uris["model"]])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            s.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    st = store_spec.open()
    try:
        assert st.lineage.stats() == {"nodes": 12, "edges": 20}
    finally:
        st.close()


# -- CLI --------------------------------------------------------------------------------------
def run_cli(home: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--home", str(home), *args], catch_exceptions=False)


def test_cli_lineage(tmp_path: Path) -> None:
    home = tmp_path / "home"
    st = Store.open(home)
    try:
        uris = seed(st)
        run = st.lineage.run("mlflow", "abc", name="train clf")
        st.lineage.record_run(run, inputs=[uris["data"]], outputs=[uris["model"]])
        st.lineage.record_run(st.lineage.run("kfp", "p1", type="pipeline_run", name="eval"),
                              inputs=[uris["model"]])
    finally:
        st.close()
    res = run_cli(home, "lineage", uris["model"] + "/model.onnx")
    assert res.exit_code == 0, res.output
    assert "upstream:" in res.stdout and "train clf (mlflow run abc)" in res.stdout
    assert "proj:data/train.csv" in res.stdout
    assert "eval (kfp pipeline_run p1)" in res.stdout  # downstream, via the folder
    doc = json.loads(run_cli(home, "lineage", uris["model"], "--up", "--json").stdout)
    assert doc["direction"] == "up" and "run:mlflow:abc" in ids(doc)
    assert "run:kfp:p1" not in ids(doc)
    events = json.loads(run_cli(home, "lineage", "run:mlflow:abc", "--openlineage").stdout)
    # the run and, downstream of its model, the evaluation that consumed it
    assert [e["job"]["name"] for e in events] == ["train clf", "eval"]
    assert {e["eventType"] for e in events} == {"COMPLETE"}
    for bad in (["lineage", "blacklake://proj/main/nope"], ["lineage", "nokey"],
                ["lineage", uris["model"], "--depth", "0"], ["lineage", "blacklake://"]):
        res = run_cli(home, *bad)
        assert res.exit_code != 0
        assert res.stderr.startswith("blacklake: error: ") and len(res.stderr.splitlines()) == 1


def test_jupyter_lineage_view_merges_recorded_runs(tmp_path: Path) -> None:
    from blacklake_ml.api import Store as PublicStore
    from blacklake_ml.search.lineage import neighbourhood

    st = PublicStore.open(tmp_path / "home")
    try:
        uris = seed(st)
        run = st.lineage.run("mlflow", "abc", name="train clf")
        st.lineage.record_run(run, inputs=[uris["data"]], outputs=[uris["model"]])
        g = neighbourhood(st, uris["model"], depth=2)
        assert g["center"] == uris["model"]
        assert (run.key, uris["model"], "produced") in edges(g)
        data = st.lineage.stored(uris["data"]).key
        assert (data, run.key, "consumed") in edges(g)
        node = next(n for n in g["nodes"] if n["id"] == run.key)
        assert node["recorded"] is True and node["system"] == "mlflow"
    finally:
        st.close()
