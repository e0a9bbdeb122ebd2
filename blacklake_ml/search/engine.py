"""Hybrid search: BM25 (catalog full text) + dense (FAISS), fused by reciprocal rank.

Order of work for one query: facet filters become a set of allowed card ids *first* (so both
rankers only ever see eligible cards and a filter never drops a good result that fell below a
cut-off), each ranker returns its candidates, reciprocal-rank fusion merges them, an absolute
evidence threshold removes noise (a query nothing answers returns nothing), and cards of the
same content on several refs collapse into one hit.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from blacklake_ml.catalog.search_base import NUMERIC_FACETS, CardRow, Filter
from blacklake_ml.core.uri import BlacklakeURI
from blacklake_ml.errors import InvalidInput
from blacklake_ml.search.embed import TextEmbedder, get_embedder
from blacklake_ml.search.query import QueryIntent, name_coverage, read_intent
from blacklake_ml.search.text import LANGUAGES, license_family, matched_terms, query_terms
from blacklake_ml.search.vectors import VectorIndex

if TYPE_CHECKING:
    from blacklake_ml.service.store import Store

Mode = Literal["hybrid", "bm25", "dense"]
MODES = ("hybrid", "bm25", "dense")
FACET_KEYS = ("framework", "format", "kind", "task", "license", "license_family", "language",
              "tags", "datasets", "base_model", "architecture", "library", "repo", "ref",
              "branch", "tag") + NUMERIC_FACETS


@dataclass(frozen=True)
class SearchParams:
    """Tunables of ranking.

    Chosen by cross-validation on the *dev* halves of the labelled sets that allow it
    (``benchmarks/search_eval/sets.py``); no parameter is fitted on a test half or on the
    held-out set. ``fusion="score"`` (the default) adds the signals below to the cosine
    similarity; ``"rrf"`` is the older reciprocal-rank fusion, kept for comparison.
    """

    fusion: str = "score"
    rrf_k: float = 60.0
    bm25_weight: float = 1.0
    dense_weight: float = 1.0
    candidates: int = 50
    #: BM25 hits join the fusion only with this idf-weighted share of the query's words
    bm25_gate: float = 0.3
    #: rrf: a hit must reach this cosine similarity, or this idf-weighted share of query words
    min_similarity: float = 0.30
    min_evidence: float = 0.6
    #: score fusion: weight of the idf-weighted share of query words a card contains
    keyword_weight: float = 0.35
    #: ... of a card meeting (+1) or clearly missing (-1) a language the query names
    language_weight: float = 0.08
    #: ... of a card's licence fitting (+1) or not fitting (-1) "commercial use" in the query
    license_weight: float = 0.05
    #: ... of being a descendant (child 1, grandchild 0.5) / an ancestor of the named model
    lineage_weight: float = 0.4
    #: ... taken off the named model itself when its relatives are asked for
    anchor_penalty: float = 0.15
    #: ... taken off a card of the other kind than the query asks for (dataset / model)
    kind_weight: float = 0.05
    #: score fusion: a query whose best hit scores below this returns nothing (abstains)
    min_score: float = 0.33
    #: ... and once it answers, hits below this score are left out of the list
    hit_floor: float = 0.2


@dataclass
class SearchHit:
    """One result."""

    uri: str
    repo: str
    ref: str
    path: str
    score: float
    kind: str
    name: str
    why: dict[str, Any]
    facts: Mapping[str, Any] = field(default_factory=dict)
    refs: list[str] = field(default_factory=list)
    size: int = 0
    parameters: int | None = None
    #: content id of the card's file or folder (tree)
    object_id: str = ""
    #: the scanner's verdict (the worst of a folder's files) and its reasons
    safety: str = "unknown"
    safety_reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The ``blacklake search --json`` shape."""
        summary = {k: self.facts[k] for k in ("format", "framework", "task", "license",
                                              "language", "tags", "base_model", "error")
                   if self.facts.get(k)}
        return {"uri": self.uri, "score": round(self.score, 6), "why": self.why,
                "repo": self.repo, "ref": self.ref, "path": self.path, "kind": self.kind,
                "name": self.name, "size": self.size, "parameters": self.parameters,
                "refs": self.refs, "facts": summary, "safety": self.safety,
                "safety_reasons": self.safety_reasons}


