"""The store the extension serves comes from ``c.BlackLake.*`` or the user's default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jupyter_helpers import Call

from blacklake_ml.api import Store

EXT = {"jpserver_extensions": {"blacklake_ml.jupyter": True}}


@pytest.fixture
def jp_server_config(request: pytest.FixtureRequest, tmp_path: Path,
                     monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    kind = request.param
    if kind == "default":  # nothing configured: BLACKLAKE_HOME, as for the CLI
        monkeypatch.setenv("BLACKLAKE_HOME", str(tmp_path / "env-home"))
        with Store.open(tmp_path / "env-home") as store:
            store.create_repo("from-env")
        return {"ServerApp": dict(EXT)}
    if kind == "split":  # storage and catalog set apart from the home
        return {"ServerApp": dict(EXT), "BlackLake": {
            "home": str(tmp_path / "h"), "storage": str(tmp_path / "objects"),
            "catalog": f"sqlite:///{tmp_path / 'cat.sqlite'}"}}
    if kind == "broken":
        return {"ServerApp": dict(EXT), "BlackLake": {"home": str(tmp_path / "h"),
                                                       "catalog": "nosuchdb://x"}}
    return {"ServerApp": dict(EXT), "BlackLake": {"home": str(tmp_path / "empty")}}


@pytest.mark.parametrize("jp_server_config", ["empty"], indirect=True)
async def test_an_empty_store(api: Call, tmp_path: Path) -> None:
    status, doc = await api("GET", "status")
    assert status == 200 and doc["ok"] is True and doc["empty"] is True
    assert doc["counts"] == {"repos": 0, "cards": 0}
    assert doc["store"]["home"] == str(tmp_path / "empty")
    _, repos = await api("GET", "repos")
    assert repos == {"items": [], "offset": 0, "limit": 100, "total": 0, "has_more": False}


@pytest.mark.parametrize("jp_server_config", ["default"], indirect=True)
async def test_default_store_follows_blacklake_home(api: Call, tmp_path: Path) -> None:
    _, doc = await api("GET", "status")
    assert doc["store"]["home"] == str(tmp_path / "env-home")
    _, repos = await api("GET", "repos")
    assert [r["name"] for r in repos["items"]] == ["from-env"]


@pytest.mark.parametrize("jp_server_config", ["split"], indirect=True)
async def test_storage_and_catalog_traits(api: Call, tmp_path: Path) -> None:
    _, doc = await api("GET", "status")
    assert doc["store"]["objects_dir"] == str(tmp_path / "objects")
    assert doc["store"]["catalog"] == f"sqlite:///{tmp_path / 'cat.sqlite'}"
    assert (tmp_path / "cat.sqlite").exists()


@pytest.mark.parametrize("jp_server_config", ["broken"], indirect=True)
async def test_a_store_that_cannot_open_is_reported(api: Call) -> None:
    status, doc = await api("GET", "status")
    assert status == 200 and doc["ok"] is False and doc["store"] is None
    assert doc["error"]["reason"] == "CatalogError" and "nosuchdb" in doc["error"]["message"]
    status, err = await api("GET", "repos")
    assert status == 500 and err["reason"] == "CatalogError"
