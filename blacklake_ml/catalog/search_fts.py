"""The search reads both SQL paths share, with no SQLAlchemy: the porter stems of query
words, the FTS5 ranking query, the document-frequency lookup, the staleness check and the
card fetch.

:class:`~blacklake_ml.catalog.search_sql.SqlSearchIndex` runs these statements through
SQLAlchemy, :class:`~blacklake_ml.catalog.sqlite_fast.FastSearchIndex` through ``sqlite3``
(a fresh ``blacklake search`` process must not pay SQLAlchemy's import); keeping one text of
each here is what makes the two paths rank identically. Statements use ``:name``
parameters, which both drivers accept.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson

from blacklake_ml.catalog.search_base import CardRow

#: above this many allowed ids, full-text filtering intersects in Python (see fulltext)
SMALL_ID_SET = 500

#: names of repositories whose branches/tags differ from what was indexed (dialect-neutral)
STALE_REPOS_SQL = (
    "SELECT DISTINCT p.name FROM repos p JOIN refs r ON r.repo_id = p.id "
    "LEFT JOIN search_heads h ON h.repo_id = r.repo_id AND h.ref = r.name "
    "WHERE r.kind IN ('branch', 'tag') "
    "AND (h.commit_id IS NULL OR h.commit_id <> r.commit_id) "
    "UNION SELECT DISTINCT p.name FROM repos p JOIN search_heads h ON h.repo_id = p.id "
    "LEFT JOIN refs r ON r.repo_id = h.repo_id AND r.name = h.ref "
    "AND r.kind IN ('branch', 'tag') WHERE r.name IS NULL")

#: FTS5 vocabulary rows ``(term, doc)`` of the stems in the JSON list ``:t``
VOCAB_SQL = ("SELECT term, doc FROM search_fts_vocab WHERE term IN "
             "(SELECT value FROM json_each(:t))")

def cards_sql(ids_clause: str) -> str:
    """The cards whose id satisfies ``ids_clause``, as :func:`card_row` reads them."""
    return ("SELECT c.id, r.name AS repo, c.ref, c.path, c.object_id, c.kind, c.name, "
            "c.size, c.parameters, c.facts, c.text_hash FROM search_cards c "
            f"JOIN repos r ON r.id = c.repo_id WHERE {ids_clause}")


def card_row(r: Sequence[Any]) -> CardRow:
    """A row of :func:`cards_sql` (read by position: the cheapest access either driver's
    rows offer, for the ~100 cards every query fetches)."""
    return CardRow(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
                   orjson.loads(r[9]), r[10])


def json_ids(ids: Sequence[int]) -> str:
    """An id list as one JSON parameter (for ``json_each``: no bind-parameter limit)."""
    return orjson.dumps([int(i) for i in ids]).decode()


def sqlite_ids_clause(column: str, param: str = "ids") -> str:
    """``column`` in the JSON id list bound to ``:param``."""
    return f"{column} IN (SELECT value FROM json_each(:{param}))"


def fts_rank_sql(filtered: bool) -> str:
    """The BM25 ranking of ``search_fts`` for the match expression ``:q``, at most ``:n``
    rows, restricted to the JSON id list ``:ids`` when ``filtered``."""
    where = "search_fts MATCH :q"
    if filtered:
        where += " AND " + sqlite_ids_clause("rowid")
    # bm25() is lower-is-better; weights: name, keywords, body
    return (f"SELECT rowid AS id, -bm25(search_fts, 8.0, 3.0, 1.0) AS score "
            f"FROM search_fts WHERE {where} ORDER BY bm25(search_fts, 8.0, 3.0, 1.0) "
            "LIMIT :n")


def fts_rank_params(words: Sequence[str], limit: int, allowed: Sequence[int] | None,
                    require_all: bool) -> dict[str, Any]:
    """The parameters of :func:`fts_rank_sql` (each word quoted: a phrase of one token)."""
    params: dict[str, Any] = {
        "n": int(limit),
        "q": (" AND " if require_all else " OR ").join(f'"{w}"' for w in words)}
    if allowed is not None:
        params["ids"] = json_ids(allowed)
    return params


class RankedFulltext:
    """:meth:`SearchIndex.fulltext` for both SQL paths, on top of the one ranking query
    each implements as :meth:`_rank`."""

    def _rank(self, words: list[str], limit: int, allowed: Sequence[int] | None,
              require_all: bool) -> list[tuple[int, float]]:
        """``(card id, score)`` best first for ``words`` (already checked), at most
        ``limit``, only ``allowed`` ids when given."""
        raise NotImplementedError

    def fulltext(self, terms: Sequence[str], limit: int,
                 allowed: Sequence[int] | None = None, *, require_all: bool = False
                 ) -> list[tuple[int, float]]:
        """See :meth:`SearchIndex.fulltext`."""
        words = [w for w in terms if w.isalnum()]
        if not words or (allowed is not None and not allowed):
            return []
        if allowed is not None and len(allowed) > SMALL_ID_SET:
            # A large id set makes the engine test membership row by row (hundreds of ms
            # on 100k cards); ranking unfiltered and intersecting here costs one normal
            # query per round, widening until enough eligible cards are found.
            ok = set(allowed)
            want = int(limit)
            fetch = max(4 * want, 200)
            while True:
                ranked = self._rank(words, fetch, None, require_all)
                hits = [h for h in ranked if h[0] in ok]
                if len(hits) >= want or len(ranked) < fetch:
                    return hits[:want]
                fetch *= 8
        return self._rank(words, limit, allowed, require_all)


def query_words(terms: Sequence[str]) -> list[str]:
    """The distinct terms the full-text index can hold (what doc_freqs counts)."""
    return [w for w in dict.fromkeys(terms) if w.isalnum()]


def fts_doc_freqs(words: Sequence[str],
                  vocab: Callable[[str, dict[str, Any]], Iterable[Sequence[Any]]]
                  ) -> dict[str, int]:
    """``{word: cards containing its stem}``; ``vocab(sql, params)`` runs :data:`VOCAB_SQL`."""
    stems = porter_stems(words)
    rows = vocab(VOCAB_SQL, {"t": orjson.dumps(sorted(set(stems.values()))).decode()})
    df = {str(r[0]): int(r[1]) for r in rows}
    return {w: df.get(stems[w], 0) for w in words}


_STEMMER: Any = None
_STEM_LOCK = threading.Lock()


def porter_stems(words: Sequence[str]) -> dict[str, str]:
    """Each word as the FTS5 porter tokenizer stores it (asked of SQLite itself, so the
    stems always agree with the index)."""
    global _STEMMER
    with _STEM_LOCK:
        if _STEMMER is None:
            db = sqlite3.connect(":memory:", check_same_thread=False)
            db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='porter unicode61 "
                       "remove_diacritics 2')")
            db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
            _STEMMER = db
        db = _STEMMER
        db.execute("DELETE FROM t")
        db.executemany("INSERT INTO t(rowid, x) VALUES (?, ?)",
                       [(i + 1, w) for i, w in enumerate(words)])
        got = {int(doc): term for term, doc in db.execute("SELECT term, doc FROM v")}
    return {w: got.get(i + 1, w) for i, w in enumerate(words)}
