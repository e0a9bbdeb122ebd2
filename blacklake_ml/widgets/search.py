"""``SearchBox``: search models and datasets; the selected hit's URI comes back to Python."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

import traitlets

from blacklake_ml.core.uri import BlacklakeURI
from blacklake_ml.errors import InvalidInput
from blacklake_ml.widgets._base import StoreWidget, esm, number, store_command, text

MODES = ("hybrid", "bm25", "dense")


def filter_strings(filters: Iterable[str] | Mapping[str, Any]) -> list[str]:
    """Filters as the CLI's strings, whichever form ``store.search`` takes them in: a
    mapping ``{"license_family": "permissive", "parameters": (None, 1e9)}`` (a pair is a
    numeric range, either end None) becomes ``["license_family=permissive",
    "parameters<=1000000000.0"]``; strings pass through."""
    if not isinstance(filters, Mapping):
        return [str(f) for f in filters]
    out: list[str] = []
    for key, value in filters.items():
        if isinstance(value, (list, tuple)) and len(value) == 2:
            lo, hi = value
            out += ([f"{key}>={lo}"] if lo is not None else []) + \
                ([f"{key}<={hi}"] if hi is not None else [])
        else:
            out.append(f"{key}={value}")
    return out


class SearchBox(StoreWidget):
    """A search field and its hits, best first; clicking a hit selects its URI.

    ::

        box = SearchBox("a small German sentiment model", store=store)
        box                                   # shows it (hits of the initial query)
        box.on_select(lambda uri: print(uri)) # called on every selection
        box.value                             # the selected URI, None until one is chosen
        box.search("iris", filters=["license_family=permissive"])

    ``filters`` take the CLI's ``K=V`` / ``K<N`` strings (``language=de``,
    ``parameters<1e9``) or, as ``store.search`` does, a mapping (``{"language": "de"}``;
    kept as the strings); ``mode`` is ``hybrid``, ``bm25`` or ``dense``.
    """

    _esm = esm("search_box.js")

    query = traitlets.Unicode("").tag(sync=True)
    #: facet filters, ``K=V`` / ``K<N`` / ``K>N`` strings
    filters = traitlets.List(traitlets.Unicode()).tag(sync=True)
    #: only cards of this repository ('' = all)
    repo = traitlets.Unicode("").tag(sync=True)
    k = traitlets.Int(10).tag(sync=True)
    mode = traitlets.Unicode("hybrid").tag(sync=True)
    #: hits as ``blacklake search --json`` prints them
    results = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: whether a search ran (so "no results" can be told from "not searched yet")
    searched = traitlets.Bool(False).tag(sync=True)

    def __init__(self, query: str = "", *,
                 filters: Iterable[str] | Mapping[str, Any] = (), repo: str = "",
                 k: int = 10, mode: str = "hybrid", store: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(store=store, **kwargs)
        with self.hold_sync():
            self.filters, self.repo = filter_strings(filters), repo
            self.k, self.mode = k, mode
        if query:
            self.search(query)

    # -- Python API -----------------------------------------------------------------------
    def search(self, query: str | None = None, *,
               filters: Iterable[str] | Mapping[str, Any] | None = None,
               repo: str | None = None, k: int | None = None, mode: str | None = None
               ) -> list[dict[str, Any]]:
        """Run a search (arguments default to the widget's current ones) and show it."""
        query = self.query if query is None else query
        filters = filter_strings(self.filters if filters is None else filters)
        repo = self.repo if repo is None else repo
        k = self.k if k is None else k
        mode = mode or self.mode
        if mode not in MODES:
            raise InvalidInput(f"mode must be one of {', '.join(MODES)}")
        if not 1 <= k <= 1000:
            raise InvalidInput("k must be from 1 to 1000")
        hits = []
        if query.strip():
            hits = [h.to_json() for h in self.store.search(
                query, k=k, repo=repo or None, filters=filters, mode=cast(Any, mode))]
        with self.hold_sync():
            self.query, self.filters, self.repo, self.k, self.mode = query, filters, repo, k, \
                mode
            self.results = hits
            self.searched = bool(query.strip())
            self.selected = ""
        return hits

    def select(self, uri: str) -> str:
        """Select the hit with URI ``uri`` (it must be one of the results)."""
        BlacklakeURI.parse(uri)
        if uri not in {h["uri"] for h in self.results}:
            raise InvalidInput(f"{uri} is not one of the results")
        self.selected = uri
        return uri

    # -- commands -------------------------------------------------------------------------
    @store_command
    def cmd_search(self, msg: dict[str, Any]) -> dict[str, Any]:
        raw = msg.get("filters")
        if raw is not None and (not isinstance(raw, list)
                                or not all(isinstance(f, str) for f in raw)):
            raise InvalidInput("filters must be a list of strings")
        mode = text(msg, "mode")
        hits = self.search(text(msg, "query", "") or "", filters=raw, repo=text(msg, "repo"),
                           k=number(msg, "k", self.k, 1, 1000), mode=mode)
        return {"count": len(hits)}

    @store_command
    def cmd_select(self, msg: dict[str, Any]) -> dict[str, Any]:
        return {"uri": self.select(text(msg, "uri", "") or "")}
