"""The embedded SQLite catalog, read through the standard library's ``sqlite3``.

A read command (``blacklake ls``, ``log``, ``repo list``) asks the catalog two or three
questions, and importing SQLAlchemy to ask them costs more than everything else the command
does. :class:`FastSqliteCatalog` answers the reads that commands, the object reader and the
listings make, and :class:`FastSearchIndex` the reads of a search query (so ``blacklake
search`` on an up-to-date index never imports SQLAlchemy either), with plain SQL on one
``sqlite3`` connection; any other call (every write, gc, lineage, indexing) opens the full
:class:`~blacklake_ml.catalog.sql.SqlCatalog` on the same file the first time it is needed
and hands the call to it. Both see the same committed
state (WAL mode; this connection never holds a transaction open between calls).

Only file databases already at the current schema revision take this path; creating or
upgrading a catalog, in-memory databases and URLs with query options go straight to
SQLAlchemy. The read queries here mirror the SQLAlchemy ones in ``sql.py`` /
``lifecycle_sql.py`` / ``search_sql.py``; ``tests/test_catalog_conformance.py`` runs the
same suite on both, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import orjson

from blacklake_ml.catalog.base import (
    BlobRow,
    Catalog,
    CommitRow,
    DeploymentRow,
    DeprecationRow,
    ObjectLocation,
    PackRow,
    RefRow,
    RepoRow,
)
from blacklake_ml.catalog.batches import chunks
from blacklake_ml.catalog.revision import script_head
from blacklake_ml.catalog.search_base import NUMERIC_FACETS, CardRow, Filter, SearchIndex
from blacklake_ml.catalog.search_fts import (
    STALE_REPOS_SQL,
    RankedFulltext,
    card_row,
    cards_sql,
    fts_doc_freqs,
    fts_rank_params,
    fts_rank_sql,
    query_words,
)
from blacklake_ml.errors import CatalogError, RepoNotFound

if TYPE_CHECKING:
    from blacklake_ml.catalog.lineage_base import LineageIndex
    from blacklake_ml.catalog.sql import SqlCatalog

PREFIX = "sqlite:///"
#: the row id of a deprecation of the whole repository (as lifecycle_sql writes it)
_WHOLE_REPO = ""


def sqlite_path(url: str) -> str | None:
    """The database file of a plain ``sqlite:///PATH`` URL, or None for any other form
    (in-memory, query options, other drivers): those always use SQLAlchemy."""
    if not url.startswith(PREFIX) or "?" in url:
        return None
    path = url[len(PREFIX):]
    return path if path and path != ":memory:" else None


#: page cache of the search reads' connection (SQLite's default is 2 MB): every query walks
#: the same FTS5 doclists of common words, b-tree interior pages and the card-count index
#: (~2 MB at 100k cards), which a 2 MB cache keeps evicting. Filled only as pages are read,
#: so a one-query process holds a few MB of it. (Not mmap: the kernel maps 64 KB around
#: every page touched, ~45 MB of resident size for one query on a 650 MB catalog.)
SEARCH_CACHE_KIB = 64 * 1024


class _Reads:
    """The read queries, on one ``sqlite3`` connection shared by the process's threads."""

    def __init__(self, path: str, cache_kib: int = 0) -> None:
        try:
            self._conn = sqlite3.connect(path, timeout=60, check_same_thread=False,
                                         isolation_level=None)
            self._conn.execute("PRAGMA busy_timeout=60000")
            if cache_kib:
                self._conn.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
        except sqlite3.Error as exc:
            raise CatalogError(f"catalog unavailable (sqlite:///{path}): {exc}") from None
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.Lock()

    def rows(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
             ) -> list[sqlite3.Row]:
        try:
            with self._lock:
                return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise CatalogError(f"catalog error: {exc}") from None

    def in_rows(self, sql: str, head: Sequence[Any], ids: Sequence[Any],
                tail: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """``sql`` with ``{in}`` replaced by placeholders, for batches of ``ids``."""
        out: list[sqlite3.Row] = []
        for part in chunks(list(ids)):
            marks = ",".join("?" * len(part))
            out += self.rows(sql.replace("{in}", marks), [*head, *part, *tail])
        return out

    def revision(self) -> str | None:
        try:
            with self._lock:
                row = self._conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error:
            return None  # no such table yet: a new catalog
        return None if row is None else str(row[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _commit(r: sqlite3.Row) -> CommitRow:
    return CommitRow(id=r["id"], tree=r["tree"], parents=tuple(orjson.loads(r["parents"])),
                     author=r["author"], committer=r["committer"], time=r["time"],
                     message=r["message"], meta=orjson.loads(r["meta"]),
                     generation=r["generation"], size=r["size"], nfiles=r["nfiles"])


def _repo(r: sqlite3.Row) -> RepoRow:
    return RepoRow(r["id"], r["name"], r["description"], r["created"], r["max_bytes"],
                   r["max_files"])


def _loc(r: sqlite3.Row) -> ObjectLocation:
    return ObjectLocation(r["id"], r["kind"], r["pack"], r["offset"], r["length"])


class FastSqliteCatalog(Catalog):
    """A :class:`Catalog` on an SQLite file: common reads in ``sqlite3``, the rest through
    a :class:`SqlCatalog` opened on first use (see the module doc)."""

    def __init__(self, url: str, path: str) -> None:
        self.url = url
        self._path = path
        self._reads = _Reads(path)
        self._search_reads: _Reads | None = None
        self._full: SqlCatalog | None = None
        self._full_lock = threading.Lock()

    def search_reads(self) -> _Reads:
        """The search index's own connection (made on first use): a larger page cache,
        and a query's reads never wait for the object reader's on the other one."""
        if self._search_reads is None:
            with self._full_lock:
                if self._search_reads is None:
                    self._search_reads = _Reads(self._path, SEARCH_CACHE_KIB)
        return self._search_reads

    def full(self) -> SqlCatalog:
        """The SQLAlchemy catalog on the same database (opened on the first call)."""
        if self._full is None:
            with self._full_lock:
                if self._full is None:
                    from blacklake_ml.catalog.sql import SqlCatalog

                    self._full = SqlCatalog(self.url)
        return self._full

    def at_head(self) -> bool:
        """Whether the schema is at the revision this version writes."""
        return self._reads.revision() == script_head()

    # -- lifecycle ------------------------------------------------------------------------
    def migrate(self) -> None:
        if not self.at_head():
            self.full().migrate()

    def search_index(self) -> SearchIndex:
        index: Any = FastSearchIndex  # the rest of its interface is delegated (module end)
        return cast(SearchIndex, index(self))

    def lineage_index(self) -> LineageIndex:
        return self.full().lineage_index()

    def close(self) -> None:
        self._reads.close()
        if self._search_reads is not None:
            self._search_reads.close()
        if self._full is not None:
            self._full.close()

    # -- reads ----------------------------------------------------------------------------
    def get_repo(self, name: str) -> RepoRow:
        rows = self._reads.rows("SELECT * FROM repos WHERE name = ?", (name,))
        if not rows:
            raise RepoNotFound(f"no repository named {name!r}")
        return _repo(rows[0])

    def list_repos(self) -> list[RepoRow]:
        return [_repo(r) for r in self._reads.rows("SELECT * FROM repos ORDER BY name")]

    def get_ref(self, repo_id: int, name: str) -> RefRow | None:
        rows = self._reads.rows("SELECT * FROM refs WHERE repo_id = ? AND name = ?",
                                (repo_id, name))
        if not rows:
            return None
        r = rows[0]
        return RefRow(r["name"], r["kind"], r["commit_id"], r["updated"])

    def list_refs(self, repo_id: int, kind: str | None = None) -> list[RefRow]:
        sql = "SELECT * FROM refs WHERE repo_id = ?"
        params: list[Any] = [repo_id]
        if kind:
            sql, params = sql + " AND kind = ?", [repo_id, kind]
        return [RefRow(r["name"], r["kind"], r["commit_id"], r["updated"])
                for r in self._reads.rows(sql + " ORDER BY name", params)]

    def all_refs(self) -> list[tuple[int, RefRow]]:
        return [(r["repo_id"], RefRow(r["name"], r["kind"], r["commit_id"], r["updated"]))
                for r in self._reads.rows("SELECT * FROM refs")]

    def get_commits(self, repo_id: int, ids: Iterable[str]) -> dict[str, CommitRow]:
        rows = self._reads.in_rows("SELECT * FROM commits WHERE repo_id = ? AND id IN ({in})",
                                   (repo_id,), list(dict.fromkeys(ids)))
        return {r["id"]: _commit(r) for r in rows}

    def find_commits(self, repo_id: int, prefix: str, limit: int = 2) -> list[str]:
        rows = self._reads.rows("SELECT id FROM commits WHERE repo_id = ? AND id >= ? AND "
                                "id < ? ORDER BY id LIMIT ?",
                                (repo_id, prefix, prefix + "g", limit))
        return [r["id"] for r in rows]

    def commits_touching(self, repo_id: int, path: str) -> set[str]:
        if not path:
            rows = self._reads.rows("SELECT DISTINCT commit_id FROM path_changes "
                                    "WHERE repo_id = ?", (repo_id,))
        else:
            rows = self._reads.rows(
                "SELECT DISTINCT commit_id FROM path_changes WHERE repo_id = ? AND "
                "(path = ? OR (path >= ? AND path < ?))",
                (repo_id, path, path + "/", path + "0"))
        return {r["commit_id"] for r in rows}

    def count_commits(self, repo_id: int | None = None) -> int:
        if repo_id is None:
            return int(self._reads.rows("SELECT count(*) FROM commits")[0][0])
        return int(self._reads.rows("SELECT count(*) FROM commits WHERE repo_id = ?",
                                    (repo_id,))[0][0])

    def locate(self, ids: Iterable[str]) -> dict[str, ObjectLocation]:
        rows = self._reads.in_rows("SELECT * FROM objects WHERE id IN ({in})", (),
                                   list(dict.fromkeys(ids)))
        return {r["id"]: _loc(r) for r in rows}

    def existing(self, ids: Iterable[str]) -> set[str]:
        rows = self._reads.in_rows("SELECT id FROM objects WHERE id IN ({in})", (), list(ids))
        return {r["id"] for r in rows}

    def list_packs(self) -> list[PackRow]:
        return [PackRow(r["id"], r["size"], r["nobjects"], r["created"], r["state"],
                        r["retired_at"])
                for r in self._reads.rows("SELECT * FROM packs ORDER BY created")]

    def get_blob(self, file_id: str) -> BlobRow | None:
        rows = self._reads.rows("SELECT * FROM blobs WHERE id = ?", (file_id,))
        if not rows:
            return None
        r = rows[0]
        return BlobRow(r["id"], r["size"], r["sha256"], r["md5"])

    def current_deployments(self, repo_id: int) -> list[DeploymentRow]:
        rows = self._reads.rows(
            "SELECT d.* FROM deployments d JOIN (SELECT repo_id, environment, max(seq) AS seq "
            "FROM deployments GROUP BY repo_id, environment) l ON d.repo_id = l.repo_id AND "
            "d.environment = l.environment AND d.seq = l.seq WHERE d.repo_id = ? "
            "ORDER BY d.environment", (repo_id,))
        return [DeploymentRow(r["environment"], r["seq"], r["commit_id"], r["label"],
                              r["action"], r["actor"], r["at"], r["note"]) for r in rows]

    def find_deprecations(self, repo_id: int, commit: str | None = None
                          ) -> list[DeprecationRow]:
        sql = "SELECT * FROM deprecations WHERE repo_id = ?"
        params: list[Any] = [repo_id]
        if commit is not None:
            sql, params = sql + " AND commit_id IN (?, ?)", [repo_id, commit, _WHOLE_REPO]
        return [DeprecationRow(r["commit_id"] or None, r["label"], r["reason"], r["sunset"],
                               r["actor"], r["at"])
                for r in self._reads.rows(sql + " ORDER BY commit_id", params)]


class FastSearchIndex(RankedFulltext, SearchIndex):
    """The search tables: what a query reads (staleness, full text, document frequencies,
    filters, cards, the change log and vectors the vector index replays) and the facts
    cache (what listings read) in ``sqlite3``, so a ``blacklake search`` process never
    imports SQLAlchemy; every write (indexing, embedding) through the full catalog's index.

    The statements mirror ``search_sql.py`` (the full-text ones are the same text, from
    ``search_fts.py``); ``tests/test_search_index.py`` runs its suite on both."""

    def __init__(self, catalog: FastSqliteCatalog) -> None:
        self._catalog = catalog
        self._reads = catalog.search_reads()
        self._full: SearchIndex | None = None

    def full(self) -> SearchIndex:
        """The SQLAlchemy search index on the same database."""
        if self._full is None:
            self._full = self._catalog.full().search_index()
        return self._full

    # -- heads ---------------------------------------------------------------------------
    def heads(self, repo_id: int) -> dict[str, str]:
        rows = self._reads.rows("SELECT ref, commit_id FROM search_heads WHERE repo_id = ?",
                                (repo_id,))
        return {r["ref"]: r["commit_id"] for r in rows}

    def stale_repos(self) -> list[str]:
        return sorted(r[0] for r in self._reads.rows(STALE_REPOS_SQL))

    # -- cards ---------------------------------------------------------------------------
    def count_cards(self) -> int:
        return int(self._reads.rows("SELECT count(*) FROM search_cards")[0][0])

    def cards(self, ids: Sequence[int]) -> dict[int, CardRow]:
        rows = self._reads.in_rows(cards_sql("c.id IN ({in})"), (), list(ids))
        return {int(r[0]): card_row(r) for r in rows}

    def filter_ids(self, filters: Sequence[Filter]) -> list[int]:
        facet = [flt for flt in filters if flt.key not in NUMERIC_FACETS]
        numeric = [flt for flt in filters if flt.key in NUMERIC_FACETS]
        params: list[Any] = []

        def values_in(flt: Filter) -> str:
            params.extend(v.lower() for v in flt.values)
            return ",".join("?" * len(flt.values))

        # As search_sql: the first facet's covering index scan, the card row joined only
        # for a numeric range, the other facets as EXISTS probes.
        if facet:
            owner = "f.card_id"
            sql = "SELECT f.card_id FROM search_facets f"
            if numeric:
                sql += " JOIN search_cards c ON c.id = f.card_id"
            params.append(facet[0].key)
            where = [f"f.key = ? AND f.value IN ({values_in(facet[0])})"]
        else:
            owner, sql, where = "c.id", "SELECT c.id FROM search_cards c", []
        for flt in numeric:
            col = "c.size" if flt.key == "size" else "c.parameters"
            for op, bound in ((">=", flt.low), ("<=", flt.high)):
                if bound is not None:
                    where.append(f"{col} {op} ?")
                    params.append(bound)
        for flt in facet[1:]:
            params.append(flt.key)
            where.append(f"EXISTS (SELECT 1 FROM search_facets g WHERE g.card_id = {owner} "
                         f"AND g.key = ? AND g.value IN ({values_in(flt)}))")
        if where:
            sql += " WHERE " + " AND ".join(where)
        return sorted({r[0] for r in self._reads.rows(sql, params)})

    def _rank(self, words: list[str], limit: int, allowed: Sequence[int] | None,
              require_all: bool) -> list[tuple[int, float]]:
        rows = self._reads.rows(fts_rank_sql(allowed is not None),
                                fts_rank_params(words, limit, allowed, require_all))
        return [(int(r["id"]), float(r["score"])) for r in rows]

    def doc_freqs(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        words = query_words(terms)
        n = self.count_cards()
        return (n, fts_doc_freqs(words, self._reads.rows)) if words else (n, {})

    def facet_counts(self, key: str, limit: int = 50) -> list[tuple[str, int]]:
        rows = self._reads.rows("SELECT value, count(*) AS n FROM search_facets WHERE key = ? "
                                "GROUP BY value ORDER BY n DESC, value LIMIT ?", (key, limit))
        return [(r["value"], int(r["n"])) for r in rows]

    # -- vectors -------------------------------------------------------------------------
    def pending_texts(self, model: str, limit: int) -> list[tuple[str, str]]:
        rows = self._reads.rows(
            "SELECT c.text_hash, min(c.dense_text) FROM search_cards c LEFT OUTER JOIN "
            "search_vectors v ON v.model = ? AND v.text_hash = c.text_hash "
            "WHERE v.text_hash IS NULL GROUP BY c.text_hash LIMIT ?", (model, limit))
        return [(r[0], r[1]) for r in rows]

    def last_change(self) -> int:
        return int(self._reads.rows("SELECT max(seq) FROM search_changes")[0][0] or 0)

    def changes_since(self, seq: int, limit: int) -> list[tuple[int, int, str]]:
        rows = self._reads.rows("SELECT seq, card_id, op FROM search_changes WHERE seq > ? "
                                "ORDER BY seq LIMIT ?", (seq, limit))
        return [(r["seq"], r["card_id"], r["op"]) for r in rows]

    _VECTORS = ("SELECT c.id, v.vector FROM search_cards c JOIN search_vectors v "
                "ON v.model = ? AND v.text_hash = c.text_hash WHERE ")

    def vectors_for(self, model: str, card_ids: Sequence[int]) -> dict[int, bytes]:
        rows = self._reads.in_rows(self._VECTORS + "c.id IN ({in})", (model,), list(card_ids))
        return {r[0]: bytes(r[1]) for r in rows}

    def iter_vectors(self, model: str, batch: int = 5000) -> Iterator[list[tuple[int, bytes]]]:
        last = 0
        while True:
            rows = [(int(r[0]), bytes(r[1])) for r in self._reads.rows(
                self._VECTORS + "c.id > ? ORDER BY c.id LIMIT ?", (model, last, batch))]
            if not rows:
                return
            last = rows[-1][0]
            yield rows

    # -- extraction cache ----------------------------------------------------------------
    def cached_facts(self, object_ids: Sequence[str], key: str) -> dict[str, str]:
        rows = self._reads.in_rows("SELECT object_id, facts FROM search_facts WHERE "
                                   "extractor_key = ? AND object_id IN ({in})", (key,),
                                   list(object_ids))
        return {r["object_id"]: r["facts"] for r in rows}

    def cached_facts_like(self, object_ids: Sequence[str], key_prefix: str
                          ) -> dict[str, list[tuple[str, str]]]:
        rows = self._reads.in_rows(
            "SELECT object_id, extractor_key, facts FROM search_facts WHERE "
            "substr(extractor_key, 1, ?) = ? AND object_id IN ({in})",
            (len(key_prefix), key_prefix), list(object_ids))
        out: dict[str, list[tuple[str, str]]] = {}
        for r in rows:
            out.setdefault(r["object_id"], []).append((r["extractor_key"], r["facts"]))
        return out


def _delegate(cls: type, name: str) -> None:
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.full(), name)(*args, **kwargs)

    call.__name__ = name
    call.__doc__ = f"Handed to the full catalog (``{name}``)."
    setattr(cls, name, call)


# Every other operation of the interfaces goes to the SQLAlchemy implementation.
for _cls, _base in ((FastSqliteCatalog, Catalog), (FastSearchIndex, SearchIndex)):
    # (what a mixin such as RankedFulltext implements is not abstract on the class)
    for _name in sorted(n for n in _base.__abstractmethods__
                        if getattr(getattr(_cls, n), "__isabstractmethod__", False)):
        _delegate(_cls, _name)
    _cls.__abstractmethods__ = frozenset()


def open_fast(url: str) -> Catalog | None:
    """A :class:`FastSqliteCatalog` for ``url`` when it is an existing SQLite file at the
    current revision; None when the full catalog must open it (to create or upgrade)."""
    path = sqlite_path(url)
    if path is None or not os.path.isfile(path):
        return None
    cls: Any = FastSqliteCatalog  # the rest of its interface is delegated (above)
    cat = cast(FastSqliteCatalog, cls(url, path))
    if not cat.at_head():
        cat.close()
        return None
    return cat
