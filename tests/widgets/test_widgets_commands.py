"""The widgets' Python side: traits, commands answered as the browser would ask them,
selection coming back to Python."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from widget_helpers import Frontend

from blacklake_ml.widgets import CommitHistory, LineageGraph, RepoBrowser, SearchBox


def test_import_is_cheap_and_lazy() -> None:
    code = ("import sys, blacklake_ml.widgets as w; "
            "assert 'anywidget' not in sys.modules and 'ipywidgets' not in sys.modules; "
            "assert sorted(w.__all__) == ['CommitHistory', 'LineageGraph', 'RepoBrowser', "
            "'SearchBox']; w.RepoBrowser; assert 'anywidget' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_attribute() -> None:
    import blacklake_ml.widgets as w

    with pytest.raises(AttributeError):
        w.NoSuchWidget  # noqa: B018


# -- RepoBrowser ------------------------------------------------------------------------------
def test_browser_browses_and_selects(demo_store: Any) -> None:
    b = RepoBrowser(store=demo_store)
    assert {r["name"] for r in b.repos} >= {"demo-classifier", "demo-text", "demo-iris"}
    assert (b.repo, b.ref, b.path) == ("demo-classifier", "main", "")
    assert b.refs == {"branches": ["finetune-de", "main"], "tags": ["v1.0"], "aliases": []}
    assert [e["name"] for e in b.entries] == ["README.md", "model.safetensors"]
    fe = Frontend(b)
    picked: list[str] = []
    b.on_select(picked.append)

    assert fe.invoke("cmd_open", {"repo": "demo-text"}) == {"ok": True}
    assert (b.repo, b.ref, b.path) == ("demo-text", "main", "")
    assert [(e["name"], e["kind"]) for e in b.entries] == [("tiny-bert", "dir")]
    # a folder opens instead of being selected
    assert fe.invoke("cmd_select", {"path": "tiny-bert"})["ok"]
    assert b.path == "tiny-bert" and b.value is None
    assert [e["name"] for e in b.entries] == ["README.md", "config.json", "model.safetensors",
                                              "vocab.txt"]
    answer = fe.invoke("cmd_select", {"path": "tiny-bert/config.json"})
    assert answer == {"ok": True, "uri": "blacklake://demo-text/main/tiny-bert/config.json"}
    assert b.value == b.selected == answer["uri"] and picked == [answer["uri"]]
    # switching to a tag keeps the folder when it exists there
    assert fe.invoke("cmd_open", {"ref": "v1.0.0"})["ok"]
    assert (b.ref, b.path) == ("v1.0.0", "tiny-bert")
    assert b.uri == "blacklake://demo-text/v1.0.0/tiny-bert"
    assert fe.invoke("cmd_open", {"path": ""})["ok"] and b.path == ""


def test_browser_aliases_missing_folders_and_files(demo_store: Any) -> None:
    b = RepoBrowser(uri="blacklake://demo-classifier/finetune-de/model.safetensors",
                    store=demo_store)
    # a file URI shows its folder with the file selected
    assert (b.repo, b.ref, b.path) == ("demo-classifier", "finetune-de", "")
    assert b.value == "blacklake://demo-classifier/finetune-de/model.safetensors"
    b.browse("demo-iris")
    assert b.refs["aliases"] == ["champion"] and b.ref == "main"
    b.browse(ref="champion")
    assert {e["name"] for e in b.entries} >= {"README.md", "model.onnx"}


def test_browser_reports_errors_to_the_browser(demo_store: Any) -> None:
    b = RepoBrowser("demo-classifier", store=demo_store)
    fe = Frontend(b)
    answer = fe.invoke("cmd_open", {"path": "no/such/dir"})
    assert answer == {"ok": False, "error": "no such path at main: no/such/dir"}
    assert b.error == answer["error"] and b.path == ""  # nothing changed
    assert fe.invoke("cmd_open", {"ref": "nope"})["ok"] is False
    assert fe.invoke("cmd_open", {"path": 5})["error"] == "path must be a string"
    assert fe.invoke("cmd_open", {"repo": "Not A Repo"})["ok"] is False
    assert fe.invoke("cmd_refresh", None)["ok"] is True  # a non-dict message is {}
    assert b.error == ""  # a good answer clears the error line
    with pytest.raises(Exception, match="no such path"):
        b.browse(path="missing")  # the Python API raises


def test_browser_downloads_the_selected_file(demo_store: Any, tmp_path: Any) -> None:
    import io

    from blacklake_ml.notebook import TqdmProgress

    b = RepoBrowser("demo-reviews", store=demo_store)
    with pytest.raises(Exception, match="select a file first"):
        b.download(tmp_path)
    b.select("train.csv")
    bar = io.StringIO()
    path = b.download(tmp_path, progress=TqdmProgress(file=bar, leave=True, mininterval=0))
    assert path == tmp_path / "train.csv"
    assert path.read_bytes() == demo_store.repo("demo-reviews").read_bytes("main", "train.csv")
    assert "get train.csv" in bar.getvalue()
    assert b.download(tmp_path / "copy.csv") == tmp_path / "copy.csv"  # default: tqdm.auto


def test_browser_on_an_empty_store(empty_store: Any) -> None:
    b = RepoBrowser(store=empty_store)
    assert (b.repos, b.repo, b.entries) == ([], "", [])
    empty_store.create_repo("late")
    assert Frontend(b).invoke("cmd_refresh", {})["ok"]
    assert b.repo == "late" and b.entries == []


def test_browser_caps_long_listings(empty_store: Any) -> None:
    repo = empty_store.create_repo("many")
    with repo.transaction("main", "many files") as tx:
        for i in range(30):
            tx.put_bytes(b"x", f"f{i:02d}.txt")
    b = RepoBrowser("many", store=empty_store, max_entries=10)
    assert len(b.entries) == 10 and b.hidden == 20


def test_selection_from_the_browser_reaches_callbacks(demo_store: Any) -> None:
    b = RepoBrowser("demo-reviews", store=demo_store)
    seen: list[str] = []

    @b.on_select
    def remember(uri: str) -> None:
        seen.append(uri)

    def broken(uri: str) -> None:
        raise RuntimeError("a user's bug")

    b.on_select(broken)  # logged, never breaks the widget or the other callbacks
    Frontend(b).set_state(selected="blacklake://demo-reviews/main/train.csv")
    assert seen == ["blacklake://demo-reviews/main/train.csv"]
    assert b.value == "blacklake://demo-reviews/main/train.csv"


# -- CommitHistory ----------------------------------------------------------------------------
def test_history_log_select_and_compare(demo_store: Any) -> None:
    h = CommitHistory("demo-classifier", "main", store=demo_store)
    log = demo_store.repo("demo-classifier").log("main")
    assert [c["id"] for c in h.commits] == [c.id for c in log]
    assert [c["message"][:7] for c in h.commits[:4]] == ["epoch 4", "epoch 3", "epoch 2",
                                                         "epoch 1"]
    fe = Frontend(h)
    newest = h.commits[0]
    answer = fe.invoke("cmd_select", {"commit": newest["id"][:10]})
    assert answer == {"ok": True, "uri": f"blacklake://demo-classifier/{newest['id']}"}
    assert h.diff["a"] == newest["parents"][0] and h.diff["b"] == newest["id"]
    assert sorted(m["path"] for m in h.diff["modified"]) == ["README.md", "model.safetensors"]
    # the first commit: everything it holds counts as added
    fe.invoke("cmd_select", {"commit": h.commits[-1]["id"]})
    assert h.diff["a"] is None
    # shift-click: any two commits or refs
    assert fe.invoke("cmd_compare", {"a": "v1.0", "b": "finetune-de"}) == {"ok": True}
    assert [m["path"] for m in h.diff["modified"]] == ["model.safetensors"]
    assert h.value == f"blacklake://demo-classifier/{h.commits[-1]['id']}"  # unchanged
    # reload with a path filter and a limit
    assert fe.invoke("cmd_load", {"ref": "finetune-de", "path": "README.md", "limit": 2})["ok"]
    assert h.ref == "finetune-de" and len(h.commits) == 2 and h.diff == {} and h.value is None
    assert fe.invoke("cmd_load", {"limit": 0})["error"] == "limit must be from 1 to 1000"
    assert fe.invoke("cmd_load", {"limit": True})["error"] == "limit must be an integer"
    assert fe.invoke("cmd_select", {"commit": "deadbeefdeadbeef"})["ok"] is False


def test_history_from_uri_and_default_repo(demo_store: Any, empty_store: Any) -> None:
    h = CommitHistory(uri="blacklake://demo-iris/experiment", store=demo_store)
    assert (h.repo, h.ref) == ("demo-iris", "experiment")
    assert h.commits[0]["message"].startswith("try almost no regularisation")
    assert CommitHistory(store=demo_store).repo == demo_store.list_repos()[0].name
    with pytest.raises(Exception, match="no repositories"):
        CommitHistory(store=empty_store)


# -- SearchBox --------------------------------------------------------------------------------
def test_search_results_and_selection(demo_store: Any) -> None:
    box = SearchBox(store=demo_store, mode="bm25")
    assert box.results == [] and box.searched is False and box.value is None
    fe = Frontend(box)
    picked: list[str] = []
    box.on_select(picked.append)
    answer = fe.invoke("cmd_search", {"query": "German review sentiment", "filters": []})
    assert answer["ok"] and answer["count"] == len(box.results) >= 1
    first = box.results[0]
    assert first["uri"] == "blacklake://demo-sentiment-de/main"
    assert {"uri", "score", "why", "kind", "name", "facts"} <= set(first)
    assert box.query == "German review sentiment" and box.searched
    assert fe.invoke("cmd_select", {"uri": first["uri"]}) == {"ok": True, "uri": first["uri"]}
    assert box.value == first["uri"] and picked == [first["uri"]]
    # a new search clears the selection
    fe.invoke("cmd_search", {"query": "iris", "filters": ["framework=sklearn"]})
    assert box.value is None and {h["repo"] for h in box.results} == {"demo-iris"}
    assert box.filters == ["framework=sklearn"]


def test_search_takes_filters_as_store_search_does(demo_store: Any) -> None:
    """A mapping (what ``store.search`` accepts) works the same as the CLI's strings."""
    as_strings = SearchBox("iris", store=demo_store, mode="bm25",
                           filters=["framework=sklearn"]).results
    box = SearchBox("iris", store=demo_store, mode="bm25", filters={"framework": "sklearn"})
    assert box.filters == ["framework=sklearn"] and box.results == as_strings
    # a pair is a numeric range (either end open), as in store.search
    ranged = box.search("iris", filters={"parameters": (None, 1e12), "framework": "sklearn"})
    assert box.filters == ["parameters<=1000000000000.0", "framework=sklearn"]
    assert ranged == SearchBox("iris", store=demo_store, mode="bm25", filters=[
        "parameters<=1e12", "framework=sklearn"]).results


