"""Fixtures of the W&B bridge tests: real ``wandb`` in offline mode, real gateway on 127.0.0.1.

* W&B's files are confined to one session directory (``WANDB_DIR``, ``WANDB_CACHE_DIR``,
  ``WANDB_DATA_DIR``, ``WANDB_CONFIG_DIR``), ``WANDB_MODE=offline``, ``WANDB_SILENT=true``,
  console capture off; set before anything imports ``wandb`` (its settings singleton reads the
  environment once per process) and torn down at the end of the session;
* ``home`` — ``BLACKLAKE_HOME`` under ``tmp_path``; ``store`` — the public Store there with a
  ``models`` repository holding ``bert/`` (a multi-chunk weights file, a config, a nested
  tokenizer file) and ``data/train.csv``;
* ``run`` — an offline ``wandb.init`` run, finished afterwards;
* ``gateway`` — the files routes of ``store`` served on 127.0.0.1 (token ``test-token``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("wandb")

_ENV = ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR", "WANDB_CONFIG_DIR")


@pytest.fixture(scope="session", autouse=True)
def wandb_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Confine W&B to a session directory, offline and silent."""
    root = tmp_path_factory.mktemp("wandb")
    mp = pytest.MonkeyPatch()
    for name in _ENV:
        path = root / name.lower()
        path.mkdir()
        mp.setenv(name, str(path))
    mp.setenv("WANDB_MODE", "offline")
    mp.setenv("WANDB_SILENT", "true")
    mp.setenv("WANDB_CONSOLE", "off")
    mp.setenv("WANDB_DISABLE_GIT", "true")
    mp.setenv("WANDB_DISABLE_CODE", "true")
    try:
        yield root
    finally:
        import wandb

        if wandb.run is not None:
            wandb.run.finish()
        wandb.teardown()
        mp.undo()


def make_models(repo: Any, tmp: Path) -> str:
    """Commit the sample model + data into ``repo``; the commit id."""
    from wandb_support import sample_files

    src = tmp / "src"
    for rel, data in sample_files().items():
        p = src / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return str(repo.put(src, "", message="bert base + training data",
                        commit_meta={"stage": "candidate"}).commit)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("BLACKLAKE_HOME", str(path))
    return path


@pytest.fixture
def store(home: Path, tmp_path: Path) -> Iterator[Any]:
    from blacklake_ml import Store

    s = Store.open(home)
    make_models(s.create_repo("models"), tmp_path)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def run() -> Iterator[Any]:
    import wandb

    r = wandb.init(project="bl-tests", job_type="test")
    try:
        yield r
    finally:
        r.finish()


@pytest.fixture
def gateway(store: Any) -> Iterator[Any]:
    from blacklake_ml.gateway import Gateway
    from blacklake_ml.gateway.files import files_routes

    with Gateway(files_routes(store), token="test-token") as gw:
        yield gw

