"""blacklake_ml.notebook.Session: a notebook session recorded as a lineage run."""

from __future__ import annotations

from pathlib import Path

import pytest

from blacklake_ml.errors import PathNotFound
from blacklake_ml.notebook import Session
from blacklake_ml.service.store import Store


def test_session_records_reads_and_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/ada/explore.ipynb")
    store = Store.open(tmp_path / "home")
    try:
        repo = store.create_repo("r")
        repo.put_bytes(b"a,b\n1,2\n", "data.csv", message="data")
        (tmp_path / "model.bin").write_bytes(b"weights")
        with Session(store) as s:
            assert s.open("blacklake://r/main/data.csv").read() == b"a,b\n1,2\n"
            res = s.put(str(tmp_path / "model.bin"), "blacklake://r/main/model.bin",
                        message="fit")
            s.used("s3://raw/extra.csv")
        graph = store.lineage.graph(s.key)
        run = next(n for n in graph["nodes"] if n["id"] == s.key)
        assert run["system"] == "notebook" and run["label"] == "explore.ipynb"
        assert run["facets"]["type"] == "session"
        assert run["facets"]["notebook"] == "/home/ada/explore.ipynb"
        assert run["facets"]["end_time"] >= run["facets"]["start_time"]
        kinds = {(e["kind"], e["source"] if e["kind"] == "consumed" else e["target"])
                 for e in graph["edges"]}
        data = store.lineage.stored("blacklake://r/main/data.csv").key
        # the data was read at the commit before the model's
        assert data.startswith("blacklake://r/") and data.endswith("/data.csv")
        assert ("produced", f"blacklake://r/{res.commit}/model.bin") in kinds
        assert ("consumed", "s3://raw/extra.csv") in kinds
        assert len([k for k in kinds if k[0] == "consumed"]) == 2
        # a read of something missing is an error and records nothing more
        before = store.lineage.stats()
        with pytest.raises(PathNotFound):
            s.open("blacklake://r/main/missing.csv")
        assert store.lineage.stats() == before
    finally:
        store.close()
