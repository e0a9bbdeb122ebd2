"""Control characters and over-long segments through the REST API (issue 10): 400 with a
one-line message, and the store unchanged (the routes validate through the service)."""

from __future__ import annotations

from typing import Any

import pytest
from jupyter_helpers import Call

BAD_NAMES = ["x\ny", "dev\r\n", "\x1b[31m", "a\tb", "x\x7f"]
# (tornado's get_argument already turns most C0 controls in query arguments, ESC included,
# into spaces; LF, CR, TAB and DEL reach the service, which refuses them)
BAD_PATHS = ["a\nb", "dir/\rx", "a\tb", "x\x7f", "s" * 256, "é" * 128]


async def _refs(api: Call) -> Any:
    _, doc = await api("GET", "repos/hub/refs")
    return doc


@pytest.mark.parametrize("name", BAD_NAMES)
async def test_bad_branch_and_tag_names_are_400(api: Call, name: str) -> None:
    before = await _refs(api)
    for method, route, body in (("POST", "repos/hub/branches", {"name": name}),
                                ("POST", "repos/hub/branches", {"name": "ok", "from": name}),
                                ("POST", "repos/hub/tags", {"name": name, "ref": "main"}),
                                ("POST", "repos/hub/merge", {"source": name,
                                                             "target": "main"})):
        status, err = await api(method, route, body=body)
        assert status == 400, (route, body, err)
        assert err["reason"] in ("InvalidName", "InvalidInput"), err
        assert "\n" not in err["message"] and "\r" not in err["message"]
    assert await _refs(api) == before


@pytest.mark.parametrize("path", BAD_PATHS)
async def test_bad_paths_are_400(api: Call, path: str) -> None:
    for route in ("repos/hub/tree/main", "repos/hub/file/main"):
        status, err = await api("GET", route, params={"path": path})
        assert status == 400 and err["reason"] == "InvalidPath", (route, err)
        assert "\n" not in err["message"] and "\r" not in err["message"]