def test_search_rejects_bad_requests(demo_store: Any) -> None:
    box = SearchBox("iris", store=demo_store, mode="bm25")
    fe = Frontend(box)
    assert fe.invoke("cmd_select", {"uri": "blacklake://demo-text/main"})["error"] == \
        "blacklake://demo-text/main is not one of the results"
    assert fe.invoke("cmd_select", {"uri": "javascript:alert(1)"})["ok"] is False
    assert fe.invoke("cmd_search", {"query": "x", "filters": "license=mit"})["error"] == \
        "filters must be a list of strings"
    assert "unknown filter" in fe.invoke("cmd_search", {"query": "x", "filters": ["nope=1"]}
                                         )["error"]
    assert fe.invoke("cmd_search", {"query": "x", "mode": "magic"})["ok"] is False
    assert fe.invoke("cmd_search", {"query": "x", "k": 0})["ok"] is False
    assert fe.invoke("cmd_search", {"query": "   "}) == {"ok": True, "count": 0}
    assert box.searched is False and box.results == []


def test_search_hybrid_finds_the_demo_model(demo_store: Any) -> None:
    box = SearchBox("a small German sentiment model", store=demo_store)
    assert box.mode == "hybrid"
    assert box.results[0]["uri"] == "blacklake://demo-sentiment-de/main"