def parse_filters(pairs: Iterable[str] | Mapping[str, Any] | None) -> list[Filter]:
    """``["license=mit", "parameters<1e9", "size>=1000"]`` or a mapping -> filters."""
    if not pairs:
        return []
    items: list[tuple[str, str, Any]] = []
    if isinstance(pairs, Mapping):
        for k, v in pairs.items():
            items.append((k, "=", v))
    else:
        for p in pairs:
            for op in ("<=", ">=", "=", "<", ">"):
                if op in p:
                    k, _, v = p.partition(op)
                    items.append((k.strip(), op, v.strip()))
                    break
            else:
                raise InvalidInput(f"bad filter {p!r}: expected KEY=VALUE or KEY<N / KEY>N")
    by_key: dict[str, Filter] = {}
    for key, op, value in items:
        if key not in FACET_KEYS:
            raise InvalidInput(f"unknown filter {key!r}; filters: {', '.join(FACET_KEYS)}")
        old = by_key.get(key, Filter(key))
        if key in NUMERIC_FACETS:
            if isinstance(value, (list, tuple)) and len(value) == 2:
                lo, hi = (None if x is None else float(x) for x in value)
                by_key[key] = Filter(key, low=lo, high=hi)
                continue
            try:
                num = float(value)
            except (TypeError, ValueError):
                raise InvalidInput(f"filter {key} needs a number, got {value!r}") from None
            lo, hi = old.low, old.high
            if op in (">", ">="):
                lo = num
            elif op in ("<", "<="):
                hi = num
            else:
                lo = hi = num
            by_key[key] = Filter(key, low=lo, high=hi)
        else:
            if op != "=":
                raise InvalidInput(f"filter {key} takes KEY=VALUE")
            vals = value if isinstance(value, (list, tuple)) else str(value).split(",")
            vals = tuple(str(v).strip().lower() for v in vals if str(v).strip())
            if not vals:
                raise InvalidInput(f"filter {key} has an empty value")
            by_key[key] = Filter(key, values=old.values + vals)
    return list(by_key.values())


_log = logging.getLogger(__name__)


def dense_available() -> bool:
    """Whether the optional dense-search packages (extra ``search``) are installed: FAISS and
    an embedding backend (onnxruntime, or sentence-transformers)."""
    def found(m: str) -> bool:
        return importlib.util.find_spec(m) is not None

    return found("faiss") and (found("onnxruntime") or found("sentence_transformers"))


def onnx_cache_dir(store: Store) -> Path:
    """Where the store keeps ONNX exports of its search model (see ``search.onnx_embed``)."""
    return Path(store.config.home) / "search" / "onnx"


def embedder(store: Store) -> TextEmbedder:
    """The store's query/document embedder (ONNX when it can be had, else torch)."""
    return get_embedder(store.config.search_model, onnx_cache_dir(store))


_VECTORS: dict[str, VectorIndex] = {}
_VLOCK = threading.Lock()


