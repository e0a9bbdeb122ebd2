"""``blacklake_ml.notebook``: tqdm.auto progress bars for long operations."""

from __future__ import annotations

import io
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from blacklake_ml.core.progress import NULL_PROGRESS
from blacklake_ml.errors import MissingDependency
from blacklake_ml.notebook import TqdmProgress, progress


def test_bars_follow_put_and_get(empty_store: Any, tmp_path: Path) -> None:
    src = tmp_path / "weights.bin"
    src.write_bytes(b"\x01" * (3 << 20))
    out = io.StringIO()
    bar = TqdmProgress(file=out, leave=True, mininterval=0)
    repo = empty_store.create_repo("p")
    repo.put(src, "weights.bin", message="big file", progress=bar)
    repo.get("main", "weights.bin", tmp_path / "back.bin", progress=bar)
    text = out.getvalue()
    assert "3.00M/3.00M" in text  # bytes shown in binary units, to completion
    assert "get weights.bin" in text
    assert (tmp_path / "back.bin").read_bytes() == src.read_bytes()


def test_advance_from_threads_and_counts() -> None:
    out = io.StringIO()
    bar = TqdmProgress(file=out, leave=True, mininterval=0)
    bar.start(400, "files", "checkout")
    threads = [threading.Thread(target=lambda: [bar.advance(1) for _ in range(100)])
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bar.finish()
    bar.finish()  # twice is harmless
    bar.advance(5)  # after finish: ignored
    assert "400/400" in out.getvalue() and "files" in out.getvalue()


def test_without_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m.split(".")[0] == "tqdm"] + ["tqdm"]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(MissingDependency, match=r"blacklake-ml\[notebook\]"):
        TqdmProgress()
    assert progress() is NULL_PROGRESS
