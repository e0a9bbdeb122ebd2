"""The search-index interface of a catalog (cards, full text, vectors, facts cache, sketches).

Everything here is derivable from the objects: dropping it and re-indexing gives the same
answers. Implementations must make each method one transaction.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: facets with a numeric range filter (``--filter parameters<1e9``) instead of equality
NUMERIC_FACETS = ("size", "parameters")


@dataclass(frozen=True)
class CardDoc:
    """A card as the indexer writes it."""

    path: str
    object_id: str
    kind: str  # "model" | "dataset"
    name: str
    size: int
    parameters: int | None
    facts: Mapping[str, Any]
    facets: Sequence[tuple[str, str]]
    #: full-text columns, weighted high to low
    title: str
    keywords: str
    body: str
    dense_text: str
    text_hash: str


@dataclass(frozen=True)
class CardRow:
    """A stored card, as search reads it."""

    id: int
    repo: str
    ref: str
    path: str
    object_id: str
    kind: str
    name: str
    size: int
    parameters: int | None
    facts: Mapping[str, Any] = field(default_factory=dict)
    text_hash: str = ""


@dataclass(frozen=True)
class Filter:
    """Facet equality (any of ``values``) or numeric range constraint on cards."""

    key: str
    values: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None


class SearchIndex(ABC):
    """Search tables of one catalog."""

    # -- heads ---------------------------------------------------------------------------
    @abstractmethod
    def heads(self, repo_id: int) -> dict[str, str]:
        """``{ref: commit id}`` each ref of the repository was last indexed at."""

    @abstractmethod
    def stale_repos(self) -> list[str]:
        """Names of repositories whose branches/tags differ from what was indexed (moved,
        new or deleted refs): one cheap query, so every search can check it."""

    @abstractmethod
    def set_head(self, repo_id: int, ref: str, commit: str) -> None:
        """Record that ``ref`` is now indexed at ``commit``."""

    @abstractmethod
    def drop_ref(self, repo_id: int, ref: str) -> None:
        """Forget every card and file location of ``ref``, and its head."""

    @abstractmethod
    def copy_ref(self, repo_id: int, src: str, dst: str, dst_kind: str) -> int:
        """Copy ``src``'s cards and file locations to ``dst`` (which has none) of kind
        ``dst_kind`` ("branch"/"tag"); the number of cards copied."""

    # -- cards ---------------------------------------------------------------------------
    @abstractmethod
    def card_keys(self, repo_id: int, ref: str, paths: Sequence[str]
                  ) -> dict[str, tuple[str, str]]:
        """``{path: (object_id, text_hash)}`` of the cards at ``paths`` that exist."""

    @abstractmethod
    def card_paths_under(self, repo_id: int, ref: str, prefix: str) -> list[str]:
        """Card paths equal to or below ``prefix`` ('' = all)."""

    @abstractmethod
    def upsert_cards(self, repo_id: int, ref: str, docs: Sequence[CardDoc]) -> None:
        """Insert or replace cards (with facets and full text) at their paths."""

    @abstractmethod
    def delete_cards(self, repo_id: int, ref: str, paths: Sequence[str]) -> None:
        """Remove the cards at ``paths`` (missing ones are ignored)."""

    @abstractmethod
    def count_cards(self) -> int:
        """Number of cards in the store."""

    @abstractmethod
    def cards(self, ids: Sequence[int]) -> dict[int, CardRow]:
        """Cards by id (missing ids are left out)."""

    @abstractmethod
    def filter_ids(self, filters: Sequence[Filter]) -> list[int]:
        """Ids of cards satisfying every filter (AND over keys, OR within a key)."""

    @abstractmethod
    def fulltext(self, terms: Sequence[str], limit: int,
                 allowed: Sequence[int] | None = None, *, require_all: bool = False
                 ) -> list[tuple[int, float]]:
        """BM25-ranked ``(card id, score)`` best first for cards containing any of ``terms``
        (all of them with ``require_all``; higher score is better), restricted to
        ``allowed`` ids when given."""

    @abstractmethod
    def doc_freqs(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        """``(number of cards, {term: cards containing it})`` for query terms, with the same
        stemming as :meth:`fulltext` (for idf weights)."""

    @abstractmethod
    def facet_counts(self, key: str, limit: int = 50) -> list[tuple[str, int]]:
        """Most common values of a facet with their card counts."""

    # -- vectors -------------------------------------------------------------------------
    @abstractmethod
    def pending_texts(self, model: str, limit: int) -> list[tuple[str, str]]:
        """``(text_hash, dense_text)`` of cards whose text has no vector for ``model``."""

    @abstractmethod
    def put_vectors(self, model: str, rows: Sequence[tuple[str, bytes]]) -> None:
        """Store vectors by text hash and log the cards using them as changed."""

    @abstractmethod
    def last_change(self) -> int:
        """Sequence number of the newest logged card change (0 if none)."""

    @abstractmethod
    def changes_since(self, seq: int, limit: int) -> list[tuple[int, int, str]]:
        """Logged ``(seq, card_id, op)`` after ``seq``, oldest first; op ``+`` or ``-``."""

    @abstractmethod
    def vectors_for(self, model: str, card_ids: Sequence[int]) -> dict[int, bytes]:
        """Vectors of the given cards (cards without one are left out)."""

    @abstractmethod
    def iter_vectors(self, model: str, batch: int = 5000) -> Iterator[list[tuple[int, bytes]]]:
        """Every card's vector, in batches, for rebuilding a vector index."""

    # -- extraction cache ---------------------------------------------------------------
    @abstractmethod
    def cached_facts(self, object_ids: Sequence[str], key: str) -> dict[str, str]:
        """Cached facts JSON by object id for extractor-version ``key``."""

    @abstractmethod
    def cache_facts(self, key: str, rows: Sequence[tuple[str, str]]) -> None:
        """Cache ``(object_id, facts JSON)`` rows (existing rows are kept)."""

    @abstractmethod
    def cached_facts_like(self, object_ids: Sequence[str], key_prefix: str
                          ) -> dict[str, list[tuple[str, str]]]:
        """``{object id: [(key, facts JSON), ...]}`` for every cached key starting with
        ``key_prefix`` (e.g. ``"file:"``: what any file extractor found)."""

    # -- chunk sketches -------------------------------------------------------------------
    @abstractmethod
    def sketched(self, file_ids: Sequence[str]) -> set[str]:
        """Which of ``file_ids`` already have a sketch."""

    @abstractmethod
    def put_sketches(self, rows: Sequence[tuple[str, int, int, bytes, Sequence[int]]]) -> None:
        """Store ``(file_id, size, nchunks, signature, band buckets)`` rows."""

    @abstractmethod
    def sketches(self, file_ids: Sequence[str]) -> dict[str, tuple[int, int, bytes]]:
        """``{file_id: (size, nchunks, signature)}``."""

    @abstractmethod
    def band_candidates(self, buckets: Sequence[int], limit: int) -> dict[str, int]:
        """Files sharing LSH buckets with ``buckets`` (index = band): ``{file_id: hits}``."""

    @abstractmethod
    def set_files(self, repo_id: int, ref: str, add: Sequence[tuple[str, str]],
                  remove: Sequence[str]) -> None:
        """Record sketched files ``(path, file_id)`` on ``ref``; forget ``remove`` paths."""

    @abstractmethod
    def file_locations(self, file_ids: Sequence[str], limit: int = 1000
                       ) -> list[tuple[str, str, str, str]]:
        """``(repo, ref, path, file_id)`` where the files sit on indexed heads."""

    # -- maintenance ----------------------------------------------------------------------
    @abstractmethod
    def clear(self, *, keep_caches: bool = True) -> None:
        """Drop cards, heads, locations and the change log (a full re-index follows);
        ``keep_caches`` keeps vectors, extracted facts and sketches (content-keyed)."""