class Searcher:
    """Search over one store."""

    def __init__(self, store: Store, params: SearchParams | None = None) -> None:
        self.store = store
        self.index = store.catalog.search_index()
        self.params = params or SearchParams()
        self.model = store.config.search_model
        self._filter_cache: dict[tuple[Any, ...], tuple[int, list[int]]] = {}
        self._pending_seq = -1
        self._vectors: VectorIndex | None = None

    # -- maintenance -------------------------------------------------------------------------
    def sync(self, repo: str | None = None) -> None:
        """Index whatever refs moved since the last sync (normally done on commit)."""
        stale = self.index.stale_repos()
        if repo is not None:
            stale = [r for r in stale if r == repo]
        if stale:
            # Imported only when there is something to index: a query on an up-to-date
            # index (the common case) needs none of the indexer's extractors.
            from blacklake_ml.search.indexer import Indexer

            indexer = Indexer(self.store)
            for name in stale:
                indexer.sync(self.store.repo(name))

    def vectors(self) -> VectorIndex:
        """The synced vector index (embedding any cards that have no vector yet)."""
        emb = embedder(self.store)
        key = f"{self.store.catalog.display_url}\0{emb.name}"
        with _VLOCK:
            vi = _VECTORS.get(key)
            if vi is None:
                vi = VectorIndex(Path(self.store.config.home) / "search",
                                 self.store.catalog.display_url, emb.name, emb.dim)
                _VECTORS[key] = vi
        # Looking for cards without vectors scans the card table: only do it when the change
        # log moved (any process adding or changing cards appends to it) since this process
        # or the vector index's state last found nothing to embed.
        seq = self.index.last_change()
        if seq not in (self._pending_seq, vi.embedded_seq):
            if self.embed_pending() == 0:
                vi.mark_embedded(seq)
            self._pending_seq = seq
            seq = self.index.last_change()  # embedding logged the cards it gave vectors
        vi.sync(self.index, seq)
        self._vectors = vi
        return vi

    def save(self) -> None:
        """Persist this store's vector index if it has unsaved changes."""
        if self._vectors is not None:
            self._vectors.save()

    def embed_pending(self, batch: int = 256) -> int:
        """Embed card texts that have no vector for the configured model; the count."""
        emb = embedder(self.store)
        done = 0
        while True:
            todo = self.index.pending_texts(emb.name, batch)
            if not todo:
                return done
            vecs = emb.encode([t for _, t in todo])
            self.index.put_vectors(emb.name, [(h, v.tobytes()) for (h, _), v in
                                              zip(todo, vecs)])
            done += len(todo)

    # -- querying ----------------------------------------------------------------------------
    def search(self, query: str, *, k: int = 10, repo: str | None = None,
               filters: Iterable[str] | Mapping[str, Any] | None = None,
               mode: Mode = "hybrid", sync: bool = True) -> list[SearchHit]:
        """The best ``k`` hits for ``query`` (see module doc)."""
        if not isinstance(query, str) or not query.strip():
            raise InvalidInput("search query is empty")
        if len(query) > 2000:
            raise InvalidInput("search query is longer than 2000 characters")
        if mode not in MODES:
            raise InvalidInput(f"unknown search mode {mode!r}; modes: {', '.join(MODES)}")
        if not isinstance(k, int) or not 1 <= k <= 1000:
            raise InvalidInput("k must be an integer from 1 to 1000")
        flts = parse_filters(filters)
        if repo:
            self.store.repo(repo)  # RepoNotFound for a typo, rather than silently nothing
            flts.append(Filter("repo", values=(repo.lower(),)))
        if sync:
            self.sync(repo)
        allowed = self._allowed(flts) if flts else None
        if allowed is not None and not allowed:
            return []
        if mode == "hybrid" and not dense_available():
            # Without the `search` extra keyword search still answers (documented).
            _log.warning("dense search unavailable (pip install 'blacklake-ml[search]'); "
                         "ranking by keywords only")
            mode = "bm25"
        p = self.params
        n = max(p.candidates, 5 * k)
        terms = query_terms(query)
        n_docs, df = self.index.doc_freqs(terms) if terms else (0, {})
        bm25 = self._keyword(match_terms(terms, n_docs, df), n_docs, n, allowed) \
            if mode != "dense" else []
        dense: list[tuple[int, float]] = []
        qv = None
        if mode != "bm25":
            vi = self.vectors()
            qv = embedder(self.store).encode([query])[0]
            dense = vi.search(qv, n, allowed)
        if mode == "hybrid" and p.fusion == "score":
            return self._fuse_scores(query, terms, (n_docs, df), bm25, dense, qv, flts,
                                     allowed, k)
        return self._fuse(terms, (n_docs, df), bm25, dense, flts, mode, k)

    def _allowed(self, flts: list[Filter]) -> list[int]:
        """Card ids passing the filters, cached until the index changes (a UI re-queries
        with the same facets again and again; a broad filter costs tens of ms on 100k)."""
        key = tuple(sorted((f.key, f.values, f.low, f.high) for f in flts))
        seq = self.index.last_change()
        hit = self._filter_cache.get(key)
        if hit is not None and hit[0] == seq:
            return hit[1]
        ids = self.index.filter_ids(flts)
        if len(self._filter_cache) >= 64:
            self._filter_cache.pop(next(iter(self._filter_cache)))
        self._filter_cache[key] = (seq, ids)
        return ids

    def _keyword(self, terms: list[str], n_docs: int, n: int, allowed: list[int] | None
                 ) -> list[tuple[int, float]]:
        """BM25 candidates. Large indexes try cards holding *all* terms first (ranking an OR
        of common words scores a large share of the index) and widen to any term only when
        that finds too few."""
        if n_docs < PRUNE_FROM or len(terms) < 2:
            return self.index.fulltext(terms, n, allowed)
        strict = self.index.fulltext(terms, n, allowed, require_all=True)
        if len(strict) >= n // 2:
            return strict
        seen = {cid for cid, _ in strict}
        wide = [h for h in self.index.fulltext(terms, n, allowed) if h[0] not in seen]
        return strict + wide[:n - len(strict)]

    # -- score fusion ------------------------------------------------------------------------
    def _lineage(self, intent: QueryIntent, cards: dict[int, CardRow],
                 order: Sequence[int], allowed: list[int] | None
                 ) -> tuple[int | None, dict[int, float]]:
        """The model the query names (its anchor card) and ``{card id: lineage strength}``
        of its descendants (children 1, grandchildren 0.5) or ancestors, by the stored
        ``base_model`` graph -- found even when their text shares nothing with the query."""
        best: tuple[float, int, int] | None = None
        for rank, cid in enumerate(order):
            card = cards.get(cid)
            if card is None or card.kind != "model":
                continue
            cov = name_coverage(card.path.rsplit("/", 1)[-1], intent)
            if cov >= 0.75:
                key = (cov, -rank, cid)
                if best is None or key > best:
                    best = key
        if best is None:
            return None, {}
        anchor = best[2]
        name = cards[anchor].path.rsplit("/", 1)[-1].lower()
        related: dict[int, float] = {}
        ok = set(allowed) if allowed is not None else None
        if intent.lineage == "children":
            children = [c for c in self.index.filter_ids([Filter("base_model", values=(name,))])
                        if c != anchor][:50]
            related.update((c, 1.0) for c in children)
            if children:
                kids = self.index.cards(children)
                names = tuple(sorted({kc.path.rsplit("/", 1)[-1].lower()
                                      for kc in kids.values()}))
                if names:
                    for c in self.index.filter_ids([Filter("base_model", values=names)])[:100]:
                        if c != anchor:
                            related.setdefault(c, 0.5)
        else:
            bases = [str(b).rsplit("/", 1)[-1].lower()
                     for b in _as_list(cards[anchor].facts.get("base_model"))]
            if bases:
                for cid, _ in self.index.fulltext(sorted({t for b in bases
                                                          for t in _name_words(b)}), 20,
                                                  allowed):
                    related.setdefault(cid, 0.0)
                found = self.index.cards(list(related))
                # "what was X trained from" has exactly these as answers (X itself is only
                # the way the query names them): twice a child's weight puts them first
                related = {cid: 2.0 for cid, c in found.items()
                           if c.path.rsplit("/", 1)[-1].lower() in bases}
        if ok is not None:
            related = {c: w for c, w in related.items() if c in ok}
        return anchor, related

    def _fuse_scores(self, query: str, terms: list[str], freqs: tuple[int, dict[str, int]],
                     bm25: list[tuple[int, float]], dense: list[tuple[int, float]],
                     qv: Any, flts: Sequence[Filter], allowed: list[int] | None, k: int
                     ) -> list[SearchHit]:
        """Hybrid ranking by one additive score per candidate: its cosine similarity, plus
        its keyword evidence (idf-weighted share of the query's words it contains), plus the
        soft facets the query says in words (language, licence) and lineage (descendants or
        ancestors of a model the query names). Hits under ``min_score`` are dropped, so a
        query nothing answers returns nothing."""
        p = self.params
        intent = read_intent(query)
        sim = dict(dense)
        order = list(dict.fromkeys([c for c, _ in bm25] + [c for c, _ in dense]))
        cards = self.index.cards(order)
        anchor: int | None = None
        related: dict[int, float] = {}
        if intent.lineage:
            anchor, related = self._lineage(intent, cards, order, allowed)
            extra = [c for c in related if c not in cards]
            if extra:
                cards.update(self.index.cards(extra))
                order += [c for c in extra if c in cards]
            missing = [c for c in related if c not in sim and c in cards]
            if missing and qv is not None:
                sim.update(self.vectors().search(qv, len(missing), missing))
        floor = min(sim.values()) if sim else 0.0
        idf: dict[str, float] = {}
        if terms:
            n, df = freqs
            idf = {t: math.log(1 + (n - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5))
                   for t in terms}
        total = sum(idf.values()) or 1.0
        bm_rank = {cid: r for r, (cid, _) in enumerate(bm25, 1)}
        de_rank = {cid: r for r, (cid, _) in enumerate(dense, 1)}
        scored: list[tuple[float, int, dict[str, Any]]] = []
        for cid in order:
            card = cards.get(cid)
            if card is None:
                continue
            matched = matched_terms(terms, _card_text(card)) if terms else []
            evidence = sum(idf.get(t, 0.0) for t in matched) / total
            s = sim.get(cid, floor) + p.keyword_weight * evidence
            signals: dict[str, Any] = {}
            if intent.languages:
                langs = {str(x).lower() for x in _as_list(card.facts.get("language"))}
                if langs:
                    fit = 1.0 if langs & intent.languages else -1.0
                    s += p.language_weight * fit
                    signals["language"] = "match" if fit > 0 else "mismatch"
            if intent.permissive and card.facts.get("license"):
                fam = license_family(str(card.facts.get("license")))
                fit = 1.0 if fam == "permissive" else -1.0 if fam in (
                    "non-commercial", "restricted", "copyleft") else 0.0
                if fit:
                    s += p.license_weight * fit
                    signals["license_family"] = fam
            if p.kind_weight and card.kind in ("model", "dataset") and card.kind != intent.kind:
                s -= p.kind_weight
                signals["kind"] = "mismatch"
            if cid in related:
                s += p.lineage_weight * related[cid]
                signals["lineage"] = intent.lineage
            elif cid == anchor and related:
                s -= p.anchor_penalty
                signals["lineage"] = "named model"
            if s < p.hit_floor:
                continue
            why: dict[str, Any] = {"matched_terms": matched,
                                   "keyword_evidence": round(evidence, 3)}
            if signals:
                why["signals"] = signals
            if cid in bm_rank:
                why["bm25_rank"] = bm_rank[cid]
            if cid in sim:
                if cid in de_rank:
                    why["dense_rank"] = de_rank[cid]
                why["similarity"] = round(sim[cid], 4)
            scored.append((s, cid, why))
        scored.sort(key=lambda x: (-x[0], x[1]))
        if intent.languages and scored and \
                scored[0][2].get("signals", {}).get("language") == "mismatch":
            # The query asks for a language and the best hit, soft language boost included,
            # declares others: the cards that have the language are about something else
            # ("speech recognition for isiZulu" when the one Zulu card is a translator), so
            # nothing here answers. A card that declares no language never triggers this:
            # missing metadata cannot make a query go unanswered.
            return []
        if scored and scored[0][0] < p.min_score:
            # Whether anything answers is the best hit's call; how far down the list goes
            # is hit_floor's (an absolute cut per hit would drop the right answer of a
            # paraphrase that shares no word with its card, with the wrong ones).
            return []
        hits = _HitList(k, flts)
        for s, cid, why in scored:
            card = cards[cid]
            if not hits.merged(card) and hits.add(card, s, why):
                break
        return hits.done()

    def _fuse(self, terms: list[str], freqs: tuple[int, dict[str, int]],
              bm25: list[tuple[int, float]],
              dense: list[tuple[int, float]], flts: Sequence[Filter], mode: str, k: int
              ) -> list[SearchHit]:
        p = self.params
        sim = dict(dense)
        cards = self.index.cards(list(dict.fromkeys([c for c, _ in bm25] + [c for c, _ in dense])))
        # idf-weighted share of the query's words a card contains: BM25 ranks a card that
        # matched one common word as eagerly as one that matched the rare ones, so weak keyword
        # evidence neither joins the fusion nor passes the threshold on its own.
        idf: dict[str, float] = {}
        if terms:
            n, df = freqs
            idf = {t: math.log(1 + (n - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5))
                   for t in terms}
        total = sum(idf.values()) or 1.0
        matched: dict[int, list[str]] = {}
        evidence: dict[int, float] = {}

        def explain(cid: int) -> None:
            if cid not in matched:
                m = matched_terms(terms, _card_text(cards[cid])) if terms else []
                matched[cid] = m
                evidence[cid] = sum(idf.get(t, 0.0) for t in m) / total

        for cid, _ in bm25:
            if cid in cards:
                explain(cid)
        gated = [cid for cid, _ in bm25 if cid in cards and
                 (mode == "bm25" or evidence[cid] >= p.bm25_gate)]
        bm_rank = {cid: r for r, cid in enumerate(gated, 1)}
        de_rank = {cid: r for r, (cid, _) in enumerate(dense, 1)}
        scores: dict[int, float] = {}
        for cid, r in bm_rank.items():
            scores[cid] = scores.get(cid, 0.0) + p.bm25_weight / (p.rrf_k + r)
        for cid, r in de_rank.items():
            scores[cid] = scores.get(cid, 0.0) + p.dense_weight / (p.rrf_k + r)
        hits = _HitList(k, flts)
        for cid in sorted(scores, key=lambda c: -scores[c]):
            hit_card = cards.get(cid)
            if hit_card is None:
                continue  # deleted since the vector index last synced
            card = hit_card
            similarity = sim.get(cid)
            explain(cid)
            strong_text = cid in bm_rank and evidence[cid] >= p.min_evidence
            strong_dense = similarity is not None and similarity >= p.min_similarity
            if not (strong_text or strong_dense):
                continue
            if hits.merged(card):
                continue
            why: dict[str, Any] = {"matched_terms": matched.get(cid, []),
                                   "keyword_evidence": round(evidence.get(cid, 0.0), 3)}
            if cid in bm_rank:
                why["bm25_rank"] = bm_rank[cid]
            if similarity is not None:
                why["dense_rank"] = de_rank[cid]
                why["similarity"] = round(similarity, 4)
            if hits.add(card, scores[cid], why):
                break
        return hits.done()


