"""The lineage neighbourhood of a stored asset: recorded lineage plus what the store implies.

One implementation serves the REST route ``GET lineage`` (``docs/rest-api.md``) and the
notebook widget :class:`blacklake_ml.widgets.LineageGraph`. The graph merges what the lineage
store recorded (:class:`blacklake_ml.service.lineage.Lineage`: runs of MLflow, W&B, Kubeflow,
DVC stages, with ``consumed``/``produced``/``derived_from`` edges and ``recorded: true`` on
their nodes) with what is derived from the store:

* the model card's ``base_model`` (parents) and the cards naming this one as their base model
  (children); the card's ``datasets`` (datasets), and for a dataset the cards declaring it in
  their ``datasets``; followed ``depth`` levels. A name in a card matches a card whose title,
  folder name or Hugging Face id is that name, or a repository whose root holds the card; a
  dataset name no card matches stays a node without ``uri``;
* stored files sharing chunks with the asset's file (the URI's file, else the asset's largest
  weights file, else its largest file), each linked to the asset card holding it;
* the commits that touched the asset, and the run ids in their metadata.

The shape is ``{"uri", "center", "depth", "nodes": [{id, kind, label, uri?, ...}],
"edges": [{source, target, kind}], "truncated"}``, as the lineage store's own graph. Edges
point downstream (dataset -> model, base -> fine-tune, run -> commit -> asset).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from blacklake_ml.catalog.search_base import CardDoc, CardRow, Filter
from blacklake_ml.core.names import join_path
from blacklake_ml.core.objects import TreeEntry
from blacklake_ml.core.uri import BlacklakeURI
from blacklake_ml.errors import InvalidInput, NotFound, PathNotFound
from blacklake_ml.search.chunk_sharing import shared_chunks
from blacklake_ml.search.indexer import Indexer
from blacklake_ml.search.sketch import SKETCH_MIN_SIZE
from blacklake_ml.search.text import as_list
from blacklake_ml.service.trees import lookup, walk_files

if TYPE_CHECKING:
    from blacklake_ml.catalog import RepoRow
    from blacklake_ml.service.repo import Repo
    from blacklake_ml.service.store import Store

#: most nodes one graph holds (a popular base model can have many children)
MAX_NODES = 200
MAX_DEPTH = 3
#: newest commits shown that touched the asset
MAX_COMMITS = 10
#: most files sharing chunks with the asset's file
MAX_SIMILAR = 10
#: commit metadata keys holding a run id: run, run_id, mlflow_run_id, mlflow.run_id, wandb-run…
RUN_KEY = re.compile(r"(^|[._-])run([._-]?id)?$", re.IGNORECASE)
#: file suffixes preferred as the file whose chunks stand for a model folder
WEIGHTS = (".safetensors", ".onnx", ".bin", ".pt", ".pth", ".gguf", ".h5", ".keras", ".ckpt",
           ".skops", ".pkl", ".joblib")
_TERM = re.compile(r"[^\W_]+", re.UNICODE)


def neighbourhood(store: Store, uri: str, depth: int = 1, *, max_nodes: int = MAX_NODES
                  ) -> dict[str, Any]:
    """The lineage graph around the asset at ``uri``, ``depth`` (1..3) declared relations out.

    ``uri`` names a model/dataset folder or file, or a file inside an asset folder (the folder
    is then the centre and the file hangs off it with a ``contains`` edge). Returns
    ``{"uri", "center", "depth", "nodes", "edges", "truncated"}``; ``docs/rest-api.md``
    describes the node and edge fields and kinds. At most ``max_nodes`` nodes
    (``truncated`` tells when some were left out).
    """
    if not 1 <= depth <= MAX_DEPTH:
        raise InvalidInput(f"depth must be from 1 to {MAX_DEPTH}")
    if max_nodes < 1:
        raise InvalidInput("max_nodes must be at least 1")
    u = BlacklakeURI.parse(uri)
    r = store.repo(u.repo)
    commit = r.resolve(u.ref)
    tree = store.odb.commit(commit).tree
    entry = lookup(store.odb, tree, u.path)
    if entry is None:
        raise PathNotFound(f"no such path at {u.ref}: {u.path or '/'}")
    Indexer(store).sync(r)  # cards declaring this one are looked up in the search index
    return _Builder(store, max_nodes).build(r, u, commit, tree, entry, depth, uri)


# -- graph ------------------------------------------------------------------------------------
class Graph:
    """Nodes and edges, de-duplicated, capped at ``max_nodes`` nodes."""

    def __init__(self, max_nodes: int = MAX_NODES) -> None:
        self.max_nodes = max_nodes
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.truncated = False

    def node(self, node_id: str, kind: str, label: str, **extra: Any) -> bool:
        """Add a node (``None`` extras left out); True if it is in the graph now."""
        if node_id in self.nodes:
            return True
        if len(self.nodes) >= self.max_nodes:
            self.truncated = True
            return False
        doc = {"id": node_id, "kind": kind, "label": label}
        doc.update({k: v for k, v in extra.items() if v is not None})
        self.nodes[node_id] = doc
        return True

    def stored(self, repo: str, ref: str, path: str, kind: str, label: str,
               **extra: Any) -> str | None:
        """Add a node for a stored thing (its id is its URI); its id, None if no room."""
        node_id = str(BlacklakeURI(repo, ref, path))
        ok = self.node(node_id, kind, label or posixpath.basename(path) or repo, uri=node_id,
                       repo=repo, ref=ref, path=path, **extra)
        return node_id if ok else None

    def edge(self, source: str, target: str, kind: str, **extra: Any) -> None:
        """Add an edge between two nodes in the graph."""
        if source in self.nodes and target in self.nodes and source != target:
            self.edges.setdefault((source, target, kind),
                                  {"source": source, "target": target, "kind": kind, **extra})

    def to_json(self) -> dict[str, Any]:
        """``{"nodes", "edges", "truncated"}``."""
        return {"nodes": list(self.nodes.values()), "edges": list(self.edges.values()),
                "truncated": self.truncated}


@dataclass(frozen=True)
class _Asset:
    """A model or dataset card at one ref."""

    repo: str
    ref: str
    path: str
    kind: str
    name: str
    facts: Mapping[str, Any]

    @classmethod
    def of_row(cls, c: CardRow) -> _Asset:
        return cls(c.repo, c.ref, c.path, c.kind, c.name, c.facts)

    @classmethod
    def of_doc(cls, d: CardDoc, repo: str, ref: str) -> _Asset:
        return cls(repo, ref, d.path, d.kind, d.name, d.facts)

    @property
    def key(self) -> tuple[str, str]:
        """The asset regardless of ref."""
        return (self.repo, self.path)

    def names(self) -> tuple[str, ...]:
        """What other cards may call this one: its title, folder name (the repository's name
        for a root card) and Hugging Face id (with and without the owner)."""
        names = {self.name.lower(), (posixpath.basename(self.path) or self.repo).lower()}
        hf_id = str(self.facts.get("hf_id") or "").lower()
        if hf_id:
            names.update({hf_id, hf_id.rsplit("/", 1)[-1]})
        return tuple(sorted(names - {""}))

    def fields(self) -> dict[str, Any]:
        """Card facts shown on its node."""
        return {k: ", ".join(as_list(self.facts.get(k))) or None
                for k in ("format", "framework", "license")}


def base_model_links(store: Store, repo: str, ref: str, path: str
                     ) -> list[tuple[str, bool]]:
    """``(uri, is_upstream)`` of the base models of the card holding ``path`` at ``ref``
    and of the cards naming it as their base model (what ``similar`` appends)."""
    r = store.repo(repo)
    doc = Indexer(store).asset_card(r, r.resolve(ref), path, ref=ref)
    if doc is None:
        return []
    builder = _Builder(store, MAX_NODES)
    return [(str(BlacklakeURI(c.repo, c.ref, c.path)), upstream)
            for c, upstream, _ in builder.model_relations(_Asset.of_doc(doc, repo, ref))]


def _main_first(a: _Asset) -> tuple[bool, str]:
    return (a.ref != "main", a.ref)


def _one_per_asset(assets: Iterable[_Asset]) -> list[_Asset]:
    """The same asset on several refs: keep one (``main`` first, then by ref name)."""
    best: dict[tuple[str, str], _Asset] = {}
    for a in sorted(assets, key=_main_first):
        best.setdefault(a.key, a)
    return sorted(best.values(), key=lambda a: a.key)


def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1]


# -- builder ----------------------------------------------------------------------------------
class _Builder:
    def __init__(self, store: Store, max_nodes: int) -> None:
        self.store = store
        self.index = store.catalog.search_index()
        self.g = Graph(max_nodes)
        #: run id -> node id of runs the lineage store recorded
        self.runs: dict[str, str] = {}
        self._repos: dict[str, RepoRow] | None = None

    def build(self, r: Repo, u: BlacklakeURI, commit: str, tree: str, entry: TreeEntry,
              depth: int, uri: str) -> dict[str, Any]:
        g = self.g
        doc = Indexer(self.store).asset_card(r, commit, u.path, ref=u.ref)
        card = _Asset.of_doc(doc, r.name, u.ref) if doc is not None else None
        if card is not None:
            center_path, kind, label = card.path, card.kind, card.name
            extra = card.fields()
        else:
            center_path, kind, label, extra = u.path, entry.kind, "", {}
        center = str(BlacklakeURI(r.name, u.ref, center_path))
        g.stored(r.name, u.ref, center_path, kind, label, center=True, **extra)
        if center_path != u.path:  # a file inside an asset directory
            inner = g.stored(r.name, u.ref, u.path, entry.kind, "",
                             size=None if entry.is_dir else entry.size)
            if inner is not None:
                g.edge(center, inner, "contains")
        self.chunk_sharing(r, u, commit, tree, entry, center_path, center, card is not None)
        self.recorded(str(BlacklakeURI(r.name, u.ref, center_path)), center, depth)
        self.commits(r, commit, center_path, center)
        if card is not None:
            self.declared(card, center, depth)
        out: dict[str, Any] = {"uri": uri, "center": center, "depth": depth}
        out.update(g.to_json())
        return out

    # -- declared relations -------------------------------------------------------------
    def declared(self, card: _Asset, center: str, depth: int) -> None:
        """Base models, derived models, datasets and what was trained on a dataset, ``depth``
        levels out (breadth first, so nearer relations claim the node budget first)."""
        g = self.g
        node_of = {card.key: center}
        frontier = [card]
        for _ in range(depth):
            nxt: list[_Asset] = []
            for a in frontier:
                me = node_of[a.key]
                for other, upstream, kind in self.relations(a):
                    if isinstance(other, str):  # a dataset name no card matches
                        if g.node(f"dataset:{other}", "dataset", other):
                            g.edge(f"dataset:{other}", me, kind)
                        continue
                    node = node_of.get(other.key) or g.stored(
                        other.repo, other.ref, other.path, other.kind, other.name,
                        **other.fields())
                    if node is None:
                        continue  # no room
                    if upstream:
                        g.edge(node, me, kind)
                    else:
                        g.edge(me, node, kind)
                    if other.key not in node_of:
                        node_of[other.key] = node
                        nxt.append(other)
            frontier = nxt

    def relations(self, a: _Asset) -> list[tuple[_Asset | str, bool, str]]:
        """``(other card or unmatched dataset name, other is upstream, edge kind)``."""
        out: list[tuple[_Asset | str, bool, str]] = list(self.model_relations(a))
        for name in as_list(a.facts.get("datasets")):
            found = [c for c in self.cards_named({name, _short(name)}, "dataset")
                     if c.key != a.key]
            out += [(c, True, "dataset") for c in found] or [(name, True, "dataset")]
        if a.kind == "dataset":
            out += [(c, False, "dataset") for c in self.cards_declaring("datasets", a.names())
                    if c.key != a.key]
        return out

    def model_relations(self, a: _Asset) -> list[tuple[_Asset, bool, str]]:
        """Base models of ``a`` (upstream) and the cards naming ``a`` as theirs."""
        out: list[tuple[_Asset, bool, str]] = []
        for base in as_list(a.facts.get("base_model")):
            out += [(c, True, "base_model") for c in self.cards_named({base, _short(base)},
                                                                      "model")
                    if c.key != a.key]
        out += [(c, False, "base_model") for c in self.cards_declaring("base_model", a.names())
                if c.key != a.key]
        return out

    def cards_named(self, names: set[str], kind: str) -> list[_Asset]:
        """Cards of ``kind`` another card may mean by one of ``names``."""
        names = {n.lower() for n in names if n}
        index = self.index
        found: list[_Asset] = [a for a in self.root_cards(names) if a.kind == kind]
        terms = sorted({w for n in names for w in _TERM.findall(n)})
        allowed = index.filter_ids([Filter("kind", (kind,))]) if terms else []
        if allowed:
            hits = index.fulltext(terms, 100, allowed)
            for c in index.cards([cid for cid, _ in hits]).values():
                if c.kind == kind and (
                        c.name.lower() in names or posixpath.basename(c.path).lower() in names
                        or str(c.facts.get("hf_id") or "").lower() in names):
                    found.append(_Asset.of_row(c))
        return _one_per_asset(found)

    def root_cards(self, names: set[str]) -> list[_Asset]:
        """Cards at the root of repositories named one of ``names`` (the repository is the
        asset; its card's text need not repeat the repository's name)."""
        if self._repos is None:
            self._repos = {row.name.lower(): row for row in self.store.list_repos()}
        out: list[_Asset] = []
        for name in sorted(names):
            row = self._repos.get(name)
            if row is None:
                continue
            heads = self.index.heads(row.id)
            for ref in sorted(heads, key=lambda n: (n != "main", n)):
                if "" in self.index.card_keys(row.id, ref, [""]):
                    repo = self.store.repo(row.name)
                    doc = Indexer(self.store).asset_card(repo, heads[ref], "", ref=ref)
                    if doc is not None:
                        out.append(_Asset.of_doc(doc, row.name, ref))
                    break
        return out

    def cards_declaring(self, key: str, names: tuple[str, ...]) -> list[_Asset]:
        """Cards whose facet ``key`` (``base_model``, ``datasets``) names one of ``names``."""
        if not names:
            return []
        index = self.index
        ids = set(index.filter_ids([Filter(key, names)]))
        if key == "datasets":
            # The facet holds "org/name" values whole (only base_model facets add the bare
            # name): find such cards by the name's words, then check the declared value.
            terms = sorted({w for n in names for w in _TERM.findall(n)})
            hits = index.fulltext(terms, 100) if terms else []
            for cid, c in index.cards([cid for cid, _ in hits]).items():
                if any(_short(v).lower() in names for v in as_list(c.facts.get(key))):
                    ids.add(cid)
        return _one_per_asset(_Asset.of_row(c) for c in index.cards(sorted(ids)).values())

    # -- chunk sharing --------------------------------------------------------------------
    def chunk_sharing(self, r: Repo, u: BlacklakeURI, commit: str, tree: str,
                      entry: TreeEntry, center_path: str, center: str, asset: bool) -> None:
        """Stored files sharing chunks with the centre's file, and the cards holding them."""
        g = self.g
        picked = self._chunk_file(u, tree, entry, center_path, asset)
        if picked is None:
            return  # small files are not sketched: nothing can share their chunks
        path, size = picked
        file_node = g.stored(r.name, u.ref, path, "file", "", size=size)
        if file_node is None:
            return
        g.edge(center, file_node, "contains")
        # only the chunk half of `similar`: card lineage is followed by `declared`, `depth`
        # levels deep
        for hit in shared_chunks(self.store, file_node, limit=MAX_SIMILAR):
            hu = self._same_file_elsewhere(BlacklakeURI.parse(hit.uri), r.name, commit, u.ref)
            owner = self._card_holding(hu)
            if owner is not None and owner.path == hu.path:  # the file is the asset
                node = g.stored(hu.repo, hu.ref, hu.path, owner.kind, owner.name,
                                size=hit.size, **owner.fields())
            else:
                node = g.stored(hu.repo, hu.ref, hu.path, "file", "", size=hit.size)
            if node is None:
                continue
            g.edge(file_node, node, hit.relation.replace("-", "_"),
                   shared_fraction=round(hit.shared_fraction, 4))
            if owner is not None and owner.path != hu.path:
                holder = g.stored(owner.repo, owner.ref, owner.path, owner.kind, owner.name,
                                  **owner.fields())
                if holder is not None:
                    g.edge(holder, node, "contains")

    def _chunk_file(self, u: BlacklakeURI, tree: str, entry: TreeEntry, center_path: str,
                    asset: bool) -> tuple[str, int] | None:
        """``(path, size)`` of the file whose chunks stand for the centre: the URI's file if
        it is sketched, else the centre's largest weights file, else its largest file (any
        depth in an asset folder; in a plain directory, only the files directly in it)."""
        odb = self.store.odb
        if not entry.is_dir and entry.size >= SKETCH_MIN_SIZE:
            return u.path, entry.size
        root = lookup(odb, tree, center_path)
        if root is None:
            return None
        if root.is_dir:
            below = walk_files(odb, root.id, center_path) if asset else (
                (join_path(center_path, e.name), e) for e in odb.tree(root.id)
                if not e.is_dir)
            files = [(p, e.size) for p, e in below if e.size >= SKETCH_MIN_SIZE]
        else:
            files = [(center_path, root.size)] if root.size >= SKETCH_MIN_SIZE else []
        weights = [f for f in files if f[0].lower().endswith(WEIGHTS)]
        return max(weights or files, key=lambda f: (f[1], f[0])) if files else None

    def _same_file_elsewhere(self, hu: BlacklakeURI, repo: str, commit: str, ref: str
                             ) -> BlacklakeURI:
        """Where to show a hit: at the centre's ref when that is the same commit (an alias or
        commit id of an indexed head), else on ``main`` when main holds the same file."""
        if hu.repo == repo and hu.ref != ref:
            try:
                if self.store.repo(repo).resolve(hu.ref) == commit:
                    return BlacklakeURI(repo, ref, hu.path)
            except NotFound:
                pass
        if hu.ref != "main":
            try:
                r = self.store.repo(hu.repo)
                if r.entry("main", hu.path).id == r.entry(hu.ref, hu.path).id:
                    return BlacklakeURI(hu.repo, "main", hu.path)
            except NotFound:
                pass
        return hu

    def _card_holding(self, hu: BlacklakeURI) -> _Asset | None:
        """The asset card holding the stored file ``hu`` (or the file's own card)."""
        try:
            r = self.store.repo(hu.repo)
            doc = Indexer(self.store).asset_card(r, r.resolve(hu.ref), hu.path, ref=hu.ref)
        except NotFound:
            return None
        return _Asset.of_doc(doc, hu.repo, hu.ref) if doc is not None else None

    # -- recorded lineage -----------------------------------------------------------------
    def recorded(self, uri: str, center: str, depth: int) -> None:
        """What the lineage store recorded (runs, their inputs and outputs), the recorded
        centre merged into ours."""
        g = self.g
        # one hop more than asked: a run's inputs are what "one relation out" means to a
        # reader of a model (dataset -> run -> model), not a second relation
        rec = self.store.lineage.graph(uri, depth=depth + 1, max_nodes=g.max_nodes)
        rename = {rec["center"]: center}
        for n in rec["nodes"]:
            if n["id"] == rec["center"]:
                continue
            extra = {k: v for k, v in n.items() if k not in ("id", "kind", "label", "center")}
            if g.node(n["id"], n["kind"], n["label"], recorded=True, **extra) \
                    and n["kind"] == "run":
                self.runs[str(n.get("facets", {}).get("run_id"))] = n["id"]
        for e in rec["edges"]:
            extra = {k: v for k, v in e.items() if k not in ("source", "target", "kind")}
            g.edge(rename.get(e["source"], e["source"]), rename.get(e["target"], e["target"]),
                   e["kind"], **extra)
        g.truncated = g.truncated or rec["truncated"]

    # -- history --------------------------------------------------------------------------
    def commits(self, r: Repo, commit: str, path: str, center: str) -> None:
        """The newest commits that touched ``path`` and the runs named in their metadata."""
        g = self.g
        rows = [row for row in r.log(commit, path=path or None, limit=MAX_COMMITS + 1)
                if row.parents or row.nfiles]  # not an empty first commit
        for row in rows[:MAX_COMMITS]:
            node = f"commit:{r.name}:{row.id}"
            first = (row.message.splitlines() or [""])[0]
            uri = str(BlacklakeURI(r.name, row.id, path))
            if not g.node(node, "commit", first or row.id[:12], uri=uri, repo=r.name,
                          ref=row.id, path=path, commit=row.id, author=row.author,
                          time=row.time, meta=dict(row.meta)):
                continue
            g.edge(node, center, "wrote")
            for key, value in sorted(row.meta.items()):
                if RUN_KEY.search(key) and value:
                    # the lineage store's node for this run, when one was recorded
                    run = self.runs.get(str(value), f"run:{value}")
                    if g.node(run, "run", str(value), key=key):
                        g.edge(run, node, "produced")
