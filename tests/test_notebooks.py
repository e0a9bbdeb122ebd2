"""The example notebooks in notebooks/ run top to bottom without errors (nbclient, a real
kernel, a throwaway BLACKLAKE_HOME) and show what they promise."""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Any

import pytest


def need(module: str, extra: str) -> Any:
    """Import ``module``; skip (a developer machine) or fail (CI) when it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"{module} is not installed: pip install -e '.[{extra}]'",
                    allow_module_level=True)


nbformat = need("nbformat", "test")
nbclient = need("nbclient", "test")
need("anywidget", "notebook")
need("sklearn", "convert")

from notebook_runner import NOTEBOOKS, WIDGET_VIEW, run_notebook, text_of


def test_notebooks_are_committed_clean() -> None:
    names = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    # every notebook, the bridges' too (each bridge's test module runs its own)
    assert {"lifecycle.ipynb", "quickstart.ipynb", "widgets.ipynb"} <= set(names)
    for name in names:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata["kernelspec"]["name"] == "python3", name  # Lab asks otherwise
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, name


@pytest.mark.slow
def test_quickstart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = run_notebook("quickstart.ipynb", tmp_path, monkeypatch)
    out = text_of(nb)
    assert "LogisticRegression" in out and "RandomForestClassifier" in out
    assert "('v1.0.0'" in out and "('v2.0.0'" in out                     # versions
    assert "'model.skops', ['content']" in out                            # the diff
    assert "'description'" in out and "training accuracy" in out          # facts compared
    assert "blacklake://iris-classifier/" in out                          # search found it
    assert "types to review before loading: []" in out                    # loaded back
    assert "ONNX header bytes" in out
    bars = [o for c in nb.cells for o in c.get("outputs", []) if WIDGET_VIEW in o.get("data", {})]
    assert bars  # tqdm.auto progress bars (widgets in a kernel)
    assert not list(tmp_path.glob("blacklake-quickstart-*"))  # it cleaned up


@pytest.mark.slow
def test_lifecycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = run_notebook("lifecycle.ipynb", tmp_path, monkeypatch)
    out = text_of(nb)
    assert "'^1.0': 'v1.1.0'" in out and "'newest': 'v2.0.0-rc.1'" in out
    assert "champion is: # Scorer v1.1.0" in out
    assert "now in prod: [('prod', 'v2.0.0-rc.1')]" in out
    assert "after rollback: v1.1.0 rollback" in out
    assert "('rollback', 'v1.0.0')" in out
    assert "DeprecatedModelWarning: model 'scorer' version v1.0.0 is deprecated" in out
    assert not list(tmp_path.glob("blacklake-lifecycle-*"))


@pytest.mark.slow
def test_widgets_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = run_notebook("widgets.ipynb", tmp_path, monkeypatch)
    out = text_of(nb)
    assert "'demo-sentiment-de'" in out
    assert "'blacklake://demo-text/main/tiny-bert/config.json'" in out
    assert "('blacklake://demo-sentiment-de/main', ['blacklake://demo-sentiment-de/main'])" \
        in out
    views = [o for c in nb.cells for o in c.get("outputs", []) if WIDGET_VIEW in o.get("data", {})]
    assert len(views) == 4
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    kinds = {m["state"].get("_anywidget_id") for m in state.values()}
    assert {f"blacklake_ml.widgets.{k}" for k in (
        "browser.RepoBrowser", "history.CommitHistory", "search.SearchBox",
        "lineage.LineageGraph")} <= kinds
    assert json.dumps(state).count("blacklake://demo-sentiment-de/main") >= 2
