"""Fixtures of the Jupyter server extension tests: a seeded store and a server serving it.

pytest-jupyter's fixtures and hooks are imported into this conftest instead of being listed
in ``pytest_plugins``: pytest refuses ``pytest_plugins`` outside the root conftest, and a
plugin registered from a test module would apply its autouse fixtures (an event loop and a
``ServerApp`` cleanup around every test) to the whole suite. Imported here, they apply to
``tests/jupyter`` only.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from jupyter_helpers import Call
from jupyter_seed import seed_store
from pytest_jupyter.jupyter_server import *

from blacklake_ml.api import Store


@pytest.fixture(scope="session")
def golden_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store seeded once per session (copied for each test, which may write to it)."""
    home = tmp_path_factory.mktemp("golden") / "home"
    src = tmp_path_factory.mktemp("seed-src")
    with Store.open(home) as store:
        seed_store(store, src)
    return home


@pytest.fixture
def store_home(golden_home: Path, tmp_path: Path) -> Path:
    """A private copy of the seeded store."""
    home = tmp_path / "blacklake-home"
    shutil.copytree(golden_home, home)
    return home


@pytest.fixture
def jp_server_config(store_home: Path) -> dict[str, Any]:
    """Enable the extension and point it at the test's store."""
    return {"ServerApp": {"jpserver_extensions": {"blacklake_ml.jupyter": True}},
            "BlackLake": {"home": str(store_home)}}


@pytest.fixture
def api(jp_fetch: Any) -> Call:
    """``await api(METHOD, "repos/hub", params=..., body=...)`` -> ``(status, JSON)``.

    ``params`` may be a dict or a list of pairs (repeated parameters); ``body`` a JSON-able
    value or raw ``bytes``. Errors come back as their status, never as exceptions.
    """

    async def call(method: str, route: str, *, params: Any = None, body: Any = None
                   ) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        if body is not None:
            kwargs["body"] = body if isinstance(body, bytes) else json.dumps(body)
        elif method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = b""
        if kwargs.get("body") is not None and method in ("DELETE", "GET"):
            kwargs["allow_nonstandard_methods"] = True
        query = params if params else None
        resp = await jp_fetch("blacklake", "api", *route.split("/"), params=query, **kwargs)
        text = resp.body.decode() if resp.body else ""
        try:
            return resp.code, json.loads(text) if text else None
        except json.JSONDecodeError:
            return resp.code, text

    return call
