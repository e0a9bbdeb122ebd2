"""The public :class:`Store`: the service store plus what sits above it (search).

``blacklake_ml.Store`` is this class. It registers the search indexer as a ref listener, so
every commit, merge, branch or tag keeps the search index current without the caller doing
anything; the service layer underneath stays free of search imports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from blacklake_ml.catalog import Catalog
from blacklake_ml.config import Config
from blacklake_ml.core.progress import NULL_PROGRESS, Progress
from blacklake_ml.service.repo import Repo
from blacklake_ml.service.store import Store as ServiceStore
from blacklake_ml.service.trees import walk_files
from blacklake_ml.storage import ObjectStorage

# The search engine (numpy, FAISS) and the indexer (extractors) are imported where they are
# used: read commands (`blacklake ls`, `log`) never need them and must start fast.
if TYPE_CHECKING:
    from blacklake_ml.search.engine import Mode, Searcher, SearchHit, SearchParams
    from blacklake_ml.search.similar import SimilarHit


class Store(ServiceStore):
    """A BlackLake store with search (see :class:`blacklake_ml.service.store.Store`)."""

    def __init__(self, storage: ObjectStorage, catalog: Catalog, config: Config) -> None:
        super().__init__(storage, catalog, config)
        self.ref_listeners.append(self._index_changes)
        self._listener: Any = None
        self._searcher: Searcher | None = None

    def _index_changes(self, repo: Repo) -> None:
        """The ref listener: sync the search index of a repository whose refs moved."""
        if self._listener is None:
            from blacklake_ml.search.indexer import make_listener

            self._listener = make_listener(self)
        self._listener(repo)

    def searcher(self, params: SearchParams | None = None) -> Searcher:
        """The store's :class:`Searcher` (one per store unless ``params`` differ)."""
        from blacklake_ml.search.engine import Searcher

        if params is not None:
            return Searcher(self, params)
        if self._searcher is None:
            self._searcher = Searcher(self)
        return self._searcher

    def search(self, query: str, *, k: int = 10, repo: str | None = None,
               filters: Iterable[str] | Mapping[str, Any] | None = None,
               mode: Mode = "hybrid") -> list[SearchHit]:
        """Hybrid (BM25 + dense) search over model and dataset cards, best first.

        ``filters`` are facet constraints applied before ranking: a mapping
        (``{"license": "mit", "parameters": (None, 1e9)}``) or CLI-style strings
        (``["language=de", "parameters<1e9"]``). ``mode`` "bm25" or "dense" ranks by one
        side only (for comparison).
        """
        hits = self.searcher().search(query, k=k, repo=repo, filters=filters, mode=mode)
        self._annotate_safety(hits)
        return hits

    def _annotate_safety(self, hits: list[SearchHit]) -> None:
        """Give each hit the scanner's verdict: its file's, or the worst of its folder's
        files (a model folder is as safe as its least safe file)."""
        from blacklake_ml.scan import worst
        from blacklake_ml.service import safety

        odb = self.odb
        members: dict[int, list[tuple[str, str]]] = {}
        for i, h in enumerate(hits):
            if not h.object_id:
                continue
            try:
                files = [(p, e.id) for p, e in walk_files(odb, h.object_id, h.path)]
            except Exception:  # noqa: BLE001 - not a tree: the card is one file
                files = [(h.path, h.object_id)]
            members[i] = files
        found = safety.verdicts(odb, self.catalog.search_index(),
                                [f for fs in members.values() for f in fs])
        for i, files in members.items():
            docs = [found[fid] for _, fid in files if fid in found]
            if not docs:
                continue
            hits[i].safety = worst(*(d["verdict"] for d in docs))
            reasons: list[str] = []
            for (p, fid) in files:
                d = found.get(fid)
                if d and d["verdict"] != "safe":
                    reasons += [f"{p}: {r}" for r in d.get("reasons", [])[:3]]
            hits[i].safety_reasons = reasons[:20]

    def similar(self, uri: str, *, limit: int = 20) -> list[SimilarHit]:
        """Stored files sharing chunks with the file at ``uri``, and card lineage."""
        from blacklake_ml.search.similar import similar

        return similar(self, uri, limit=limit)

    def reindex(self, repo: str | None = None, *, full: bool = False,
                progress: Progress = NULL_PROGRESS) -> dict[str, Any]:
        """Bring the search index up to date (``full``: drop it and index from scratch;
        extracted facts, vectors and sketches are content-keyed and reused)."""
        from blacklake_ml.search.indexer import Indexer, SyncReport

        index = self.catalog.search_index()
        if full:
            index.clear()
        indexer = Indexer(self)
        total = SyncReport()
        names = [repo] if repo else [r.name for r in self.list_repos()]
        for name in names:
            rep = indexer.sync(self.repo(name), progress=progress)
            total.refs += rep.refs
            total.upserted += rep.upserted
            total.removed += rep.removed
            total.extracted += rep.extracted
            total.errors += rep.errors
        out = total.to_json()
        out["cards"] = index.count_cards()
        return out

    def close(self) -> None:
        """Persist the vector index if it changed, then close."""
        if self._searcher is not None:
            self._searcher.save()
        super().close()
