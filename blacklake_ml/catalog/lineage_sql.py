""":class:`LineageIndex` on the SQL catalog (SQLite or PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from blacklake_ml.catalog import lineage_schema as ls
from blacklake_ml.catalog.batches import chunks as _chunks
from blacklake_ml.catalog.lineage_base import Direction, EdgeRow, EdgeSpec, LineageIndex, NodeRow
from blacklake_ml.core.retry import LOST, Lost, retry_cas
from blacklake_ml.errors import CatalogError, InvalidInput

if TYPE_CHECKING:
    # what this index needs of SqlCatalog (which imports this module): a protocol, not the class
    from blacklake_ml.catalog.sql_tx import SqlTransactions as SqlCatalog

#: a concurrent writer inserting the same node key makes our insert fail; try again
_RETRIES = 5


def _node(r: Any) -> NodeRow:
    return NodeRow(key=r.key, kind=r.kind, label=r.label, uri=r.uri, repo=r.repo, path=r.path,
                   commit=r.commit_id, object_id=r.object_id, system=r.system,
                   facets=orjson.loads(r.facets), created=r.created, updated=r.updated,
                   id=r.id)


def _escape_like(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SqlLineageIndex(LineageIndex):
    """Lineage nodes and edges in two tables; keys are unique, edges are a set."""

    def __init__(self, catalog: SqlCatalog) -> None:
        self.catalog = catalog

    def record(self, nodes: Sequence[NodeRow], edges: Sequence[EdgeSpec]) -> int:
        def attempt() -> int | Lost:
            try:
                with self.catalog._tx(write=True) as conn:
                    ids = self._upsert(conn, nodes)
                    return self._add_edges(conn, ids, edges)
            except IntegrityError:  # rolled back; the next try finds their node and updates it
                return LOST

        return retry_cas(attempt, attempts=_RETRIES, wait=None, give_up=lambda: CatalogError(
            "lineage: lost a race on node keys five times"))

    def _upsert(self, conn: Connection, nodes: Sequence[NodeRow]) -> dict[str, int]:
        n = ls.lineage_nodes
        now = time.time()
        merged: dict[str, NodeRow] = {}
        for node in nodes:  # the same key twice in one call: later fields win, facets merge
            old = merged.get(node.key)
            if old is not None:
                node = NodeRow(**{**vars(old), **{k: v for k, v in vars(node).items()
                                                  if v not in (None, "", 0, 0.0)},
                                  "facets": {**old.facets, **node.facets}})
            merged[node.key] = node
        existing: dict[str, Any] = {}
        for part in _chunks(list(merged)):
            for r in conn.execute(sa.select(n).where(n.c.key.in_(part))):
                existing[r.key] = r
        ids: dict[str, int] = {}
        for key, node in merged.items():
            old = existing.get(key)
            if old is None:
                res = conn.execute(n.insert().values(
                    key=key, kind=node.kind, label=node.label, uri=node.uri, repo=node.repo,
                    path=node.path, commit_id=node.commit, object_id=node.object_id,
                    system=node.system, facets=orjson.dumps(dict(node.facets)).decode(),
                    created=now, updated=now))
                pk = res.inserted_primary_key
                assert pk is not None
                ids[key] = int(pk[0])
                continue
            ids[key] = int(old.id)
            facets = {**orjson.loads(old.facets), **node.facets}
            values: dict[str, Any] = {"facets": orjson.dumps(facets).decode(), "updated": now}
            for col, value in (("label", node.label), ("uri", node.uri),
                               ("system", node.system)):
                if value:
                    values[col] = value
            conn.execute(n.update().where(n.c.id == old.id).values(**values))
        return ids

    def _add_edges(self, conn: Connection, ids: dict[str, int], edges: Sequence[EdgeSpec]
                   ) -> int:
        e = ls.lineage_edges
        missing = sorted({k for sp in edges for k in (sp.source, sp.target)} - set(ids))
        for part in _chunks(missing):
            for r in conn.execute(sa.select(ls.lineage_nodes.c.key, ls.lineage_nodes.c.id)
                                  .where(ls.lineage_nodes.c.key.in_(part))):
                ids[r.key] = int(r.id)
        unknown = [k for k in missing if k not in ids]
        if unknown:
            raise InvalidInput(f"lineage edge names an unknown node: {unknown[0]!r}")
        wanted = {(ids[sp.source], ids[sp.target], sp.kind): sp for sp in edges}
        have: set[tuple[int, int, str]] = set()
        sources = sorted({s for s, _, _ in wanted})
        for part in _chunks(sources):
            for s_id, t_id, kind in conn.execute(
                    sa.select(e.c.source_id, e.c.target_id, e.c.kind)
                    .where(e.c.source_id.in_(part))):
                have.add((s_id, t_id, kind))
        now = time.time()
        rows = [{"source_id": s, "target_id": t, "kind": k,
                 "facets": orjson.dumps(dict(sp.facets)).decode(), "created": now}
                for (s, t, k), sp in wanted.items() if (s, t, k) not in have]
        if rows:
            conn.execute(e.insert(), rows)
        return len(rows)

    def nodes_by_keys(self, keys: Sequence[str]) -> list[NodeRow]:
        return self._nodes_where(ls.lineage_nodes.c.key, keys)

    def nodes_by_ids(self, ids: Sequence[int]) -> list[NodeRow]:
        return self._nodes_where(ls.lineage_nodes.c.id, ids)

    def _nodes_where(self, column: sa.Column[Any], values: Sequence[Any]) -> list[NodeRow]:
        """The nodes whose ``column`` is one of ``values`` (in batches)."""
        out: list[NodeRow] = []
        with self.catalog._tx() as conn:
            for part in _chunks(list(values)):
                out.extend(_node(r) for r in conn.execute(
                    sa.select(ls.lineage_nodes).where(column.in_(part))))
        return out

    def nodes_at(self, repo: str, paths: Sequence[str], *, under: str | None = None,
                 limit: int = 500) -> list[NodeRow]:
        n = ls.lineage_nodes
        cond: sa.ColumnElement[bool] = n.c.path.in_(list(paths)) if paths else sa.false()
        if under is not None:
            cond = sa.or_(cond, n.c.path.isnot(None) if under == "" else
                          n.c.path.like(_escape_like(under) + "/%", escape="\\"))
        q = (sa.select(n).where(n.c.repo == repo, cond)
             .order_by(n.c.updated.desc(), n.c.id.desc()).limit(limit))
        with self.catalog._tx() as conn:
            return [_node(r) for r in conn.execute(q)]

    def edges(self, ids: Sequence[int], direction: Direction) -> list[EdgeRow]:
        e = ls.lineage_edges
        col = e.c.target_id if direction == "up" else e.c.source_id
        out: list[EdgeRow] = []
        with self.catalog._tx() as conn:
            for part in _chunks(list(ids)):
                for r in conn.execute(sa.select(e).where(col.in_(part))):
                    out.append(EdgeRow(r.source_id, r.target_id, r.kind,
                                       orjson.loads(r.facets), r.created))
        return out

    def count(self) -> dict[str, int]:
        with self.catalog._tx() as conn:
            nodes = conn.execute(sa.select(sa.func.count()).select_from(ls.lineage_nodes))
            n = int(nodes.scalar() or 0)
            edges = conn.execute(sa.select(sa.func.count()).select_from(ls.lineage_edges))
            return {"nodes": n, "edges": int(edges.scalar() or 0)}
