"""The widgets in a real kernel: a notebook executed by nbclient with the widget state saved
(what a notebook viewer or a static export would show)."""

from __future__ import annotations

from pathlib import Path

import pytest
from widget_helpers import need

nbformat = need("nbformat", "test")
nbclient = need("nbclient", "test")

SETUP = """
import blacklake_ml as bl
from blacklake_ml.demo import safetensors_bytes, tiny_bert_weights
from blacklake_ml.widgets import CommitHistory, LineageGraph, RepoBrowser, SearchBox

store = bl.Store.open()            # BLACKLAKE_HOME, set by the test
data = store.create_repo("reviews", "review dataset")
with data.transaction("main", "import") as tx:
    tx.put_bytes(b"---\\nlicense: cc-by-4.0\\ntask_categories: [text-classification]\\n---\\n"
                 b"# Reviews\\n", "README.md")
    tx.put_bytes(b"id,text\\n1,good\\n", "train.csv")
model = store.create_repo("scorer", "review scorer")
card = "---\\nlicense: mit\\ndatasets: [reviews]\\n---\\n# Review scorer\\n"
for step in (1, 2):
    with model.transaction("main", f"train step {step}") as tx:
        tx.put_bytes(card.encode(), "README.md")
        tx.put_bytes(safetensors_bytes(tiny_bert_weights(step)), "model.safetensors")
"""
CELLS = [
    SETUP,
    'browser = RepoBrowser("scorer", store=store)\nbrowser',
    'history = CommitHistory("scorer", store=store)\nhistory',
    'search = SearchBox("review scorer", store=store, mode="bm25")\nsearch',
    'graph = LineageGraph("blacklake://scorer/main", store=store)\ngraph',
    ('search.select(search.results[0]["uri"])\nhistory.select(history.commits[0]["id"])\n'
     'print("SELECTED", search.value)'),
]


@pytest.mark.slow
def test_widgets_in_a_kernel_with_saved_state(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLACKLAKE_HOME", str(tmp_path / "home"))
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(c) for c in CELLS],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}})
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     store_widget_state=True,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()

    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    views = [o["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
             for c in nb.cells for o in c.get("outputs", [])
             if o.output_type == "execute_result"
             and "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 4
    stream = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert "SELECTED blacklake://scorer/main" in stream

    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    by_class = {m["state"]["_anywidget_id"].rsplit(".", 1)[-1]: (mid, m["state"])
                for mid, m in state.items() if m["model_name"] == "AnyModel"}
    assert set(by_class) == {"RepoBrowser", "CommitHistory", "SearchBox", "LineageGraph"}
    assert {mid for mid, _ in by_class.values()} == set(views)
    browser = by_class["RepoBrowser"][1]
    assert browser["repo"] == "scorer"
    assert [e["name"] for e in browser["entries"]] == ["README.md", "model.safetensors"]
    history = by_class["CommitHistory"][1]
    assert [c["message"] for c in history["commits"][:2]] == ["train step 2", "train step 1"]
    assert history["selected"] == f"blacklake://scorer/{history['commits'][0]['id']}"
    assert [m["path"] for m in history["diff"]["modified"]] == ["model.safetensors"]
    search = by_class["SearchBox"][1]
    assert search["selected"] == search["results"][0]["uri"] == "blacklake://scorer/main"
    graph = by_class["LineageGraph"][1]["graph"]
    assert graph["center"] == "blacklake://scorer/main"
    assert {(e["source"], e["kind"], e["target"]) for e in graph["edges"]
            if e["kind"] in ("dataset", "base_model")} == {
        ("blacklake://reviews/main", "dataset", "blacklake://scorer/main")}
    assert [n["label"] for n in graph["nodes"] if n["kind"] == "commit"] == [
        "train step 2", "train step 1"]
    for _, s in by_class.values():
        assert "export default { render }" in s["_esm"] and ".bl-widget" in s["_css"]
