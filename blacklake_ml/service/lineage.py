"""The lineage graph: what was consumed and produced by which run, recorded by the bridges.

Nodes are stored files/directories/commits (pinned to a commit and to their content id), runs
(MLflow runs, W&B runs, Kubeflow pipeline runs and tasks, DVC stages, notebook sessions) and
external artifacts (a W&B artifact, an ``s3://`` object, a code file of a DVC stage). Edges
point downstream, the way data flows::

    input --consumed--> run --produced--> output        source --derived_from--> copy

Stored nodes follow content: a query for ``blacklake://r/main/model`` matches nodes recorded
for that path at the commit ``main`` resolves to *or* with the same content id at any other
commit (a later, unrelated commit does not lose the model's lineage), plus nodes recorded for
its ancestor directories (``contains`` edges into the centre) and, for a directory, below it.

Bridges record through :meth:`Lineage.record_run` / :meth:`Lineage.record`; readers ask
:meth:`Lineage.graph` (the JSON shape of ``blacklake_ml.search.lineage.neighbourhood``, which
merges it into the Jupyter lineage view) or :meth:`Lineage.openlineage` for OpenLineage run
events other tools can read.
"""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, Literal, Protocol, get_args

from blacklake_ml.catalog import Catalog
from blacklake_ml.catalog.lineage_base import MAX_GRAPH_DEPTH, EdgeSpec, GraphDirection, NodeRow
from blacklake_ml.core.uri import SCHEME, BlacklakeURI
from blacklake_ml.core.version import __version__
from blacklake_ml.errors import InvalidInput, PathNotFound
from blacklake_ml.service.history import RepoRef
from blacklake_ml.service.objectdb import ObjectDB
from blacklake_ml.service.trees import lookup
from blacklake_ml.shapes import LineageNodeDoc, lineage_node_json

EdgeKind = Literal["consumed", "produced", "derived_from"]
EDGE_KINDS: tuple[str, ...] = get_args(EdgeKind)
RUN_TYPES = ("run", "task", "stage", "session", "pipeline_run")
NODE_KINDS = ("file", "directory", "commit", "run", "artifact", "dataset", "model")
MAX_DEPTH = MAX_GRAPH_DEPTH
MAX_NODES = 200
_MAX_FACETS = 64 * 1024
#: OpenLineage's ``producer`` for events this store writes
PRODUCER = f"https://github.com/blacklake-ml/blacklake-ml/tree/v{__version__}"
RUN_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
_FACET_SCHEMA = "https://github.com/blacklake-ml/blacklake-ml/blob/main/docs/openlineage.md"
_VERSION_FACET = ("https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json"
                  "#/$defs/DatasetVersionDatasetFacet")
_UUID_NS = uuid.UUID("6f9d0e2a-3b51-5c8e-9a47-b1ac4ec0f3d2")


#: A node of the lineage graph (see the module docstring for keys and kinds): the catalog's row
#: type, with ``id``/``created``/``updated`` left 0 until it is written.
LineageNode = NodeRow


def _check_text(name: str, value: str, limit: int = 1024) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"lineage {name} must be a non-empty string")
    if len(value) > limit or "\x00" in value:
        raise InvalidInput(f"lineage {name} is too long or holds a NUL byte: {value[:80]!r}")
    return value


def _check_facets(facets: Mapping[str, Any] | None) -> dict[str, Any]:
    import orjson

    out = dict(facets or {})
    try:
        size = len(orjson.dumps(out, option=orjson.OPT_NON_STR_KEYS))
    except TypeError as exc:
        raise InvalidInput(f"lineage facets must be JSON: {exc}") from None
    if size > _MAX_FACETS:
        raise InvalidInput(f"lineage facets are {size} bytes (at most {_MAX_FACETS})")
    return out


class LineageStore(Protocol):
    """What the lineage graph needs of its store: the catalog, the object reader (read when
    used: ``fsck --rebuild`` replaces it) and ``blacklake://`` URI resolution to
    ``(repository, commit id, path)``."""

    @property
    def catalog(self) -> Catalog: ...

    @property
    def odb(self) -> ObjectDB: ...

    def resolve_uri(self, uri: BlacklakeURI) -> tuple[RepoRef, str, str]: ...


