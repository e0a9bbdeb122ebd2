"""Derived-model discovery: stored files that share chunks with a given one, and
``base_model`` lineage declared in model cards.

Candidates come from MinHash LSH buckets (no scan of the store), identical files from their
content id; every candidate's shared fraction is then computed exactly from the manifests.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from blacklake_ml.catalog.search_base import Filter
from blacklake_ml.core.uri import BlacklakeURI
from blacklake_ml.errors import InvalidInput
from blacklake_ml.search.indexer import Indexer
from blacklake_ml.search.sketch import buckets, signature, similarity
from blacklake_ml.search.text import as_list

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


def similar(store: Store, uri: str, *, limit: int = 20, min_fraction: float = 0.01
            ) -> list[SimilarHit]:
    """Files sharing chunks with the file at ``uri`` (best first), then card lineage."""
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
    hits = _one_per_path(hits)[:limit]
    hits += lineage(store, u.repo, u.ref, u.path)
    return hits


def _one_per_path(hits: list[SimilarHit]) -> list[SimilarHit]:
    """Collapse the same path on several refs to its first (best) appearance."""
    seen: set[tuple[str, str]] = set()
    out = []
    for h in hits:
        u = BlacklakeURI.parse(h.uri)
        if (u.repo, u.path) not in seen:
            seen.add((u.repo, u.path))
            out.append(h)
    return out


def lineage(store: Store, repo: str, ref: str, path: str) -> list[SimilarHit]:
    """``base_model`` relations of the card at ``path`` (or the asset containing it)."""
    index = store.catalog.search_index()
    r = store.repo(repo)
    parts = path.split("/") if path else []
    candidates = ["/".join(parts[:i]) for i in range(len(parts), -1, -1)]
    keys = index.card_keys(r.id, ref, candidates)
    card_path = next((c for c in candidates if c in keys), None)
    if card_path is None:
        return []
    ids = index.filter_ids([Filter("repo", (repo.lower(),)), Filter("ref", (ref.lower(),))])
    card = next((c for c in index.cards(ids).values() if c.path == card_path), None)
    if card is None:
        return []
    out: list[SimilarHit] = []
    names = {card.name.lower(), posixpath.basename(card.path).lower(), repo.lower()}
    hf_id = str(card.facts.get("hf_id") or "").lower()
    if hf_id:
        names.add(hf_id)
    # Children: cards naming this one as their base model.
    for c in index.cards(index.filter_ids([Filter("base_model", tuple(names))])).values():
        if (c.repo, c.path) != (repo, card.path):
            out.append(SimilarHit(str(BlacklakeURI(c.repo, c.ref, c.path)), "derived-model"))
    # Parents: cards whose name matches one of this card's base models.
    for base in as_list(card.facts.get("base_model")):
        short = base.lower().rsplit("/", 1)[-1]
        for c in _cards_named(store, {base.lower(), short}):
            out.append(SimilarHit(str(BlacklakeURI(c.repo, c.ref, c.path)), "base-model"))
    return _one_per_path(out)


def _cards_named(store: Store, names: set[str]) -> list[Any]:
    index = store.catalog.search_index()
    hits = index.fulltext(sorted({w for n in names for w in n.replace("-", " ").split()
                                  if w.isalnum()}), 50)
    ids = [cid for cid, _ in hits]
    for n in names:  # root cards by repository name (body text may not repeat it)
        ids += index.filter_ids([Filter("repo", (n,))])[:50]
    cards = index.cards(ids)
    # A card at a repository's root (the repo is the model) is known by the repo's name.
    return [c for c in cards.values()
            if c.name.lower() in names or posixpath.basename(c.path).lower() in names
            or (c.path == "" and c.repo.lower() in names)]

