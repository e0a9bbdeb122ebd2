"""Fixtures of the notebook-widget tests: a seeded demo store shared by the session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from widget_helpers import need

need("anywidget", "notebook")


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The demo store (``blacklake_ml.demo.seed`` with 1 MiB checkpoints), read-only use."""
    from blacklake_ml import Store
    from blacklake_ml.demo import seed

    store = Store.open(tmp_path_factory.mktemp("widgets-demo"))
    seed(store, checkpoint_mib=1)
    yield store
    store.close()


@pytest.fixture
def empty_store(tmp_path: Path) -> Iterator[Any]:
    """A store of its own for tests that write."""
    from blacklake_ml import Store

    store = Store.open(tmp_path / "store")
    yield store
    store.close()
