"""notebooks/dvc.ipynb runs top to bottom in a real kernel (real git, dvc and HTTP remote)."""

from __future__ import annotations

from pathlib import Path

import pytest
from notebook_runner import run_notebook, text_of

pytest.importorskip("nbclient")


@pytest.mark.slow
def test_dvc_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))  # no user identity
    nb = run_notebook("dvc.ipynb", tmp_path, monkeypatch)
    text = text_of(nb)
    # import: two data commits, message/author/date kept, the stage as lineage
    assert "'Add labelled images' by Ada Lovelace <ada@example.com>, " \
           "2024-05-02T10:30:00+00:00: +3 ~0 -0, stages []" in text
    assert "'Train the first model' by Grace Hopper <grace@example.com>" in text
    assert "skipped (no DVC change): 1" in text
    assert "train        --produced--> model.bin" in text
    assert "train.py     --consumed--> train" in text
    # incremental re-import
    assert "-> ['Add a bird']" in text
    assert "['Add a bird', 'Train the first model', 'Add labelled images', " \
           "'Initialize repository']" in text
    # the remote
    assert "6 files pushed" in text
    assert "Cache and remote 'bl' are in sync." in text
    assert "byte-identical after pull: True" in text
    assert "6 DVC objects on branch dvc-remote" in text
    assert "imported files also pushed: 5 of 5" in text
    assert "Exception occurred during processing of request" not in text
