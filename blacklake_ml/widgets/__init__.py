"""Notebook widgets for browsing a BlackLake store (extra ``notebook``: anywidget, ipywidgets).

>>> from blacklake_ml.widgets import RepoBrowser, CommitHistory, SearchBox, LineageGraph
>>> box = SearchBox("German sentiment", store=store)
>>> box                        # the last expression of a cell shows the widget
>>> box.value                  # URI of the hit the user selected (None until then)
>>> box.on_select(print)       # or get called with each selected URI

Each widget is an ``anywidget.AnyWidget`` whose JavaScript ships inside this package (no CDN,
no separate JupyterLab extension). The browser asks the kernel for data through anywidget
commands; the kernel answers with the public :class:`blacklake_ml.Store` verbs. The same
actions are Python methods (``browser.browse(path=...)``, ``box.search(...)``), and what the
widget shows lives in synced traits (``entries``, ``commits``, ``results``, ``graph``).

Importing this module is cheap: anywidget is imported when a widget class is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from blacklake_ml.widgets.browser import RepoBrowser
    from blacklake_ml.widgets.history import CommitHistory
    from blacklake_ml.widgets.lineage import LineageGraph
    from blacklake_ml.widgets.search import SearchBox

__all__ = ["CommitHistory", "LineageGraph", "RepoBrowser", "SearchBox"]

_WHERE = {
    "RepoBrowser": "blacklake_ml.widgets.browser",
    "CommitHistory": "blacklake_ml.widgets.history",
    "SearchBox": "blacklake_ml.widgets.search",
    "LineageGraph": "blacklake_ml.widgets.lineage",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'blacklake_ml.widgets' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
