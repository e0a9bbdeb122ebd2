"""The REST answers never carry a store URL's credentials (issue 10).

``GET status`` shows where the store lives and, when it cannot open, the error; every other
route answers a failing store with a 500 whose body is the error. A catalog URL with a
password and a typo'd driver, and a storage URL with userinfo and a signature, must come
back masked in all of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jupyter_helpers import Call

PW = "s3cr3t-Pa55"
EXT = {"jpserver_extensions": {"blacklake_ml.jupyter": True}}
BROKEN_CATALOG = f"postgresql+psycopgg://analyst:{PW}@db.example:5432/blacklake"


@pytest.fixture
def jp_server_config(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    if request.param == "broken-catalog":
        return {"ServerApp": dict(EXT), "BlackLake": {"home": str(tmp_path / "h"),
                                                       "catalog": BROKEN_CATALOG}}
    return {"ServerApp": dict(EXT), "BlackLake": {
        "home": str(tmp_path / "h"),
        "storage": f"memory://AKIAEXAMPLE:{PW}@bucket/{tmp_path.name}?X-Amz-Signature={PW}"}}


@pytest.mark.parametrize("jp_server_config", ["broken-catalog"], indirect=True)
async def test_a_broken_catalog_is_reported_without_its_password(
        api: Call, caplog: pytest.LogCaptureFixture) -> None:
    status, doc = await api("GET", "status")
    assert status == 200 and doc["ok"] is False
    assert doc["error"]["reason"] == "CatalogError"
    assert "analyst:***@db.example" in doc["error"]["message"]
    assert PW not in json.dumps(doc)
    for route in ("repos", "repos/demo", "search"):
        status, err = await api("GET", route, params={"q": "x"} if route == "search" else None)
        assert status == 500 and err["reason"] == "CatalogError", (route, err)
        assert PW not in json.dumps(err)
    status, err = await api("POST", "repos/demo/branches", body={"name": "new"})
    assert status == 500 and err["reason"] == "CatalogError" and PW not in json.dumps(err)
    assert PW not in caplog.text


@pytest.mark.parametrize("jp_server_config", ["secret-storage"], indirect=True)
async def test_the_status_answer_masks_the_storage_url(api: Call, tmp_path: Path) -> None:
    status, doc = await api("GET", "status")
    assert status == 200 and doc["ok"] is True, doc
    assert doc["store"]["storage"] == (f"memory://AKIAEXAMPLE:***@bucket/{tmp_path.name}"
                                       "?X-Amz-Signature=***")
    assert PW not in json.dumps(doc)


def test_the_error_mapping_masks_whatever_built_the_message() -> None:
    """The boundary masks too: an error whose message was built without redaction (a
    plugin's storage backend, a future code path) still answers masked."""
    from tornado.web import HTTPError

    from blacklake_ml.errors import CatalogError, StorageError
    from blacklake_ml.jupyter.errors import error_response

    for exc in (CatalogError(f"cannot open catalog 'postgresql://u:{PW}@h/db': boom"),
                StorageError(f"GET https://b.s3.amazonaws.com/k?X-Amz-Signature={PW} failed"),
                HTTPError(502, "upstream %s failed", f"https://u:{PW}@proxy/x")):
        _status, body = error_response(exc)
        assert PW not in json.dumps(body) and "***" in body["message"]


@pytest.mark.parametrize("jp_server_config", ["secret-storage"], indirect=True)
async def test_the_server_log_is_masked(api: Call, jp_serverapp: Any,
                                        caplog: pytest.LogCaptureFixture) -> None:
    from blacklake_ml.core.redact import RedactingFilter

    await api("GET", "status")  # the extension is loaded and initialised
    assert any(isinstance(f, RedactingFilter) for f in jp_serverapp.log.filters)
    jp_serverapp.log.warning("store at %s failed", f"postgresql://u:{PW}@h/db")
    assert "u:***@h/db" in caplog.text and PW not in caplog.text