#: terms in more than this share of cards are left out of the BM25 match (their idf is near
#: zero, and matching them makes the ranker score most of the index)
COMMON_SHARE = 0.15
#: small indexes rank every term (cheap there, and each term still refines the order)
PRUNE_FROM = 5000


def match_terms(terms: list[str], n_docs: int, df: Mapping[str, int]) -> list[str]:
    """The query terms worth matching: present somewhere and not near-universal (the two
    rarest present ones if every term is common)."""
    present = [t for t in terms if df.get(t, 0) > 0]
    if n_docs < PRUNE_FROM:
        return present
    keep = [t for t in present if df[t] <= COMMON_SHARE * n_docs]
    if not keep:
        keep = sorted(present, key=lambda t: df[t])[:2]
    return keep


class _HitList:
    """The hits of one query in rank order, one per content at a path: the same content on
    another ref joins the first hit's ``refs`` instead of a hit of its own."""

    def __init__(self, k: int, flts: Sequence[Filter]) -> None:
        self.k = k
        self.facets = {f.key: list(f.values) if f.values else {"min": f.low, "max": f.high}
                       for f in flts}
        self.hits: list[SearchHit] = []
        self._seen: dict[tuple[str, str, str], SearchHit] = {}

    def merged(self, card: CardRow) -> bool:
        """True (and ``card``'s ref recorded) if its content already has a hit."""
        hit = self._seen.get((card.repo, card.path, card.object_id))
        if hit is None:
            return False
        hit.refs.append(card.ref)
        return True

    def add(self, card: CardRow, score: float, why: dict[str, Any]) -> bool:
        """Append ``card``'s hit (with the query's facets in ``why``); True once k are in."""
        if self.facets:
            why["facets"] = dict(self.facets)
        hit = _hit(card, score, why)
        self._seen[(card.repo, card.path, card.object_id)] = hit
        self.hits.append(hit)
        return len(self.hits) >= self.k

    def done(self) -> list[SearchHit]:
        """The hits, each one's refs sorted."""
        for h in self.hits:
            h.refs.sort()
        return self.hits


