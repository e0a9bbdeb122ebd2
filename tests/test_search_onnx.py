"""Query and card embeddings without torch (``blacklake_ml.search.onnx_embed``).

The ONNX path must be the sentence-transformers path in every way search can see: the same
vectors (cosine > 0.9999 on queries, card texts and edge cases), the same rankings on the
search evaluation zoo in dense and hybrid mode, also when the stored vectors came from torch
and only the queries from ONNX (a store indexed before this path existed). Also: the export
is cached by model identity and written atomically; a missing onnxruntime or an unsupported
model falls back to torch with a log line; a search from a fresh process imports no torch;
the vector index opens memory-mapped and skips the pending-texts scan when nothing changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("tokenizers")
pytest.importorskip("sentence_transformers")
pytest.importorskip("faiss")

from blacklake_ml.api import Store
from blacklake_ml.errors import MissingDependency
from blacklake_ml.search import embed, engine, onnx_embed, vectors
from blacklake_ml.search.text import build_card

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
EVAL = BENCHMARKS / "search_eval"

EDGE_TEXTS = [
    "german sentiment", "", "   ", "x", "GERMAN Sentiment!!",
    "a small German speech recognizer with a permissive licence",
    "Ünïcödé, 日本語のテキスト, emoji 😀 and tabs\t\n",
    "sentence " * 600,  # far past max_seq_length (256 tokens): truncated alike
    "Wav2Vec2ForCTC conformer-ctc_de-large v1.0.0 (apache-2.0)",
    "Klassifiziert deutsche Produktbewertungen als positiv oder negativ.",
]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export for the module (the first test that needs it pays ~10 s of torch)."""
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def both(onnx_cache: Path) -> tuple[embed.TextEmbedder, embed.TextEmbedder]:
    onnx = embed.get_embedder("", onnx_cache, "onnx")
    torch = embed.get_embedder("", None, "torch")
    assert (onnx.backend, torch.backend) == ("onnx", "torch")
    assert (onnx.name, onnx.dim) == (torch.name, torch.dim)  # one vector cache for both
    return onnx, torch


def _eval_texts() -> list[str]:
    sys.path.insert(0, str(BENCHMARKS))
    from search_eval import dataset as ds

    # The READMEs' first 500 characters (~120 tokens; the store test embeds whole cards).
    return [c.text[:500] for c in ds.load_cards().values()]


def test_vectors_match_sentence_transformers(both: tuple[embed.TextEmbedder, ...]) -> None:
    onnx, torch = both
    texts = EDGE_TEXTS + [q["query"] for q in map(json.loads, (EVAL / "queries.jsonl")
                                                  .read_text().splitlines())]
    a, b = onnx.encode(texts), torch.encode(texts)
    assert a.shape == b.shape == (len(texts), torch.dim) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    cos = (a * b).sum(axis=1)
    assert cos.min() > 0.9999, [t for t, c in zip(texts, cos) if c <= 0.9999]
    assert np.abs(a - b).max() < 1e-4
    # batch composition (padding, sorting by length) does not move a vector
    one = np.stack([onnx.encode([t])[0] for t in EDGE_TEXTS])
    assert np.abs(one - a[:len(EDGE_TEXTS)]).max() < 1e-5
    assert onnx.encode([]).shape == (0, onnx.dim)


def test_card_rankings_identical(both: tuple[embed.TextEmbedder, ...]) -> None:
    """Nearest cards of every evaluation query, ranked by each backend's vectors."""
    onnx, torch = both
    cards = _eval_texts()
    queries = [json.loads(x)["query"] for x in (EVAL / "queries.jsonl").read_text()
               .splitlines()]
    docs_o, docs_t = onnx.encode(cards), torch.encode(cards)
    assert (docs_o * docs_t).sum(axis=1).min() > 0.9999
    q_o, q_t = onnx.encode(queries), torch.encode(queries)
    for qi, q in enumerate(queries):
        rank_o = np.argsort(-(docs_o @ q_o[qi]), kind="stable")[:10]
        rank_t = np.argsort(-(docs_t @ q_t[qi]), kind="stable")[:10]
        assert rank_o.tolist() == rank_t.tolist(), q


