"""The lineage-graph interface of a catalog: nodes (stored things, runs, external artifacts)
and directed edges between them (``consumed``, ``produced``, ``derived_from``).

Unlike the search tables, lineage is *recorded* — it says what ran, which cannot be derived
from the objects — so ``fsck --rebuild`` never drops it. Implementations make each method one
transaction.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

#: the deepest lineage graph a query may ask for (the CLI's --depth range says the same)
MAX_GRAPH_DEPTH = 10
#: which way a lineage graph walks from its start
GraphDirection = Literal["up", "down", "both"]

Direction = Literal["up", "down"]


@dataclass(frozen=True)
class NodeRow:
    """A lineage node (``blacklake_ml.service.lineage.LineageNode``): ``key`` is unique,
    ``facets`` free JSON; ``id``, ``created`` and ``updated`` are the catalog's (0 before it
    is written)."""

    key: str
    kind: str
    label: str
    uri: str | None = None
    repo: str | None = None
    path: str | None = None
    commit: str | None = None
    object_id: str | None = None
    system: str | None = None
    facets: Mapping[str, Any] = field(default_factory=dict)
    created: float = 0.0
    updated: float = 0.0
    id: int = 0


@dataclass(frozen=True)
class EdgeRow:
    """A directed edge ``source -> target`` (downstream) between two node ids."""

    source: int
    target: int
    kind: str
    facets: Mapping[str, Any] = field(default_factory=dict)
    created: float = 0.0


@dataclass(frozen=True)
class EdgeSpec:
    """An edge to record, between node keys."""

    source: str
    target: str
    kind: str
    facets: Mapping[str, Any] = field(default_factory=dict)


class LineageIndex(ABC):
    """Lineage tables of a catalog."""

    @abstractmethod
    def record(self, nodes: Sequence[NodeRow], edges: Sequence[EdgeSpec]) -> int:
        """Upsert ``nodes`` by key (new facets merged over old ones; label, uri and the
        stored-object fields replaced when given) and add ``edges`` between nodes of this call
        or already stored, all in one transaction. Returns how many edges were new."""

    @abstractmethod
    def nodes_by_keys(self, keys: Sequence[str]) -> list[NodeRow]:
        """The stored nodes among ``keys``."""

    @abstractmethod
    def nodes_by_ids(self, ids: Sequence[int]) -> list[NodeRow]:
        """The nodes with these ids."""

    @abstractmethod
    def nodes_at(self, repo: str, paths: Sequence[str], *, under: str | None = None,
                 limit: int = 500) -> list[NodeRow]:
        """Stored-object nodes of ``repo`` whose path is one of ``paths`` or (``under`` not
        None) below the directory ``under`` ('' = the whole repository), newest first."""

    @abstractmethod
    def edges(self, ids: Sequence[int], direction: Direction) -> list[EdgeRow]:
        """Edges into (``up``) or out of (``down``) the nodes ``ids``."""

    @abstractmethod
    def count(self) -> dict[str, int]:
        """``{"nodes": n, "edges": m}``."""
