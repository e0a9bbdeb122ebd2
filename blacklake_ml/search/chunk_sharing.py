"""Stored files that share chunks with a given one (the chunk half of ``blacklake similar``).

Candidates come from MinHash LSH buckets (no scan of the store), identical files from their
content id; every candidate's shared fraction is then computed exactly from the manifests.
Both :func:`blacklake_ml.search.similar.similar` (which appends ``base_model`` card lineage)
and the lineage graph (:mod:`blacklake_ml.search.lineage`) build on :func:`shared_chunks`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from blacklake_ml.core.uri import BlacklakeURI
from blacklake_ml.errors import InvalidInput
from blacklake_ml.search.indexer import Indexer
from blacklake_ml.search.sketch import buckets, signature, similarity

if TYPE_CHECKING:
    from blacklake_ml.service.store import Store

MAX_CANDIDATES = 200
VERIFY = 50


@dataclass
class SimilarHit:
    """A stored file related to the query file."""

    uri: str
    relation: str  # "identical" | "shares-chunks" | "base-model" | "derived-model"
    shared_fraction: float = 0.0
    shared_bytes: int = 0
    their_fraction: float = 0.0
    jaccard_estimate: float = 0.0
    size: int = 0

    def to_json(self) -> dict[str, Any]:
        """The ``blacklake similar --json`` shape."""
        return {"uri": self.uri, "relation": self.relation,
                "shared_fraction": round(self.shared_fraction, 4),
                "shared_bytes": self.shared_bytes,
                "their_fraction": round(self.their_fraction, 4),
                "jaccard_estimate": round(self.jaccard_estimate, 4), "size": self.size}


def shared_chunks(store: Store, uri: str, *, limit: int = 20, min_fraction: float = 0.01
                  ) -> list[SimilarHit]:
    """Files identical to, or sharing chunks with, the file at ``uri``: best first, one hit
    per repository path, at most ``limit``."""
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be from 1 to 1000")
    u = BlacklakeURI.parse(uri)
    repo = store.repo(u.repo)
    commit = repo.resolve(u.ref)
    entry = repo.entry(commit, u.path)
    if entry.is_dir:
        raise InvalidInput(f"{uri} is a directory; similar compares files (pick the weights "
                           "file inside it)")
    Indexer(store).sync(repo)
    index = store.catalog.search_index()
    odb = store.odb
    mine = odb.file(entry.id)
    my_chunks = {c: n for c, n in mine.chunks}
    sig = signature(list(my_chunks))
    cand = index.band_candidates(buckets(sig), MAX_CANDIDATES)
    cand.pop(entry.id, None)
    sketches = index.sketches(list(cand))
    est = {fid: similarity(sig.tobytes(), sk[2]) for fid, sk in sketches.items()}
    verify = sorted(est, key=lambda f: -est[f])[:VERIFY]
    hits: list[SimilarHit] = []
    me = (u.repo, u.path)
    for loc_repo, ref, path, fid in index.file_locations([entry.id], limit=limit * 4):
        if (loc_repo, path) != me:
            hits.append(SimilarHit(str(BlacklakeURI(loc_repo, ref, path)), "identical", 1.0,
                                   mine.size, 1.0, 1.0, mine.size))
    measured: dict[str, tuple[int, float, int]] = {}
    for fid in verify:
        other = odb.file(fid)
        theirs = {c for c, _ in other.chunks}
        shared = sum(n for c, n in my_chunks.items() if c in theirs)
        frac = shared / mine.size if mine.size else 0.0
        if frac >= min_fraction:
            measured[fid] = (shared, frac, other.size)
    for loc_repo, ref, path, fid in index.file_locations(sorted(measured), limit=limit * 4):
        shared, frac, size = measured[fid]
        hits.append(SimilarHit(str(BlacklakeURI(loc_repo, ref, path)), "shares-chunks", frac,
                               shared, shared / size if size else 0.0, est.get(fid, 0.0),
                               size))
    hits.sort(key=lambda h: (-h.shared_fraction, h.uri))
    return one_per_path(hits)[:limit]


def one_per_path(hits: list[SimilarHit]) -> list[SimilarHit]:
    """Collapse the same path on several refs to its first (best) appearance."""
    seen: set[tuple[str, str]] = set()
    out = []
    for h in hits:
        u = BlacklakeURI.parse(h.uri)
        if (u.repo, u.path) not in seen:
            seen.add((u.repo, u.path))
            out.append(h)
    return out