# -- through the store -----------------------------------------------------------------------
def _eval_store(home: Path) -> Store:
    store = Store.open(home)
    repo = store.create_repo("zoo")
    with repo.transaction("main", message="zoo") as tx:
        for sub in ("models", "datasets"):
            tx.put_dir(EVAL / sub, sub)
    return store


def _rankings(store: Store) -> dict[tuple[str, str], list[tuple[str, float | None]]]:
    out = {}
    for line in (EVAL / "queries.jsonl").read_text().splitlines():
        q = json.loads(line)
        for mode in ("dense", "hybrid"):
            hits = store.search(q["query"], k=10, filters=q.get("filters") or None, mode=mode)
            out[(q["id"], mode)] = [(h.uri, h.why.get("similarity")) for h in hits]
    return out


@pytest.mark.slow
def test_store_rankings_identical(tmp_path: Path, onnx_cache: Path,
                                  monkeypatch: pytest.MonkeyPatch,
                                  both: tuple[embed.TextEmbedder, ...]) -> None:
    """The evaluation zoo indexed and queried by torch, by ONNX, and indexed by torch but
    queried by ONNX (a store from before this path): the same hits in the same order."""
    monkeypatch.setattr(embed, "DEFAULT_BACKEND", "torch")
    st_torch = _eval_store(tmp_path / "torch")
    try:
        want = _rankings(st_torch)
        monkeypatch.setattr(embed, "DEFAULT_BACKEND", "onnx")
        # same store, same stored (torch) vectors, ONNX query vectors
        mixed = _rankings(st_torch)
    finally:
        st_torch.close()
    # the ONNX export of this store lands under its home (shared export reused in-process)
    st_onnx = _eval_store(tmp_path / "onnx")
    try:
        got = _rankings(st_onnx)
    finally:
        st_onnx.close()
    assert sum(bool(v) for v in want.values()) > 100  # the queries do find things
    for key in want:
        assert [u for u, _ in got[key]] == [u for u, _ in want[key]], key
        assert [u for u, _ in mixed[key]] == [u for u, _ in want[key]], key
        for (_, s1), (_, s2) in zip(got[key], want[key]):
            assert (s1 is None) == (s2 is None)
            if s1 is not None and s2 is not None:
                assert abs(s1 - s2) < 1e-3


# -- the export cache --------------------------------------------------------------------------
def _model_copy(tmp_path: Path) -> Path:
    src = Path(embed._default_path())
    dst = tmp_path / "model"
    shutil.copytree(src, dst)
    return dst


def test_export_key_follows_model_identity(tmp_path: Path) -> None:
    model = _model_copy(tmp_path)
    key = onnx_embed.load_spec(model).key
    assert onnx_embed.load_spec(model).key == key  # stable
    # a copy keeping sizes and mtimes is the same model (the key never names the path)
    assert onnx_embed.load_spec(embed._default_path()).key == key
    cfg = model / "1_Pooling" / "config.json"
    doc = json.loads(cfg.read_text())
    doc["pooling_mode_mean_tokens"], doc["pooling_mode_cls_token"] = False, True
    cfg.write_text(json.dumps(doc))
    spec = onnx_embed.load_spec(model)
    assert spec.pooling == "cls" and spec.key != key
    key = spec.key
    weights = model / "model.safetensors"
    st = weights.stat()
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert onnx_embed.load_spec(model).key != key  # a replaced weights file


