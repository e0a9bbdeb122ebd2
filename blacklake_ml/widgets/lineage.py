"""``LineageGraph``: where a model or dataset came from and what was made from it."""

from __future__ import annotations

from typing import Any

import traitlets

from blacklake_ml.core.uri import BlacklakeURI
from blacklake_ml.errors import InvalidInput
from blacklake_ml.search.lineage import MAX_DEPTH, neighbourhood
from blacklake_ml.widgets._base import StoreWidget, esm, number, store_command, text


class LineageGraph(StoreWidget):
    """The lineage neighbourhood of ``uri`` as a left-to-right graph: datasets, base models
    and the runs and commits that wrote it on the left, fine-tunes on the right, files
    sharing chunks dashed.

    Clicking a node selects its URI (``graph.value``); double-clicking re-centres the graph
    on it. The data is :func:`blacklake_ml.search.lineage.neighbourhood`'s document, the
    shape of the REST API's ``GET lineage`` (``{"uri", "center", "depth", "nodes", "edges",
    "truncated"}``, in the ``graph`` trait)::

        LineageGraph("blacklake://demo-sentiment-de/main", depth=2, store=store)
    """

    _esm = esm("lineage_graph.js")

    uri = traitlets.Unicode("").tag(sync=True)
    depth = traitlets.Int(1).tag(sync=True)
    #: ``{"uri", "center", "depth", "nodes", "edges", "truncated"}`` (see docs/rest-api.md)
    graph = traitlets.Dict().tag(sync=True)

    def __init__(self, uri: str, *, depth: int = 1, store: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(store=store, **kwargs)
        self.load(uri, depth)

    def load(self, uri: str | None = None, depth: int | None = None) -> dict[str, Any]:
        """Show the neighbourhood of ``uri`` (default: the current one)."""
        uri = uri or self.uri
        depth = self.depth if depth is None else depth
        BlacklakeURI.parse(uri)
        graph = neighbourhood(self.store, uri, depth)
        with self.hold_sync():
            self.uri, self.depth, self.graph = uri, depth, graph
            self.selected = ""
        return graph

    def select(self, uri: str) -> str:
        """Select the node whose URI is ``uri`` (it must be in the graph; run nodes and
        datasets no stored card matches have no URI and cannot be selected)."""
        if uri not in {n.get("uri") for n in self.graph.get("nodes", []) if n.get("uri")}:
            raise InvalidInput(f"{uri} is not in the graph")
        self.selected = uri
        return uri

    @store_command
    def cmd_load(self, msg: dict[str, Any]) -> None:
        self.load(text(msg, "uri"), number(msg, "depth", self.depth, 1, MAX_DEPTH))

    @store_command
    def cmd_select(self, msg: dict[str, Any]) -> dict[str, Any]:
        return {"uri": self.select(text(msg, "uri", "") or "")}