def _hit(card: CardRow, score: float, why: dict[str, Any]) -> SearchHit:
    """The hit showing ``card`` (on its own ref; other refs are appended by the caller)."""
    return SearchHit(uri=str(BlacklakeURI(card.repo, card.ref, card.path)), repo=card.repo,
                     ref=card.ref, path=card.path, score=score, kind=card.kind,
                     name=card.name, why=why, facts=card.facts, refs=[card.ref],
                     size=card.size, parameters=card.parameters, object_id=card.object_id)


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _name_words(name: str) -> list[str]:
    return [w for w in query_terms(name.replace("-", " ").replace("_", " "))]


def _card_text(card: CardRow) -> str:
    f = card.facts
    parts: list[str] = [card.name, card.path, card.repo]
    for key in ("task", "framework", "format", "architecture", "license", "language", "tags",
                "datasets", "base_model", "description"):
        v = f.get(key)
        if isinstance(v, (list, tuple)):
            parts.extend(str(x) for x in v)
        elif v:
            parts.append(str(v))
    for code in (f.get("language") or []) if isinstance(f.get("language"), list) else \
            [f.get("language")] if f.get("language") else []:
        parts.append(LANGUAGES.get(str(code).lower(), str(code)))
    if f.get("license"):
        parts.append(license_family(str(f.get("license"))))
    return " ".join(parts).replace("-", " ")


def encode_query(store: Store, query: str) -> np.ndarray:
    """The query vector (exposed for benchmarks)."""
    return embedder(store).encode([query])[0]
