"""Hostile strings from the store reach the browser unchanged as data, and the widgets'
JavaScript puts them on the page as text only (checked statically, and by rendering each
module in Node against a fake DOM whose HTML-parsing APIs throw)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from blacklake_ml.widgets import CommitHistory, LineageGraph, RepoBrowser, SearchBox

HOSTILE_DESC = '<script>alert("repo")</script>'
HOSTILE_FILE = "<img src=x onerror=alert(1)>.txt"
HOSTILE_MESSAGE = "</code><script>alert(2)</script>"
HOSTILE_AUTHOR = '"><svg onload=alert(3)>'
HOSTILE_META = "<iframe src=javascript:alert(4)>"
HOSTILE_TITLE = "<b onmouseover=alert(5)>Evil</b> sentiment model"
CARD = f"""---
license: mit
tags: ["<script>alert(6)</script>"]
datasets: ["<img src=y onerror=alert(7)>"]
---
# {HOSTILE_TITLE}

Scores reviews. <script>alert(8)</script>
"""

STATIC = resources.files("blacklake_ml.widgets").joinpath("static")
MODULES = ["repo_browser.js", "commit_history.js", "search_box.js", "lineage_graph.js"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from blacklake_ml import Store
    from blacklake_ml.demo import safetensors_bytes, tiny_bert_weights

    store = Store.open(tmp_path_factory.mktemp("hostile"))
    repo = store.create_repo("xss", HOSTILE_DESC)
    with repo.transaction("main", HOSTILE_MESSAGE, author=HOSTILE_AUTHOR) as tx:
        tx.put_bytes(b"hello", HOSTILE_FILE, {"note": HOSTILE_META})
        tx.put_bytes(CARD.encode(), "model/README.md")
        tx.put_bytes(safetensors_bytes(tiny_bert_weights(1)), "model/model.safetensors")
    yield store
    store.close()


def test_store_strings_reach_the_traits_verbatim(hostile: Any) -> None:
    b = RepoBrowser("xss", store=hostile)
    assert {"name": "xss", "description": HOSTILE_DESC} in b.repos
    entry = next(e for e in b.entries if e["path"] == HOSTILE_FILE)
    assert entry["name"] == HOSTILE_FILE and entry["meta"] == {"note": HOSTILE_META}
    assert b.select(HOSTILE_FILE) == f"blacklake://xss/main/{HOSTILE_FILE}"
    h = CommitHistory("xss", store=hostile)
    assert (h.commits[0]["message"], h.commits[0]["author"]) == (HOSTILE_MESSAGE,
                                                                HOSTILE_AUTHOR)
    box = SearchBox("evil sentiment", store=hostile, mode="bm25")
    assert box.results[0]["name"] == HOSTILE_TITLE
    assert box.results[0]["facts"]["tags"] == ["<script>alert(6)</script>"]
    g = LineageGraph("blacklake://xss/main/model", store=hostile)
    nodes = {n["id"]: n for n in g.graph["nodes"]}
    assert nodes["blacklake://xss/main/model"]["label"] == HOSTILE_TITLE
    # a dataset name no card matches, and the commit message, travel verbatim too
    assert nodes["dataset:<img src=y onerror=alert(7)>"]["label"] == "<img src=y onerror=alert(7)>"
    assert next(n for n in g.graph["nodes"] if n["kind"] == "commit")["label"] == HOSTILE_MESSAGE
    # what is synced is JSON: the strings travel as JSON strings, unchanged
    state = json.loads(json.dumps(box.get_state(), default=str))
    assert state["results"][0]["name"] == HOSTILE_TITLE


def test_javascript_never_parses_html_or_fetches() -> None:
    sources = {name: STATIC.joinpath(name).read_text("utf-8")
               for name in ["_common.js", *MODULES]}
    for name, src in sources.items():
        code = re.sub(r"//.*", "", src)  # comments may mention what is avoided
        for bad in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                    "eval(", "new Function", "DOMParser", "createContextualFragment",
                    "fetch(", "XMLHttpRequest", "import(", ".src =", ".href ="):
            assert bad not in code, (name, bad)
        assert not re.search(r"^\s*import\s", code, re.MULTILINE), name  # no external imports
        urls = set(re.findall(r"https?://[^\s\"'`]+", code)) - {"http://www.w3.org/2000/svg"}
        assert not urls, (name, urls)  # no CDN, no network
        if name != "_common.js":
            assert "export default { render }" in code
    # the helpers refuse to set URL-valued attributes at all
    assert "never set URL attributes" in sources["_common.js"]


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is needed for the widget render test under CI")
        pytest.skip("node is not installed")
    return node


def render(widget: Any, tmp_path: Path) -> dict[str, Any]:
    """Render ``widget``'s module with its current state in Node (fake DOM)."""
    module = tmp_path / f"{type(widget).__name__}.mjs"
    module.write_text(widget._esm)
    state = tmp_path / f"{type(widget).__name__}.json"
    state.write_text(json.dumps(widget.get_state(), default=str))
    harness = Path(__file__).with_name("render_harness.mjs")
    out = subprocess.run([node_binary(), str(harness), str(module), str(state)],
                         check=False, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


ALLOWED_TAGS = {"div", "span", "select", "option", "optgroup", "button", "nav", "ul", "ol",
                "li", "code", "input", "form", "svg", "defs", "marker", "path", "g", "title",
                "rect", "text"}


def check_page(page: dict[str, Any], must_show: list[str]) -> None:
    assert set(page["tags"]) <= ALLOWED_TAGS, page["tags"]  # no <script>, <img>, <iframe>
    texts = "\n".join(page["texts"])
    for s in must_show:
        assert s in texts, s
    for tag, key, _value in page["attributes"]:
        assert not key.lower().startswith("on"), (tag, key)  # no event-handler attributes
        assert key.lower() not in ("href", "src", "xlink:href", "style"), (tag, key)


def test_rendered_pages_show_hostile_strings_as_text(hostile: Any, tmp_path: Path) -> None:
    b = RepoBrowser("xss", store=hostile)
    page = render(b, tmp_path)
    check_page(page, ["xss", HOSTILE_FILE, "note=" + HOSTILE_META])
    assert ["cmd_select", {"path": HOSTILE_FILE}] in page["calls"]
    assert ["cmd_open", {"path": "model"}] in page["calls"]

    h = CommitHistory("xss", store=hostile)
    h.select(h.commits[0]["id"])
    page = render(h, tmp_path)
    check_page(page, [HOSTILE_MESSAGE, HOSTILE_AUTHOR, HOSTILE_FILE])
    assert ["cmd_select", {"commit": h.commits[1]["id"]}] in page["calls"]

    box = SearchBox("evil sentiment", store=hostile, mode="bm25")
    page = render(box, tmp_path)
    check_page(page, [HOSTILE_TITLE, "blacklake://xss/main/model"])
    assert ["cmd_select", {"uri": "blacklake://xss/main/model"}] in page["calls"]

    g = LineageGraph("blacklake://xss/main/model", store=hostile)
    page = render(g, tmp_path)
    # node labels are clipped to fit the box; tooltips hold them whole
    check_page(page, [HOSTILE_TITLE[:25], HOSTILE_MESSAGE[:25], "<img src=y onerror=alert(7",
                      HOSTILE_AUTHOR, "dataset: <img src=y onerror=alert(7)>"])
    assert ["cmd_select", {"uri": "blacklake://xss/main/model"}] in page["calls"]
    commit = next(n for n in g.graph["nodes"] if n["kind"] == "commit")
    assert ["cmd_select", {"uri": commit["uri"]}] in page["calls"]
    # a node without a URI (the unmatched dataset name) is not clickable
    assert all(msg.get("uri", "").startswith("blacklake://") for _, msg in page["calls"])