class Lineage:
    """The store's lineage graph (``store.lineage``)."""

    def __init__(self, store: LineageStore) -> None:
        self.store = store
        self.index = store.catalog.lineage_index()

    # -- nodes ----------------------------------------------------------------------------
    def stored(self, uri: str) -> LineageNode:
        """The node for a stored file/directory (or commit, for a URI without path), pinned
        to the commit its ref resolves to now. Raises if the ref or path does not exist."""
        u = BlacklakeURI.parse(uri)
        repo, commit, path = self.store.resolve_uri(u)
        tree = self.store.odb.commit(commit).tree
        entry = lookup(self.store.odb, tree, path)
        if entry is None:
            raise PathNotFound(f"no such path in {repo.name} at {u.ref}: {path or '/'}")
        pinned = str(BlacklakeURI(repo.name, commit, path))
        if not path:
            kind, label = "commit", f"{repo.name}@{commit[:12]}"
        else:
            kind = "directory" if entry.kind == "dir" else "file"
            label = posixpath.basename(path)
        facets: dict[str, Any] = {"ref": u.ref}
        if entry.kind != "dir":
            facets["size"] = entry.size
        return LineageNode(key=pinned, kind=kind, label=label, uri=pinned, repo=repo.name,
                           path=path, commit=commit, object_id=entry.id, facets=facets)

    def run(self, system: str, run_id: str, *, name: str | None = None, type: str = "run",
            uri: str | None = None, facets: Mapping[str, Any] | None = None) -> LineageNode:
        """The node for a run of ``system`` (``mlflow``, ``wandb``, ``kfp``, ``dvc``,
        ``notebook``…); ``type`` is ``run``, ``task``, ``stage``, ``session`` or
        ``pipeline_run``."""
        _check_text("system", system, 32)
        _check_text("run id", run_id)
        if type not in RUN_TYPES:
            raise InvalidInput(f"run type must be one of {', '.join(RUN_TYPES)}, not {type!r}")
        f = _check_facets(facets)
        f.update({"type": type, "run_id": run_id})
        return LineageNode(key=f"run:{system}:{run_id}", kind="run",
                           label=name or f"{system} {type} {run_id[:12]}", uri=uri,
                           system=system, facets=f)

    def external(self, uri: str, *, kind: str = "artifact", label: str | None = None,
                 system: str | None = None, facets: Mapping[str, Any] | None = None
                 ) -> LineageNode:
        """The node for something outside the store, keyed by its URI."""
        _check_text("external URI", uri, 4096)
        if uri.startswith(SCHEME):
            raise InvalidInput(f"{uri} is stored in BlackLake: use stored()")
        if kind not in ("artifact", "dataset", "model", "file"):
            raise InvalidInput(f"external node kind must be artifact, dataset, model or file, "
                               f"not {kind!r}")
        name = label or posixpath.basename(uri.rstrip("/")) or uri
        return LineageNode(key=uri, kind=kind, label=name, uri=uri, system=system,
                           facets=_check_facets(facets))

    def node(self, ref: LineageNode | str) -> LineageNode:
        """``ref`` itself, or the node a URI names (stored for ``blacklake://``)."""
        if isinstance(ref, LineageNode):
            return ref
        if isinstance(ref, str) and ref.startswith(SCHEME):
            return self.stored(ref)
        return self.external(ref)

    # -- recording ------------------------------------------------------------------------
    def record(self, edges: Iterable[tuple[LineageNode | str, LineageNode | str, str]], *,
               facets: Mapping[str, Any] | None = None) -> int:
        """Add edges (and their nodes) in one transaction; idempotent. Returns the number
        of edges that were new."""
        f = _check_facets(facets)
        nodes: list[NodeRow] = []
        specs: list[EdgeSpec] = []
        for source, target, kind in edges:
            if kind not in EDGE_KINDS:
                raise InvalidInput(f"edge kind must be one of {', '.join(EDGE_KINDS)}, "
                                   f"not {kind!r}")
            s, t = self.node(source), self.node(target)
            if s.key == t.key:
                raise InvalidInput(f"a lineage edge cannot loop on {s.key}")
            nodes += [s, t]
            specs.append(EdgeSpec(s.key, t.key, kind, f))
        if not specs:
            return 0
        return self.index.record(nodes, specs)

    def record_run(self, run: LineageNode, *, inputs: Iterable[LineageNode | str] = (),
                   outputs: Iterable[LineageNode | str] = ()) -> None:
        """``inputs --consumed--> run --produced--> outputs`` (the run node is recorded even
        with neither)."""
        if run.kind != "run":
            raise InvalidInput(f"{run.key} is not a run")
        edges: list[tuple[LineageNode | str, LineageNode | str, str]] = []
        edges += [(i, run, "consumed") for i in inputs]
        edges += [(run, o, "produced") for o in outputs]
        if edges:
            self.record(edges)
        else:
            self.index.record([run], [])

    # -- reading --------------------------------------------------------------------------
    def _start(self, start: str) -> tuple[str, LineageNode | None, dict[int, str],
                                          list[tuple[str, str, str]]]:
        """The centre id, its node if not stored yet, the stored node ids standing for the
        centre or linked to it (id -> graph id) and extra ``contains`` edges."""
        if not start.startswith(SCHEME):
            rows = self.index.nodes_by_keys([start])
            if not rows:
                raise InvalidInput(f"no lineage node {start!r} (a blacklake:// URI or a node "
                                   "key such as run:mlflow:<run id>)")
            return start, None, {rows[0].id: start}, []
        center = self.stored(start)
        assert center.repo is not None and center.path is not None and center.commit
        path = center.path
        ancestors = []
        p = path
        while p:
            p = posixpath.dirname(p)
            ancestors.append(p)
        candidates = self.index.nodes_at(center.repo, [path, *ancestors],
                                         under=path if center.kind != "file" else None)
        tree = self.store.odb.commit(center.commit).tree
        ids: dict[int, str] = {}
        extra: list[tuple[str, str, str]] = []
        for r in candidates:
            assert r.path is not None
            if r.commit != center.commit:
                entry = lookup(self.store.odb, tree, r.path)
                if entry is None or entry.id != r.object_id:
                    continue  # that path held other content: not this asset's lineage
            if r.path == path:
                ids[r.id] = center.key  # same content, another commit: the same node
            else:
                ids[r.id] = r.key
                if len(r.path) < len(path):
                    extra.append((r.key, center.key, "contains"))
                else:
                    extra.append((center.key, r.key, "contains"))
        return center.key, center, ids, extra

    def graph(self, start: str, *, depth: int = 3, direction: GraphDirection = "both",
              max_nodes: int = MAX_NODES) -> dict[str, Any]:
        """Upstream and/or downstream of ``start`` (a ``blacklake://`` URI or a node key),
        ``depth`` edges out. ``{"uri", "center", "depth", "direction", "nodes", "edges",
        "truncated"}``; nodes carry ``id``, ``kind``, ``label`` and what is known (``uri``,
        ``repo``, ``path``, ``commit``, ``system``, ``facets``); edges ``source``,
        ``target``, ``kind``."""
        if not 1 <= depth <= MAX_DEPTH:
            raise InvalidInput(f"depth must be from 1 to {MAX_DEPTH}")
        if direction not in ("up", "down", "both"):
            raise InvalidInput("direction must be up, down or both")
        if max_nodes < 1:
            raise InvalidInput("max_nodes must be at least 1")
        center_id, center, alias, extra = self._start(start)
        rows: dict[int, NodeRow] = {r.id: r for r in self.index.nodes_by_ids(list(alias))}
        edges: dict[tuple[str, str, str], dict[str, Any]] = {}
        truncated = False
        seen: set[int] = set(alias)
        ways = ("up", "down") if direction == "both" else (direction,)
        starts = set(alias)  # each way walks from the centre only, not from the other's finds
        for way in ways:
            frontier = set(starts)
            for _ in range(depth):
                if not frontier:
                    break
                found = self.index.edges(sorted(frontier), way)  # type: ignore[arg-type]
                nxt = {e.source if way == "up" else e.target for e in found} - seen
                room = max_nodes - len(seen)
                if len(nxt) > room:
                    truncated = True
                    nxt = set(sorted(nxt)[:max(room, 0)])
                seen |= nxt
                for r in self.index.nodes_by_ids(sorted(nxt)):
                    rows[r.id] = r
                    alias.setdefault(r.id, r.key)
                for e in found:
                    if e.source in alias and e.target in alias:
                        s, t = alias[e.source], alias[e.target]
                        if s != t:
                            edges.setdefault((s, t, e.kind), {"source": s, "target": t,
                                                              "kind": e.kind, **e.facets})
                frontier = nxt
        nodes: dict[str, LineageNodeDoc] = {}
        if center is not None:
            nodes[center_id] = lineage_node_json(center, center=True)
        for rid, r in rows.items():
            gid = alias[rid]
            if gid not in nodes:
                nodes[gid] = lineage_node_json(r, center=gid == center_id)
        for s, t, k in extra:
            if s in nodes and t in nodes:
                edges.setdefault((s, t, k), {"source": s, "target": t, "kind": k})
        return {"uri": start, "center": center_id, "depth": depth, "direction": direction,
                "nodes": list(nodes.values()), "edges": list(edges.values()),
                "truncated": truncated}

    def upstream(self, start: str, *, depth: int = 3) -> dict[str, Any]:
        """What ``start`` came from."""
        return self.graph(start, depth=depth, direction="up")

    def downstream(self, start: str, *, depth: int = 3) -> dict[str, Any]:
        """What came from ``start``."""
        return self.graph(start, depth=depth, direction="down")

    def openlineage(self, start: str, *, depth: int = 3) -> list[dict[str, Any]]:
        """OpenLineage ``RunEvent``s (``COMPLETE``) for every run in ``start``'s graph, each
        with all the run's recorded inputs and outputs, oldest run first."""
        g = self.graph(start, depth=depth)
        run_keys = [n["id"] for n in g["nodes"] if n["kind"] == "run"]
        runs = {r.id: r for r in self.index.nodes_by_keys(run_keys)}
        if not runs:
            return []
        ins = self.index.edges(sorted(runs), "up")
        outs = self.index.edges(sorted(runs), "down")
        other = {e.source for e in ins} | {e.target for e in outs}
        by_id = {r.id: r for r in self.index.nodes_by_ids(sorted(other))}
        events = []
        for rid, run in sorted(runs.items(), key=lambda kv: (kv[1].created, kv[1].key)):
            inputs = [by_id[e.source] for e in ins if e.target == rid and e.kind == "consumed"]
            outputs = [by_id[e.target] for e in outs if e.source == rid
                       and e.kind == "produced"]
            events.append(_run_event(run, inputs, outputs))
        return events

    def stats(self) -> dict[str, int]:
        """How many nodes and edges are recorded."""
        return self.index.count()


