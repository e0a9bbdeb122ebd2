"""Conformance of the catalog search tables (spec: ``blacklake_ml/catalog/search_base.py``)
on SQLite (FTS5) and PostgreSQL (tsvector), plus the FAISS vector index synced from them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from blacklake_ml.catalog import Catalog, CommitRow, open_catalog
from blacklake_ml.catalog.search_base import CardDoc, Filter, SearchIndex
from blacklake_ml.search.text import build_card

CATALOGS = ["sqlite-file", "sqlite-reopened",
            pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=CATALOGS)
def cat(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Catalog]:
    url = (f"sqlite:///{tmp_path / 'catalog.sqlite'}" if request.param != "postgres"
           else request.getfixturevalue("pg_catalog_url"))
    if request.param == "sqlite-reopened":  # the sqlite3 read path (catalog/sqlite_fast.py)
        open_catalog(url).close()
    c = open_catalog(url)
    try:
        yield c
    finally:
        c.close()


def _repo(cat: Catalog, name: str = "zoo") -> int:
    row = CommitRow(id="c" * 64, tree="t" * 64, parents=(), author="a", committer="a",
                    time="2026-01-01T00:00:00Z", message="init", meta={})
    return cat.create_repo(name, initial_commit=row).id


def _card(path: str, **facts: object) -> CardDoc:
    return build_card(path, hashlib.sha256(path.encode()).hexdigest(), 1000,
                      dict(facts), repo="zoo", ref="main", ref_kind="branch", meta={})


@pytest.fixture
def idx(cat: Catalog) -> SearchIndex:
    return cat.search_index()


def test_upsert_fulltext_filters_and_delete(cat: Catalog, idx: SearchIndex) -> None:
    rid = _repo(cat)
    idx.upsert_cards(rid, "main", [
        _card("asr/de", name="Telephony speech recognizer", task="automatic-speech-recognition",
              language=["de"], license="apache-2.0", parameters=74_000_000),
        _card("asr/en", name="English speech recognizer", task="automatic-speech-recognition",
              language=["en"], license="cc-by-nc-4.0", parameters=1_500_000_000),
        _card("ner/fr", name="French entity tagger", task="token-classification",
              language=["fr"], license="mit"),
    ])
    assert idx.count_cards() == 3
    hits = idx.fulltext(["speech", "german"], 10)
    cards = idx.cards([h for h, _ in hits])
    assert next(cards[h].path for h, _ in hits) == "asr/de"  # matches both words
    assert {cards[h].path for h, _ in hits} == {"asr/de", "asr/en"}
    assert hits[0][1] > hits[1][1]
    # porter stemming: "recognizers" finds "recognizer"
    assert len(idx.fulltext(["recognizers"], 10)) == 2
    de = idx.filter_ids([Filter("language", ("DE",))])
    assert [idx.cards(de)[i].path for i in de] == ["asr/de"]
    permissive = idx.filter_ids([Filter("license_family", ("permissive",))])
    assert {c.path for c in idx.cards(permissive).values()} == {"asr/de", "ner/fr"}
    small = idx.filter_ids([Filter("parameters", low=None, high=1e9)])
    assert {c.path for c in idx.cards(small).values()} == {"asr/de"}
    both = idx.filter_ids([Filter("task", ("automatic-speech-recognition",)),
                           Filter("license", ("mit", "apache-2.0"))])
    assert {c.path for c in idx.cards(both).values()} == {"asr/de"}
    restricted = idx.fulltext(["speech"], 10, allowed=small)
    assert [idx.cards([h])[h].path for h, _ in restricted] == ["asr/de"]
    assert idx.fulltext(["speech"], 10, allowed=[]) == []
    assert dict(idx.facet_counts("task"))["automatic-speech-recognition"] == 2
    idx.delete_cards(rid, "main", ["asr/en", "not/there"])
    assert idx.count_cards() == 2
    assert {idx.cards([h])[h].path for h, _ in idx.fulltext(["speech"], 10)} == {"asr/de"}


def test_upsert_replaces_in_place(cat: Catalog, idx: SearchIndex) -> None:
    rid = _repo(cat)
    idx.upsert_cards(rid, "main", [_card("m", name="alpha model", license="mit")])
    idx.upsert_cards(rid, "main", [_card("m", name="beta model", license="gpl-3.0")])
    assert idx.count_cards() == 1
    assert idx.fulltext(["alpha"], 10) == []
    assert len(idx.fulltext(["beta"], 10)) == 1
    assert idx.filter_ids([Filter("license", ("mit",))]) == []
    assert len(idx.filter_ids([Filter("license_family", ("copyleft",))])) == 1


def test_heads_copy_and_drop_ref(cat: Catalog, idx: SearchIndex) -> None:
    rid = _repo(cat)
    idx.upsert_cards(rid, "main", [_card("a", name="first"), _card("b", name="second")])
    idx.set_files(rid, "main", [("a/w.bin", "f" * 64)], [])
    idx.set_head(rid, "main", "1" * 64)
    assert idx.copy_ref(rid, "main", "v1", "tag") == 2
    idx.set_head(rid, "v1", "1" * 64)
    assert idx.heads(rid) == {"main": "1" * 64, "v1": "1" * 64}
    tagged = idx.filter_ids([Filter("tag", ("v1",))])
    assert len(tagged) == 2
    assert {c.ref for c in idx.cards(tagged).values()} == {"v1"}
    assert len(idx.fulltext(["first"], 10)) == 2  # the copy is searchable too
    assert {loc[1] for loc in idx.file_locations(["f" * 64])} == {"main", "v1"}
    idx.drop_ref(rid, "v1")
    assert idx.heads(rid) == {"main": "1" * 64}
    assert idx.count_cards() == 2
    assert len(idx.fulltext(["first"], 10)) == 1
    assert {loc[1] for loc in idx.file_locations(["f" * 64])} == {"main"}


def test_vectors_change_log_and_faiss_sync(cat: Catalog, idx: SearchIndex,
                                           tmp_path: Path) -> None:
    from blacklake_ml.search.vectors import VectorIndex

    rid = _repo(cat)
    docs = [_card(f"m{i}", name=f"model number {i}") for i in range(5)]
    idx.upsert_cards(rid, "main", docs)
    pending = idx.pending_texts("toy", 100)
    assert len(pending) == 5
    rng = np.random.default_rng(0)
    vecs = {h: rng.normal(size=8).astype(np.float32) for h, _ in pending}
    for v in vecs.values():
        v /= np.linalg.norm(v)
    idx.put_vectors("toy", [(h, v.tobytes()) for h, v in vecs.items()])
    assert idx.pending_texts("toy", 100) == []
    vi = VectorIndex(tmp_path / "search", "cat", "toy", 8)
    vi.sync(idx)
    assert vi.ntotal == 5
    target = next(iter(vecs.values()))
    best = vi.search(target, 1)
    assert best[0][1] == pytest.approx(1.0, abs=1e-5)
    # delete two cards: the next sync removes their vectors; a reload replays nothing new
    idx.delete_cards(rid, "main", ["m0", "m1"])
    vi.sync(idx)
    assert vi.ntotal == 3
    vi.save()
    again = VectorIndex(tmp_path / "search", "cat", "toy", 8)
    assert again.ntotal == 3 and again.seq == idx.last_change()
    ids = [cid for cid, _ in again.search(target, 3)]
    only = ids[1:2]
    assert [cid for cid, _ in again.search(target, 3, allowed=only)] == only
    assert again.search(target, 3, allowed=[]) == []


def test_facts_cache_and_sketches(cat: Catalog, idx: SearchIndex) -> None:
    idx.cache_facts("file:onnx:1", [("a" * 64, '{"x": 1}')])
    idx.cache_facts("file:onnx:1", [("a" * 64, '{"x": 2}')])  # first one wins (by content)
    assert idx.cached_facts(["a" * 64, "b" * 64], "file:onnx:1") == {"a" * 64: '{"x": 1}'}
    assert idx.cached_facts(["a" * 64], "file:onnx:2") == {}
    idx.put_sketches([("f1", 100, 4, b"\0" * 16, [1, 2, 3]),
                      ("f2", 200, 8, b"\1" * 16, [1, 5, 3])])
    assert idx.sketched(["f1", "f3"]) == {"f1"}
    assert idx.band_candidates([1, 2, 3], 10) == {"f1": 3, "f2": 2}
    assert idx.sketches(["f2"]) == {"f2": (200, 8, b"\1" * 16)}


def test_facts_by_key_prefix(cat: Catalog, idx: SearchIndex) -> None:
    idx.cache_facts("file:onnx:1", [("a" * 64, '{"x": 1}')])
    idx.cache_facts("file:pytorch:2", [("a" * 64, '{"y": 2}'), ("b" * 64, '{"z": 3}')])
    idx.cache_facts("safety:1", [("a" * 64, '{"verdict": "safe"}')])
    idx.cache_facts("filex_y", [("a" * 64, "{}")])  # "_" is a LIKE wildcard: not a match
    got = idx.cached_facts_like(["a" * 64, "b" * 64, "c" * 64], "file:")
    assert {k: sorted(v) for k, v in got.items()} == {
        "a" * 64: [("file:onnx:1", '{"x": 1}'), ("file:pytorch:2", '{"y": 2}')],
        "b" * 64: [("file:pytorch:2", '{"z": 3}')]}
    assert idx.cached_facts_like(["a" * 64], "file_") == {}


def test_stale_repos_and_doc_freqs(cat: Catalog, idx: SearchIndex) -> None:
    rid = _repo(cat)
    assert idx.stale_repos() == ["zoo"]  # main was never indexed
    idx.set_head(rid, "main", "c" * 64)
    assert idx.stale_repos() == []
    idx.set_head(rid, "gone", "c" * 64)  # indexed ref that no longer exists
    assert idx.stale_repos() == ["zoo"]
    idx.drop_ref(rid, "gone")
    idx.upsert_cards(rid, "main", [_card("a", name="speech recognizer"),
                                   _card("b", name="speech synthesis"),
                                   _card("c", name="image tagger")])
    n, df = idx.doc_freqs(["speech", "recognizers", "tagger", "zebra"])
    assert n == 3
    assert (df["speech"], df["recognizers"], df["tagger"], df["zebra"]) == (2, 1, 1, 0)
