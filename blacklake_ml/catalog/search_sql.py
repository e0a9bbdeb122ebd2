""":class:`SearchIndex` on the SQL catalog: SQLite FTS5 (embedded) or PostgreSQL full text.

Id lists travel as one JSON parameter (SQLite ``json_each``, PostgreSQL ``= ANY``) so large
filter sets never hit bind-parameter limits.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blacklake_ml.catalog import schema as t
from blacklake_ml.catalog import search_schema as s
from blacklake_ml.catalog.batches import chunks as _chunks
from blacklake_ml.catalog.search_base import NUMERIC_FACETS, CardDoc, CardRow, Filter, SearchIndex
from blacklake_ml.catalog.search_fts import (
    STALE_REPOS_SQL,
    RankedFulltext,
    card_row,
    cards_sql,
    fts_doc_freqs,
    fts_rank_params,
    fts_rank_sql,
    json_ids,
    query_words,
    sqlite_ids_clause,
)
from blacklake_ml.catalog.sql_tx import SqlTransactions


class SqlSearchIndex(RankedFulltext, SearchIndex):
    """Search tables in an :class:`~blacklake_ml.catalog.sql.SqlCatalog`."""

    def __init__(self, catalog: SqlTransactions) -> None:
        self._cat = catalog
        self._sqlite = catalog.is_sqlite

    # -- helpers ---------------------------------------------------------------------------
    def _tx(self, write: bool = False) -> Any:
        return self._cat._tx(write=write)

    def _ids_clause(self, column: str, param: str = "ids") -> str:
        if self._sqlite:
            return sqlite_ids_clause(column, param)
        return f"{column} = ANY(CAST(:{param} AS integer[]))"

    def _ids_param(self, ids: Sequence[int]) -> Any:
        return json_ids(ids) if self._sqlite else "{" + ",".join(str(int(i)) for i in ids) + "}"

    def _delete_text(self, conn: Connection, ids: Sequence[int]) -> None:
        if not ids:
            return
        table = "search_fts" if self._sqlite else "search_text"
        col = "rowid" if self._sqlite else "card_id"
        conn.execute(sa.text(f"DELETE FROM {table} WHERE {self._ids_clause(col)}"),
                     {"ids": self._ids_param(ids)})

    def _insert_text(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self._sqlite:
            conn.execute(sa.text("INSERT INTO search_fts(rowid, name, keywords, body) "
                                 "VALUES (:id, :name, :keywords, :body)"), rows)
        else:
            conn.execute(sa.text(
                "INSERT INTO search_text(card_id, tsv) VALUES (:id, "
                "setweight(to_tsvector('english', :name), 'A') || "
                "setweight(to_tsvector('english', :keywords), 'B') || "
                "setweight(to_tsvector('english', :body), 'C'))"), rows)

    def _log(self, conn: Connection, ids: Sequence[int], op: str) -> None:
        if ids:
            conn.execute(sa.insert(s.search_changes), [{"card_id": i, "op": op} for i in ids])

    def _card_ids(self, conn: Connection, repo_id: int, ref: str,
                  paths: Sequence[str] | None = None) -> list[int]:
        c = s.search_cards.c
        q = sa.select(c.id).where(c.repo_id == repo_id, c.ref == ref)
        if paths is None:
            return list(conn.scalars(q))
        out: list[int] = []
        for part in _chunks(list(paths)):
            out.extend(conn.scalars(q.where(c.path.in_(part))))
        return out

    def _drop_cards(self, conn: Connection, ids: list[int]) -> None:
        for part in _chunks(ids):
            self._log(conn, part, "-")
            self._delete_text(conn, part)
            conn.execute(sa.delete(s.search_facets).where(s.search_facets.c.card_id.in_(part)))
            conn.execute(sa.delete(s.search_cards).where(s.search_cards.c.id.in_(part)))

    # -- heads -----------------------------------------------------------------------------
    def heads(self, repo_id: int) -> dict[str, str]:
        h = s.search_heads.c
        with self._tx() as conn:
            return {r.ref: r.commit_id for r in conn.execute(
                sa.select(h.ref, h.commit_id).where(h.repo_id == repo_id))}

    def stale_repos(self) -> list[str]:
        with self._tx() as conn:
            return sorted(conn.scalars(sa.text(STALE_REPOS_SQL)))

    def set_head(self, repo_id: int, ref: str, commit: str) -> None:
        h = s.search_heads
        with self._tx(write=True) as conn:
            n = conn.execute(sa.update(h).where(h.c.repo_id == repo_id, h.c.ref == ref)
                             .values(commit_id=commit)).rowcount
            if n == 0:
                conn.execute(sa.insert(h).values(repo_id=repo_id, ref=ref, commit_id=commit))

    def drop_ref(self, repo_id: int, ref: str) -> None:
        with self._tx(write=True) as conn:
            self._drop_cards(conn, self._card_ids(conn, repo_id, ref))
            f, h = s.search_files.c, s.search_heads.c
            conn.execute(sa.delete(s.search_files).where(f.repo_id == repo_id, f.ref == ref))
            conn.execute(sa.delete(s.search_heads).where(h.repo_id == repo_id, h.ref == ref))

    def copy_ref(self, repo_id: int, src: str, dst: str, dst_kind: str) -> int:
        c = s.search_cards.c
        cols = ["repo_id", "path", "object_id", "kind", "name", "size", "parameters", "facts",
                "dense_text", "text_hash", "updated"]
        sel = ", ".join(f"o.{x}" for x in cols)
        pair = ("FROM search_cards n JOIN search_cards o ON o.repo_id = n.repo_id "
                "AND o.path = n.path AND o.ref = :src "
                "WHERE n.repo_id = :repo AND n.ref = :dst")
        args = {"repo": repo_id, "src": src, "dst": dst, "dstl": dst.lower()}
        with self._tx(write=True) as conn:
            conn.execute(sa.text(
                f"INSERT INTO search_cards (ref, {', '.join(cols)}) "
                f"SELECT :dst, {sel} FROM search_cards o WHERE o.repo_id = :repo "
                "AND o.ref = :src"), args)
            conn.execute(sa.text(
                "INSERT INTO search_facets (card_id, key, value) "
                "SELECT n.id, f.key, CASE WHEN f.key = 'ref' THEN :dstl ELSE f.value END "
                f"{pair.replace('WHERE', 'JOIN search_facets f ON f.card_id = o.id WHERE')} "
                "AND f.key NOT IN ('branch', 'tag')"), args)
            if self._sqlite:
                conn.execute(sa.text(
                    "INSERT INTO search_fts (rowid, name, keywords, body) "
                    "SELECT n.id, x.name, x.keywords, x.body "
                    f"{pair.replace('WHERE', 'JOIN search_fts x ON x.rowid = o.id WHERE')}"),
                    args)
            else:
                conn.execute(sa.text(
                    "INSERT INTO search_text (card_id, tsv) SELECT n.id, x.tsv "
                    f"{pair.replace('WHERE', 'JOIN search_text x ON x.card_id = o.id WHERE')}"),
                    args)
            conn.execute(sa.text(
                "INSERT INTO search_files (repo_id, ref, path, file_id) "
                "SELECT repo_id, :dst, path, file_id FROM search_files "
                "WHERE repo_id = :repo AND ref = :src"), args)
            new = list(conn.scalars(sa.select(c.id).where(c.repo_id == repo_id, c.ref == dst)))
            if new:
                conn.execute(sa.insert(s.search_facets), [
                    {"card_id": i, "key": dst_kind, "value": dst.lower()} for i in new])
            self._log(conn, new, "+")
            return len(new)

    # -- cards -----------------------------------------------------------------------------
    def card_keys(self, repo_id: int, ref: str, paths: Sequence[str]
                  ) -> dict[str, tuple[str, str]]:
        c = s.search_cards.c
        out: dict[str, tuple[str, str]] = {}
        with self._tx() as conn:
            for part in _chunks(list(paths)):
                for r in conn.execute(sa.select(c.path, c.object_id, c.text_hash).where(
                        c.repo_id == repo_id, c.ref == ref, c.path.in_(part))):
                    out[r.path] = (r.object_id, r.text_hash)
        return out

    def card_paths_under(self, repo_id: int, ref: str, prefix: str) -> list[str]:
        c = s.search_cards.c
        q = sa.select(c.path).where(c.repo_id == repo_id, c.ref == ref)
        if prefix:
            # Byte-order range on the C-collated path: prefix itself, or prefix + "/..."
            q = q.where(sa.or_(c.path == prefix,
                               sa.and_(c.path >= prefix + "/", c.path < prefix + "0")))
        with self._tx() as conn:
            return list(conn.scalars(q))

    def upsert_cards(self, repo_id: int, ref: str, docs: Sequence[CardDoc]) -> None:
        if not docs:
            return
        now = time.time()
        with self._tx(write=True) as conn:
            for part in _chunks(list(docs)):
                old = self._card_ids(conn, repo_id, ref, [d.path for d in part])
                self._drop_cards(conn, old)
                values = [{"repo_id": repo_id, "ref": ref, "path": d.path,
                           "object_id": d.object_id, "kind": d.kind, "name": d.name,
                           "size": d.size, "parameters": d.parameters,
                           "facts": orjson.dumps(d.facts, default=str).decode(),
                           "dense_text": d.dense_text, "text_hash": d.text_hash,
                           "updated": now} for d in part]
                rows = conn.execute(sa.insert(s.search_cards).returning(
                    s.search_cards.c.id, s.search_cards.c.path, sort_by_parameter_order=True),
                    values).all()
                ids = {r.path: r.id for r in rows}
                facets = [{"card_id": ids[d.path], "key": k, "value": v[:256]}
                          for d in part for k, v in d.facets]
                if facets:
                    conn.execute(sa.insert(s.search_facets), facets)
                self._insert_text(conn, [{"id": ids[d.path], "name": d.title,
                                          "keywords": d.keywords, "body": d.body}
                                         for d in part])
                self._log(conn, list(ids.values()), "+")

    def delete_cards(self, repo_id: int, ref: str, paths: Sequence[str]) -> None:
        if not paths:
            return
        with self._tx(write=True) as conn:
            self._drop_cards(conn, self._card_ids(conn, repo_id, ref, paths))

    def count_cards(self) -> int:
        with self._tx() as conn:
            return int(conn.scalar(sa.select(sa.func.count()).select_from(s.search_cards))
                       or 0)

    def cards(self, ids: Sequence[int]) -> dict[int, CardRow]:
        if not ids:
            return {}
        with self._tx() as conn:
            rows = conn.execute(sa.text(cards_sql(self._ids_clause("c.id"))),
                                {"ids": self._ids_param(ids)})
            return {int(r[0]): card_row(r) for r in rows}

    def filter_ids(self, filters: Sequence[Filter]) -> list[int]:
        c, f = s.search_cards.c, s.search_facets.c
        facet = [flt for flt in filters if flt.key not in NUMERIC_FACETS]
        numeric = [flt for flt in filters if flt.key in NUMERIC_FACETS]
        # Start from the first facet's (covering) index scan, join the card row only when
        # a numeric range needs it, and narrow by the other facets with EXISTS probes.
        if facet:
            first = facet[0]
            q = sa.select(f.card_id.label("id")).where(
                f.key == first.key, f.value.in_([v.lower() for v in first.values]))
            owner = f.card_id
            if numeric:
                q = q.join(s.search_cards, c.id == f.card_id)
        else:
            q = sa.select(c.id.label("id"))
            owner = c.id
        for flt in numeric:
            col = c.size if flt.key == "size" else c.parameters
            if flt.low is not None:
                q = q.where(col >= flt.low)
            if flt.high is not None:
                q = q.where(col <= flt.high)
        for flt in facet[1:]:
            g = s.search_facets.alias()
            q = q.where(sa.exists().where(g.c.card_id == owner, g.c.key == flt.key,
                                          g.c.value.in_([v.lower() for v in flt.values])))
        with self._tx() as conn:
            return sorted(set(conn.scalars(q)))

    def _rank(self, words: list[str], limit: int, allowed: Sequence[int] | None,
                  require_all: bool) -> list[tuple[int, float]]:
        if self._sqlite:
            sql, params = fts_rank_sql(allowed is not None), \
                fts_rank_params(words, limit, allowed, require_all)
        else:
            params = {"n": int(limit), "q": (" & " if require_all else " | ").join(words)}
            where = "tsv @@ q"
            if allowed is not None:
                where += " AND " + self._ids_clause("card_id")
                params["ids"] = self._ids_param(allowed)
            sql = ("SELECT card_id AS id, ts_rank_cd(tsv, q, 1) AS score FROM search_text, "
                   f"to_tsquery('english', :q) q WHERE {where} ORDER BY score DESC LIMIT :n")
        with self._tx() as conn:
            return [(int(r.id), float(r.score)) for r in conn.execute(sa.text(sql), params)]

    def doc_freqs(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        words = query_words(terms)
        with self._tx() as conn:
            n = int(conn.scalar(sa.text("SELECT count(*) FROM search_cards")) or 0)
            if not words:
                return n, {}
            if self._sqlite:
                return n, fts_doc_freqs(words, lambda sql, p: conn.execute(sa.text(sql), p))
            out = {}
            for w in words:
                # Capped count: beyond a few thousand matches the idf is low either way.
                out[w] = int(conn.scalar(sa.text(
                    "SELECT count(*) FROM (SELECT 1 FROM search_text "
                    "WHERE tsv @@ to_tsquery('english', :w) LIMIT 5000) s"), {"w": w}) or 0)
            return n, out

    def facet_counts(self, key: str, limit: int = 50) -> list[tuple[str, int]]:
        f = s.search_facets.c
        q = (sa.select(f.value, sa.func.count().label("n")).where(f.key == key)
             .group_by(f.value).order_by(sa.desc("n"), f.value).limit(limit))
        with self._tx() as conn:
            return [(r.value, int(r.n)) for r in conn.execute(q)]

    # -- vectors ---------------------------------------------------------------------------
    def pending_texts(self, model: str, limit: int) -> list[tuple[str, str]]:
        c, v = s.search_cards.c, s.search_vectors.c
        q = (sa.select(c.text_hash, sa.func.min(c.dense_text))
             .outerjoin(s.search_vectors, sa.and_(v.model == model,
                                                  v.text_hash == c.text_hash))
             .where(v.text_hash.is_(None)).group_by(c.text_hash).limit(limit))
        with self._tx() as conn:
            return [(r[0], r[1]) for r in conn.execute(q)]

    def put_vectors(self, model: str, rows: Sequence[tuple[str, bytes]]) -> None:
        if not rows:
            return
        v, c = s.search_vectors, s.search_cards.c
        with self._tx(write=True) as conn:
            hashes = [h for h, _ in rows]
            have: set[str] = set()
            for part in _chunks(hashes):
                have.update(conn.scalars(sa.select(v.c.text_hash).where(
                    v.c.model == model, v.c.text_hash.in_(part))))
            new = [{"model": model, "text_hash": h, "vector": b}
                   for h, b in rows if h not in have]
            if new:
                conn.execute(sa.insert(v), new)
            for part in _chunks(hashes):
                ids = list(conn.scalars(sa.select(c.id).where(c.text_hash.in_(part))))
                self._log(conn, ids, "+")

    def last_change(self) -> int:
        with self._tx() as conn:
            return int(conn.scalar(sa.select(sa.func.max(s.search_changes.c.seq))) or 0)

    def changes_since(self, seq: int, limit: int) -> list[tuple[int, int, str]]:
        ch = s.search_changes.c
        with self._tx() as conn:
            return [(r.seq, r.card_id, r.op) for r in conn.execute(
                sa.select(ch.seq, ch.card_id, ch.op).where(ch.seq > seq)
                .order_by(ch.seq).limit(limit))]

    def _vector_query(self, model: str) -> Any:
        c, v = s.search_cards.c, s.search_vectors.c
        return (sa.select(c.id, v.vector)
                .join(s.search_vectors, sa.and_(v.model == model, v.text_hash == c.text_hash)))

    def vectors_for(self, model: str, card_ids: Sequence[int]) -> dict[int, bytes]:
        out: dict[int, bytes] = {}
        with self._tx() as conn:
            for part in _chunks(list(card_ids)):
                q = self._vector_query(model).where(s.search_cards.c.id.in_(part))
                out.update({r.id: bytes(r.vector) for r in conn.execute(q)})
        return out

    def iter_vectors(self, model: str, batch: int = 5000) -> Iterator[list[tuple[int, bytes]]]:
        last = 0
        c = s.search_cards.c
        while True:
            with self._tx() as conn:
                rows = [(r.id, bytes(r.vector)) for r in conn.execute(
                    self._vector_query(model).where(c.id > last).order_by(c.id).limit(batch))]
            if not rows:
                return
            last = rows[-1][0]
            yield rows

    # -- extraction cache --------------------------------------------------------------------
    def cached_facts(self, object_ids: Sequence[str], key: str) -> dict[str, str]:
        f = s.search_facts.c
        out: dict[str, str] = {}
        with self._tx() as conn:
            for part in _chunks(list(object_ids)):
                out.update({r.object_id: r.facts for r in conn.execute(
                    sa.select(f.object_id, f.facts).where(f.extractor_key == key,
                                                          f.object_id.in_(part)))})
        return out

    def cached_facts_like(self, object_ids: Sequence[str], key_prefix: str
                          ) -> dict[str, list[tuple[str, str]]]:
        f = s.search_facts.c
        out: dict[str, list[tuple[str, str]]] = {}
        # startswith() escapes LIKE wildcards in the prefix (keys contain ':' and '_')
        cond = f.extractor_key.startswith(key_prefix, autoescape=True)
        with self._tx() as conn:
            for part in _chunks(list(object_ids)):
                for r in conn.execute(sa.select(f.object_id, f.extractor_key, f.facts)
                                      .where(cond, f.object_id.in_(part))):
                    out.setdefault(r.object_id, []).append((r.extractor_key, r.facts))
        return out

    def cache_facts(self, key: str, rows: Sequence[tuple[str, str]]) -> None:
        if not rows:
            return
        # Facts are a function of (content, extractor version): a row already there (another
        # writer raced us) holds the same facts, so it is kept and the insert skips it -- one
        # statement, no read-before-write (10,000 look-alike files: one executemany).
        # The driver's own executemany: SQLAlchemy's per-row parameter processing was most
        # of this call's time. Both dialects take ON CONFLICT DO NOTHING.
        with self._tx(write=True) as conn:
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            conn.exec_driver_sql(
                "INSERT INTO search_facts (object_id, extractor_key, facts) VALUES "
                f"({mark}, {mark}, {mark}) ON CONFLICT DO NOTHING",
                [(k, key, v) for k, v in dict(rows).items()])

    # -- sketches ----------------------------------------------------------------------------
    def sketched(self, file_ids: Sequence[str]) -> set[str]:
        k = s.search_sketches.c
        out: set[str] = set()
        with self._tx() as conn:
            for part in _chunks(list(file_ids)):
                out.update(conn.scalars(sa.select(k.file_id).where(k.file_id.in_(part))))
        return out

    def put_sketches(self, rows: Sequence[tuple[str, int, int, bytes, Sequence[int]]]) -> None:
        if not rows:
            return
        with self._tx(write=True) as conn:
            k = s.search_sketches.c
            have: set[str] = set()
            for part in _chunks([r[0] for r in rows]):
                have.update(conn.scalars(sa.select(k.file_id).where(k.file_id.in_(part))))
            fresh = {r[0]: r for r in rows if r[0] not in have}
            if not fresh:
                return
            conn.execute(sa.insert(s.search_sketches), [
                {"file_id": fid, "size": size, "nchunks": n, "sig": sig}
                for fid, size, n, sig, _ in fresh.values()])
            conn.execute(sa.insert(s.search_bands), [
                {"band": i, "bucket": int(b), "file_id": fid}
                for fid, _, _, _, buckets in fresh.values() for i, b in enumerate(buckets)])

    def sketches(self, file_ids: Sequence[str]) -> dict[str, tuple[int, int, bytes]]:
        k = s.search_sketches.c
        out: dict[str, tuple[int, int, bytes]] = {}
        with self._tx() as conn:
            for part in _chunks(list(file_ids)):
                for r in conn.execute(sa.select(k.file_id, k.size, k.nchunks, k.sig)
                                      .where(k.file_id.in_(part))):
                    out[r.file_id] = (int(r.size), int(r.nchunks), bytes(r.sig))
        return out

    def band_candidates(self, buckets: Sequence[int], limit: int) -> dict[str, int]:
        b = s.search_bands.c
        conds = [sa.and_(b.band == i, b.bucket == int(v)) for i, v in enumerate(buckets)]
        if not conds:
            return {}
        q = (sa.select(b.file_id, sa.func.count().label("n")).where(sa.or_(*conds))
             .group_by(b.file_id).order_by(sa.desc("n")).limit(limit))
        with self._tx() as conn:
            return {r.file_id: int(r.n) for r in conn.execute(q)}

    def set_files(self, repo_id: int, ref: str, add: Sequence[tuple[str, str]],
                  remove: Sequence[str]) -> None:
        f = s.search_files
        with self._tx(write=True) as conn:
            paths = list(remove) + [p for p, _ in add]
            for part in _chunks(paths):
                conn.execute(sa.delete(f).where(f.c.repo_id == repo_id, f.c.ref == ref,
                                                f.c.path.in_(part)))
            if add:
                conn.execute(sa.insert(f), [{"repo_id": repo_id, "ref": ref, "path": p,
                                             "file_id": fid} for p, fid in add])

    def file_locations(self, file_ids: Sequence[str], limit: int = 1000
                       ) -> list[tuple[str, str, str, str]]:
        f, r = s.search_files.c, t.repos.c
        out: list[tuple[str, str, str, str]] = []
        with self._tx() as conn:
            for part in _chunks(list(file_ids)):
                q = (sa.select(r.name, f.ref, f.path, f.file_id)
                     .join(t.repos, t.repos.c.id == f.repo_id)
                     .where(f.file_id.in_(part)).order_by(r.name, f.path, f.ref)
                     .limit(limit - len(out)))
                out.extend((x.name, x.ref, x.path, x.file_id) for x in conn.execute(q))
                if len(out) >= limit:
                    break
        return out

    # -- maintenance ---------------------------------------------------------------------------
    def clear(self, *, keep_caches: bool = True) -> None:
        with self._tx(write=True) as conn:
            # Cards leave through the change log (never truncated: vector indexes replay it
            # by sequence number, and a restarted sequence would hide changes from them).
            self._drop_cards(conn, list(conn.scalars(sa.select(s.search_cards.c.id))))
            tables = [s.search_heads, s.search_files]
            if not keep_caches:
                tables += [s.search_vectors, s.search_facts, s.search_bands,
                           s.search_sketches]
            for table in tables:
                conn.execute(sa.delete(table))
