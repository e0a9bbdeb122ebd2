"""notebooks/wandb.ipynb runs top to bottom in a real kernel (offline W&B) and shows what it
claims: the predicted digest equal to W&B's for both export modes, the import back, the refusal
of a tampered file and the lineage edges."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from notebook_runner import NOTEBOOKS, run_notebook, text_of

pytest.importorskip("sklearn")


def test_notebook_is_committed_clean() -> None:
    nb = nbformat.read(NOTEBOOKS / "wandb.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.execution_count is None and cell.outputs == []


def test_wandb_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = run_notebook("wandb.ipynb", tmp_path, monkeypatch)
    text = text_of(nb)
    predicted = re.search(r"predicted artifact digest: ([0-9a-f]{32})", text)
    assert predicted is not None, text
    assert f"W&B digest:           {predicted.group(1)}" in text
    assert "predicted == W&B (files): True" in text
    assert "predicted == W&B (references): True" in text
    assert "etag: \"" in text
    assert "imported 2 files; digest matches the export: True" in text
    assert "same bytes: True" in text
    assert "'wandb.digest': '" + predicted.group(1) in text
    assert "refused: 1 file(s) do not match the W&B manifest" in text
    assert "--derived_from-->" in text and "--produced-->" in text
    # The notebook kept W&B inside its own throwaway directory and removed it.
    assert not list(tmp_path.glob("blacklake-wandb-*"))
