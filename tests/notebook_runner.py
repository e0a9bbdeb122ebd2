"""Runs a notebook from notebooks/ top to bottom in a real kernel (nbclient) with a throwaway
BLACKLAKE_HOME; shared by tests/test_notebooks.py and the bridges' notebook tests."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
#: seconds one cell may take (the first hybrid search loads the embedding model)
CELL_TIMEOUT = 180
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def run_notebook(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("BLACKLAKE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebooks' temporary stores go here
    import nbclient
    import nbformat

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     store_widget_state=True,
                                     resources={"metadata": {"path": str(tmp_path)}})
    start = time.monotonic()
    client.execute()
    nb.metadata["_elapsed"] = time.monotonic() - start
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors, [(e.ename, e.evalue) for e in errors]
    return nb


def text_of(nb: Any) -> str:
    """Every textual output, joined (streams and text/plain results)."""
    parts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.output_type == "stream":
                parts.append(o.text)
            elif o.output_type in ("execute_result", "display_data"):
                parts.append(str(o.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)