def test_unsupported_models_are_refused(tmp_path: Path) -> None:
    model = _model_copy(tmp_path)
    modules = json.loads((model / "modules.json").read_text())
    modules.insert(2, {"idx": 2, "name": "2", "path": "2_Dense",
                       "type": "sentence_transformers.models.Dense"})
    (model / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(onnx_embed.Unsupported, match="Dense"):
        onnx_embed.load_spec(model)
    with pytest.raises(MissingDependency):
        embed.get_embedder(str(model), tmp_path / "cache", "onnx")


def test_export_is_cached_complete_and_verified(onnx_cache: Path,
                                                both: tuple[embed.TextEmbedder, ...]) -> None:
    onnx, _ = both
    spec = onnx_embed.load_spec(embed._default_path())
    # Export into this module's cache explicitly: earlier tests in the same process may have
    # made the embedder from an export in another store's cache (reused by model key).
    d = onnx_embed.export(onnx.name, spec, onnx_cache)
    assert d == onnx_embed.export_dir(onnx_cache, onnx.name, spec)
    assert onnx_embed.is_exported(onnx_cache, onnx.name, spec)
    assert sorted(p.name for p in d.iterdir()) == sorted(
        [onnx_embed.ONNX_FILE, onnx_embed.DATA_FILE, onnx_embed.META_FILE])
    meta = json.loads((d / onnx_embed.META_FILE).read_text())
    assert meta["key"] == spec.key and meta["pooling"] == "mean" and meta["dim"] == 384
    # nothing half-written is left beside it
    assert [p.name for p in onnx_cache.iterdir()] == [d.name]
    # a second export is a no-op
    assert onnx_embed.export(onnx.name, spec, onnx_cache) == d


def test_queries_move_to_the_prepacked_session_after_many(
        monkeypatch: pytest.MonkeyPatch, both: tuple[embed.TextEmbedder, ...]) -> None:
    """A process that has embedded PREPACK_AFTER queries builds the prepacked session in the
    background and embeds later queries with it: the same vectors, to float rounding."""
    import threading

    onnx, _ = both
    assert isinstance(onnx, onnx_embed.OnnxEmbedder)
    monkeypatch.setattr(onnx_embed, "PREPACK_AFTER", 3)
    fresh = onnx_embed.OnnxEmbedder(onnx.name, onnx.spec, onnx.directory)
    queries = EDGE_TEXTS[:6]
    lean = [fresh.encode([q]) for q in queries[:2]]
    assert set(fresh._sessions) == {"lean"}
    lean.append(fresh.encode([queries[2]]))  # the third small call starts the build
    for t in threading.enumerate():
        if t.name == "blacklake-onnx-prepack":
            t.join(60)
    assert set(fresh._sessions) == {"batch"}
    later = np.concatenate([fresh.encode([q]) for q in queries[:3]])
    assert np.abs(later - np.concatenate(lean)).max() < 1e-5
    assert (later * np.concatenate(lean)).sum(axis=1).min() > 0.99999


def test_pooling_matches_sentence_transformers_rules() -> None:
    hidden = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    mask = np.array([[1, 1, 0], [1, 0, 0]])
    mean = onnx_embed.pool(hidden, mask, "mean")
    want = np.stack([hidden[0, :2].mean(0), hidden[1, 0]])
    assert np.allclose(mean, want / np.linalg.norm(want, axis=1, keepdims=True))
    cls = onnx_embed.pool(hidden, mask, "cls")
    assert np.allclose(cls[1], hidden[1, 0] / np.linalg.norm(hidden[1, 0]))
    mx = onnx_embed.pool(hidden, mask, "max")
    assert np.allclose(mx[0], hidden[0, 1] / np.linalg.norm(hidden[0, 1]))
    zero = onnx_embed.pool(np.zeros((1, 2, 4), np.float32), np.zeros((1, 2), int), "mean")
    assert np.isfinite(zero).all()


# -- fallback ------------------------------------------------------------------------------------
def test_without_onnxruntime_torch_is_used_and_logged(monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture,
                                                      tmp_path: Path) -> None:
    real = embed.importlib.util.find_spec

    def find_spec(name: str, *a: object) -> object:
        return None if name == "onnxruntime" else real(name, *a)  # type: ignore[arg-type]

    monkeypatch.setattr(embed.importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(embed, "_EMBEDDERS", {})
    with caplog.at_level(logging.DEBUG, logger="blacklake_ml.search.embed"):
        emb = embed.get_embedder("", tmp_path / "cache", "auto")
    assert emb.backend == "torch"
    assert any("onnxruntime" in r.getMessage() and "torch" in r.getMessage()
               for r in caplog.records)
    with pytest.raises(MissingDependency, match="ONNX"):
        embed.get_embedder("", tmp_path / "cache2", "onnx")
    assert not (tmp_path / "cache").exists()  # nothing exported


def test_failed_export_falls_back_to_torch(monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture,
                                           tmp_path: Path) -> None:
    def broken(*a: object) -> Path:
        raise RuntimeError("ONNX export disagrees with torch (cosine 0.5)")

    monkeypatch.setattr(onnx_embed, "export", broken)
    monkeypatch.setattr(embed, "_EMBEDDERS", {})
    monkeypatch.setattr(embed, "_BY_KEY", {})
    with caplog.at_level(logging.WARNING, logger="blacklake_ml.search.embed"):
        emb = embed.get_embedder("", tmp_path / "cache", "auto")
    assert emb.backend == "torch"
    assert any("failed" in r.getMessage() for r in caplog.records)


# -- a fresh process ------------------------------------------------------------------------------
@pytest.mark.slow
def test_fresh_process_search_imports_no_torch(tmp_path: Path,
                                               both: tuple[embed.TextEmbedder, ...]) -> None:
    """After ``blacklake index`` (which makes the export), a CLI search loads neither torch
    nor sentence-transformers, nor SQLAlchemy (the catalog's search reads go through
    ``sqlite3``), and finds what the in-process search finds."""
    sys.path.insert(0, str(Path(__file__).parent))
    from search_fixtures import zoo

    home = tmp_path / "home"
    store = Store.open(home)
    store.create_repo("hub").put(zoo(tmp_path / "zoo"), "models", message="zoo")
    store.close()
    env = {**os.environ, "BLACKLAKE_HOME": str(home)}
    env.pop("BLACKLAKE_SEARCH_MODEL", None)
    idx = subprocess.run([sys.executable, "-m", "blacklake_ml.cli.main", "index", "--json"],
                         env=env, capture_output=True, text=True, timeout=600, check=False)
    assert idx.returncode == 0, idx.stderr
    assert json.loads(idx.stdout)["embedded"] == 4
    assert list((home / "search" / "onnx").iterdir())  # exported at index time
    probe = ("import sys, json\n"
             "from blacklake_ml.cli.main import main\n"
             "try:\n"
             "    main(['search', 'German speech recognition for phone calls', '--json'])\n"
             "except SystemExit as e:\n"
             "    assert not e.code, e.code\n"
             "heavy = sorted(m for m in ('torch', 'sentence_transformers', 'transformers',\n"
             "                           'sqlalchemy') if m in sys.modules)\n"
             "print(json.dumps(heavy))\n")

    def fresh_search() -> tuple[list[dict[str, Any]], list[str]]:
        res = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                             text=True, timeout=300, check=False)
        assert res.returncode == 0, res.stderr
        hits_doc, heavy = res.stdout.strip().rsplit("\n", 1)
        return json.loads(hits_doc), json.loads(heavy)

    # The first search stores the scanner's verdicts on the files its hits show (a write:
    # the full catalog); every later one only reads.
    hits, heavy = fresh_search()
    assert "torch" not in heavy and "sentence_transformers" not in heavy
    again, heavy = fresh_search()
    assert heavy == []
    assert again == hits
    assert hits[0]["uri"] == "blacklake://hub/main/models/asr-de"
    assert hits[0]["why"]["similarity"] > 0.3


# -- the vector index: memory-mapped, and no needless pending scan ------------------------------
def _random_store(home: Path, n: int, dim: int, name: str) -> tuple[Store, int]:
    store = Store.open(home)
    repo = store.create_repo("zoo")
    index = store.catalog.search_index()
    docs = [build_card(f"m/{i}", hashlib.sha256(str(i).encode()).hexdigest(), 1,
                       {"name": f"model {i}", "description": f"synthetic card {i}"},
                       repo="zoo", ref="main", ref_kind="branch", meta={}) for i in range(n)]
    index.upsert_cards(repo.id, "main", docs)
    index.set_head(repo.id, "main", repo.branch_head("main"))
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    index.put_vectors(name, [(d.text_hash, v.tobytes()) for d, v in zip(docs, vecs)])
    return store, repo.id


def test_ivf_index_opens_mapped_and_reloads_to_change(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vectors, "FLAT_MAX", 200)
    store, rid = _random_store(tmp_path / "home", 800, 16, "m16")
    try:
        index = store.catalog.search_index()
        vi = vectors.VectorIndex(tmp_path / "vec", "cat", "m16", 16)
        vi.sync(index)
        assert vi.kind == "ivf" and vi.ntotal == 800 and not vi._mapped
        q = np.frombuffer(index.vectors_for("m16", [5])[5], dtype=np.float32)
        want = vi.search(q, 10)
        again = vectors.VectorIndex(tmp_path / "vec", "cat", "m16", 16)
        assert again._mapped and again.ntotal == 800
        assert again.search(q, 10) == want
        assert again.search(q, 10, allowed=[5, 6, 7])[0][0] == 5
        assert again.sync(index) == 0 and again._mapped  # nothing to apply: stays mapped
        doc = build_card("m/new", "f" * 64, 1, {"name": "a new one"}, repo="zoo", ref="main",
                         ref_kind="branch", meta={})
        index.upsert_cards(rid, "main", [doc])
        index.put_vectors("m16", [(doc.text_hash, (-q).tobytes())])
        assert again.sync(index) > 0 and not again._mapped and again.ntotal == 801
        assert again.search(-q, 1)[0][1] > 0.99
        again.save()
        third = vectors.VectorIndex(tmp_path / "vec", "cat", "m16", 16)
        assert third._mapped and third.ntotal == 801 and third.seq == again.seq
    finally:
        store.close()


def test_fresh_searcher_skips_pending_scan_when_log_unchanged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, onnx_cache: Path,
        both: tuple[embed.TextEmbedder, ...]) -> None:
    onnx, _ = both
    store, rid = _random_store(tmp_path / "home", 30, onnx.dim, onnx.name)
    try:
        monkeypatch.setattr(engine, "_VECTORS", {})
        s1 = engine.Searcher(store)
        s1.vectors()
        s1.save()
        state = json.loads(next((tmp_path / "home" / "search").glob("vectors-*.json"))
                           .read_text())
        assert state["embedded_seq"] == store.catalog.search_index().last_change()
        # a new process (no in-memory caches) must not scan for pending texts
        monkeypatch.setattr(engine, "_VECTORS", {})
        s2 = engine.Searcher(store)
        calls: list[int] = []
        monkeypatch.setattr(s2, "embed_pending", lambda batch=256: calls.append(1) or 0)
        assert s2.vectors().ntotal == 30 and calls == []
        # after a change it does
        doc = build_card("m/late", "e" * 64, 1, {"name": "late model"}, repo="zoo",
                         ref="main", ref_kind="branch", meta={})
        store.catalog.search_index().upsert_cards(rid, "main", [doc])
        monkeypatch.setattr(engine, "_VECTORS", {})
        s3 = engine.Searcher(store)
        s3.vectors()
        assert store.catalog.search_index().pending_texts(onnx.name, 10) == []
        assert s3.vectors().ntotal == 31
    finally:
        store.close()