def _iso(t: Any) -> str:
    if isinstance(t, (int, float)):
        return datetime.fromtimestamp(float(t), timezone.utc).isoformat()
    return str(t)


def _dataset(r: NodeRow) -> dict[str, Any]:
    """An OpenLineage dataset: stored things are ``blacklake://<repo>`` + path, versioned by
    commit; external URIs split into scheme://authority + the rest."""
    facets: dict[str, Any] = {}
    if r.repo is not None:
        namespace, name = f"{SCHEME}{r.repo}", r.path or "/"
        facets["version"] = {"_producer": PRODUCER, "_schemaURL": _VERSION_FACET,
                             "datasetVersion": r.commit}
        facets["blacklake"] = {"_producer": PRODUCER,
                               "_schemaURL": f"{_FACET_SCHEMA}#blacklake-dataset-facet",
                               "uri": r.key, "object_id": r.object_id, "kind": r.kind}
    else:
        scheme, sep, rest = r.key.partition("://")
        if sep:
            authority, _, path = rest.partition("/")
            namespace, name = f"{scheme}://{authority}", path or "/"
        else:
            namespace, name = r.system or "external", r.key
    return {"namespace": namespace, "name": name, "facets": facets}


def _run_event(run: NodeRow, inputs: list[NodeRow], outputs: list[NodeRow]) -> dict[str, Any]:
    f = dict(run.facets)
    when = f.get("end_time") or f.get("start_time") or run.updated
    return {
        "eventType": "COMPLETE",
        "eventTime": _iso(when),
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT_SCHEMA,
        "run": {"runId": str(uuid.uuid5(_UUID_NS, run.key)),
                "facets": {"blacklake_run": {
                    "_producer": PRODUCER, "_schemaURL": f"{_FACET_SCHEMA}#blacklake-run-facet",
                    "key": run.key, "system": run.system, "label": run.label,
                    **({"uri": run.uri} if run.uri else {}), **f}}},
        "job": {"namespace": f"blacklake.{run.system or 'run'}",
                "name": str(f.get("job") or f.get("pipeline") or f.get("experiment")
                            or run.label), "facets": {}},
        "inputs": [_dataset(r) for r in inputs],
        "outputs": [_dataset(r) for r in outputs],
    }