# -- LineageGraph -----------------------------------------------------------------------------
def edges(graph: dict[str, Any], *kinds: str) -> set[tuple[str, str, str]]:
    """``(source, kind, target)`` of the graph's edges (of ``kinds`` only, if given)."""
    return {(e["source"], e["kind"], e["target"]) for e in graph["edges"]
            if not kinds or e["kind"] in kinds}


def test_lineage_graph(demo_store: Any) -> None:
    g = LineageGraph("blacklake://demo-sentiment-de/main/model.safetensors", store=demo_store)
    center = "blacklake://demo-sentiment-de/main"
    weights = f"{center}/model.safetensors"
    base = "blacklake://demo-text/main/tiny-bert"
    # the REST API's document: the widget and GET lineage share one implementation
    assert g.graph["center"] == center and g.graph["depth"] == 1
    assert g.graph["uri"] == weights and g.graph["truncated"] is False
    nodes = {n["id"]: n for n in g.graph["nodes"]}
    assert nodes[center]["center"] is True and nodes[center]["kind"] == "model"
    assert nodes["blacklake://demo-reviews/main"]["kind"] == "dataset"  # a repository root
    assert edges(g.graph, "base_model", "dataset", "contains", "shares_chunks") == {
        (base, "base_model", center),
        ("blacklake://demo-reviews/main", "dataset", center),
        (center, "contains", weights),
        (weights, "shares_chunks", f"{base}/model.safetensors"),
        (base, "contains", f"{base}/model.safetensors"),
    }
    share = next(e for e in g.graph["edges"] if e["kind"] == "shares_chunks")
    assert 0.3 < share["shared_fraction"] < 1
    commits = [n for n in g.graph["nodes"] if n["kind"] == "commit"]
    assert [c["label"] for c in commits] == ["fine-tune epoch 2: val_acc=0.86",
                                             "fine-tune epoch 1: val_acc=0.81"]
    assert edges(g.graph, "wrote") == {(c["id"], "wrote", center) for c in commits}
    fe = Frontend(g)
    assert fe.invoke("cmd_load", {"depth": 2})["ok"]
    # two steps away: the other model trained on demo-reviews
    assert ("blacklake://demo-reviews/main", "dataset",
            "blacklake://demo-classifier/main") in edges(g.graph)
    assert fe.invoke("cmd_select", {"uri": "blacklake://demo-reviews/main"})["ok"]
    assert g.value == "blacklake://demo-reviews/main"
    assert fe.invoke("cmd_select", {"uri": commits[0]["uri"]})["ok"]  # a commit: its URI
    assert g.value == commits[0]["uri"]
    assert fe.invoke("cmd_select", {"uri": commits[0]["id"]})["ok"] is False  # not a URI
    assert fe.invoke("cmd_select", {"uri": "blacklake://elsewhere/main"})["ok"] is False
    assert fe.invoke("cmd_load", {"depth": 9})["error"] == "depth must be from 1 to 3"
    # re-centre on a node (double-click)
    assert fe.invoke("cmd_load", {"uri": "blacklake://demo-iris-data/main"})["ok"]
    assert edges(g.graph, "base_model", "dataset") == {
        ("blacklake://demo-iris-data/main", "dataset", "blacklake://demo-iris/main")}
    assert g.value is None and g.uri == "blacklake://demo-iris-data/main"


def test_lineage_of_plain_files_and_aliases(demo_store: Any) -> None:
    g = LineageGraph("blacklake://demo-iris/champion", store=demo_store)
    assert g.graph["center"] == "blacklake://demo-iris/champion"  # the alias stays the ref
    assert edges(g.graph, "dataset") == {("blacklake://demo-iris-data/main", "dataset",
                                          "blacklake://demo-iris/champion")}
    g.load("blacklake://demo-reviews/main/train.csv")  # inside the dataset card
    assert g.graph["center"] == "blacklake://demo-reviews/main"
    assert ("blacklake://demo-reviews/main", "contains",
            "blacklake://demo-reviews/main/train.csv") in edges(g.graph)
    with pytest.raises(Exception, match="no such path"):
        g.load("blacklake://demo-reviews/main/missing.csv")


def test_widget_closes_only_a_store_it_opened(demo_store: Any, tmp_path: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLACKLAKE_HOME", str(tmp_path / "default"))
    b = RepoBrowser()  # opens the configured default store
    assert b.repos == [] and b._own_store
    b.close()
    assert b._store is None
    shared = RepoBrowser(store=demo_store)
    shared.close()
    assert demo_store.list_repos()  # still open
