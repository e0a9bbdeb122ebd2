"""Search end to end on both backends: extraction on commit, incremental card updates,
branches and tags, hybrid ranking, filters, the no-answer threshold, similar and lineage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from search_fixtures import hf_model, zoo

from blacklake_ml.api import Store
from blacklake_ml.errors import InvalidInput, PathNotFound, RepoNotFound
from blacklake_ml.search.indexer import Indexer

BACKENDS = ["local", pytest.param("s3pg", marks=[pytest.mark.s3, pytest.mark.postgres])]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    home = tmp_path / "home"
    if request.param == "local":
        st = Store.open(home)
    else:
        url, opts = request.getfixturevalue("s3_storage_url")
        st = Store.open(home=home, storage=url, catalog=request.getfixturevalue(
            "pg_catalog_url"), storage_options=dict(opts))
    try:
        yield st
    finally:
        st.close()


@pytest.fixture
def models(tmp_path: Path) -> Path:
    return zoo(tmp_path / "zoo")


def uris(hits: list) -> list[str]:
    return [h.uri for h in hits]


def test_commit_indexes_cards_and_search_finds_them(store: Store, models: Path) -> None:
    repo = store.create_repo("hub")
    repo.put(models, "models", message="add zoo")
    hits = store.search("German speech recognition for phone calls", k=3)
    assert hits[0].uri == "blacklake://hub/main/models/asr-de"
    top = hits[0]
    assert top.kind == "model" and top.facts["license"] == "apache-2.0"
    assert "german" in top.why["matched_terms"] and top.why["similarity"] > 0.3
    # files inside a model directory are part of its card, not cards of their own
    assert all(not h.path.endswith((".json", ".md")) for h in hits)
    # paraphrase sharing no words with the card: dense side finds it
    assert store.search("transcribe Deutsch telephone conversations", k=1,
                        mode="dense")[0].path == "models/asr-de"
    # exact identifier: keyword side finds it
    assert store.search("Wav2Vec2ForCTC", k=1, mode="bm25")[0].path == "models/asr-en-nc"


def test_filters_apply_before_ranking(store: Store, models: Path) -> None:
    repo = store.create_repo("hub")
    repo.put(models, "models", message="add zoo")
    q = "speech recognition"
    permissive = store.search(q, filters=["license_family=permissive"])
    assert uris(permissive) == ["blacklake://hub/main/models/asr-de"]
    nc = store.search(q, filters={"license": "cc-by-nc-4.0"})
    assert [h.path for h in nc] == ["models/asr-en-nc"]
    assert nc[0].why["facets"] == {"license": ["cc-by-nc-4.0"]}
    assert store.search(q, filters=["language=ja"]) == []  # nothing relevant in Japanese
    assert [h.path for h in store.search("reviews", filters=["language=ja", "tags=sentiment"])
            ] == ["models/sentiment-ja"]
    assert store.search(q, repo="hub")
    with pytest.raises(RepoNotFound):
        store.search(q, repo="nope")


def test_no_good_answer_returns_nothing(store: Store, models: Path) -> None:
    store.create_repo("hub").put(models, "models", message="add zoo")
    assert store.search("protein folding structure prediction") == []
    assert store.search("compose baroque harpsichord music") == []


def test_incremental_update_touches_only_changed_models(store: Store, models: Path) -> None:
    repo = store.create_repo("hub")
    repo.put(models, "models", message="add zoo")
    store.ref_listeners.clear()  # drive the indexer by hand to read its report
    hf_model(models, "detector", title="Foundry defect detector v2",
             body="Now also finds rust spots on metal parts.", license="gpl-3.0",
             pipeline_tag="object-detection")
    repo.put(models / "detector", "models/detector", message="detector v2")
    report = Indexer(store).sync(repo)
    assert (report.upserted, report.removed, report.extracted) == (1, 0, 1)
    assert Indexer(store).sync(repo).refs == 0  # nothing left to do
    assert store.search("rust spots on metal", k=1)[0].path == "models/detector"
    repo.rm("models/asr-en-nc", message="drop")
    report = Indexer(store).sync(repo)
    assert (report.upserted, report.removed) == (0, 1)
    assert all(h.path != "models/asr-en-nc" for h in store.search("English dictation"))


def test_branches_tags_and_dedup_across_refs(store: Store, models: Path) -> None:
    repo = store.create_repo("hub")
    repo.put(models, "models", message="add zoo")
    repo.create_branch("dev")
    repo.create_tag("v1", "main")
    hits = store.search("defect detector for factory parts", k=5)
    det = next(h for h in hits if h.path == "models/detector")
    assert det.refs == ["dev", "main", "v1"]  # one hit for the same content on three refs
    hf_model(models, "detector", title="Foundry defect detector", body="Experimental: "
             "thermal camera anomalies.", license="gpl-3.0", pipeline_tag="object-detection")
    repo.put(models / "detector", "models/detector", message="wip", branch="dev")
    dev = store.search("thermal camera anomalies", filters=["branch=dev"], k=1)
    assert dev[0].uri == "blacklake://hub/dev/models/detector"
    assert all(h.ref != "dev" for h in store.search("thermal camera anomalies",
                                                    filters=["branch=main"]))
    repo.delete_branch("dev")
    assert all(h.ref != "dev" for h in store.search("defect detector", k=10))
    store.delete_repo("hub")
    store.reindex()
    assert store.search("defect detector") == []


def test_file_assets_and_extraction_errors_are_recorded(store: Store, tmp_path: Path) -> None:
    repo = store.create_repo("files")
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes((10**9).to_bytes(8, "little") + b'{"weight": ')  # truncated header
    repo.put(bad, "broken.safetensors", message="broken")
    hits = store.search("broken", k=5)
    assert hits and hits[0].path == "broken.safetensors"
    assert hits[0].facts.get("error")


def _noise(n: int, seed: int) -> bytes:
    import random

    return random.Random(seed).randbytes(n)


def test_similar_finds_shared_chunks_and_lineage(store: Store, tmp_path: Path,
                                                 models: Path) -> None:
    repo = store.create_repo("ckpt")
    base = _noise(4 << 20, 1)
    half = base[: 2 << 20] + _noise(2 << 20, 2)  # first half shared (frozen layers)
    for name, data in (("base.bin", base), ("ft.bin", half), ("copy.bin", base),
                       ("other.bin", _noise(4 << 20, 3))):
        (tmp_path / name).write_bytes(data)
        repo.put(tmp_path / name, f"w/{name}", message=name)
    got = {h.uri: h for h in store.similar("blacklake://ckpt/main/w/base.bin")}
    assert got["blacklake://ckpt/main/w/copy.bin"].relation == "identical"
    ft = got["blacklake://ckpt/main/w/ft.bin"]
    assert ft.relation == "shares-chunks" and 0.35 < ft.shared_fraction < 0.65
    assert "blacklake://ckpt/main/w/other.bin" not in got
    # base_model lineage from model cards
    hub = store.create_repo("hub")
    hf_model(models, "bert-base-japanese", title="bert-base-japanese",
             body="Japanese BERT pretrained on Wikipedia.", license="apache-2.0")
    hub.put(models, "models", message="zoo")
    (models / "sentiment-ja" / "model.safetensors").write_bytes(b"\0" * 8)
    rel = {(h.relation, h.uri) for h in store.similar(
        "blacklake://hub/main/models/sentiment-ja/README.md")}
    assert ("base-model", "blacklake://hub/main/models/bert-base-japanese") in rel
    child = {(h.relation, h.uri) for h in store.similar(
        "blacklake://hub/main/models/bert-base-japanese/config.json")}
    assert ("derived-model", "blacklake://hub/main/models/sentiment-ja") in child


@pytest.mark.parametrize("kwargs, msg", [
    ({"query": ""}, "empty"),
    ({"query": "x", "k": 0}, "k must"),
    ({"query": "x", "filters": ["colour=red"]}, "unknown filter"),
    ({"query": "x", "filters": ["parameters<lots"]}, "needs a number"),
    ({"query": "x", "filters": ["license"]}, "bad filter"),
    ({"query": "x", "mode": "magic"}, "unknown search mode"),
])
def test_bad_search_input(store: Store, models: Path, kwargs: dict, msg: str) -> None:
    store.create_repo("hub").put(models, "models", message="zoo")
    before = store.catalog.search_index().count_cards()
    with pytest.raises(InvalidInput, match=msg):
        store.search(**kwargs)
    assert store.catalog.search_index().count_cards() == before


def test_similar_bad_input(store: Store, models: Path) -> None:
    store.create_repo("hub").put(models, "models", message="zoo")
    with pytest.raises(InvalidInput, match="directory"):
        store.similar("blacklake://hub/main/models")
    with pytest.raises(PathNotFound):
        store.similar("blacklake://hub/main/nope.bin")


def test_full_reindex_reuses_caches(store: Store, models: Path) -> None:
    store.create_repo("hub").put(models, "models", message="zoo")
    before = uris(store.search("speech recognition"))
    out = store.reindex(full=True)
    assert out["cards"] == 4 and out["extracted"] == 0  # facts cached by content
    assert uris(store.search("speech recognition")) == before


def test_vector_index_survives_a_new_process(tmp_path: Path, models: Path) -> None:
    home = tmp_path / "home"
    with Store.open(home) as st:
        st.create_repo("hub").put(models, "models", message="zoo")
        first = uris(st.search("speech"))
    assert list((home / "search").glob("vectors-*.faiss"))
    with Store.open(home) as st:
        assert uris(st.search("speech")) == first


def test_put_without_search_extra_still_commits(tmp_path: Path, models: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # Indexing failures never fail a landed write: the ref moved, the index catches up.
    import blacklake_ml.search.indexer as ix

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("extractor crashed")

    with Store.open(tmp_path / "home") as st:
        repo = st.create_repo("hub")
        monkeypatch.setattr(ix.Indexer, "_apply", boom)
        res = repo.put(models, "models", message="zoo")
        assert repo.branch_head("main") == res.commit
        monkeypatch.undo()
        assert st.search("speech recognition")  # the next search syncs



def test_hybrid_degrades_to_keywords_without_the_search_extra(
        tmp_path: Path, models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from blacklake_ml.search import engine

    monkeypatch.setattr(engine, "dense_available", lambda: False)
    with Store.open(tmp_path / "home") as st:
        st.create_repo("hub").put(models, "models", message="zoo")
        hits = st.search("German speech recognition")
        assert hits[0].path == "models/asr-de"
        assert all("similarity" not in h.why for h in hits)


def test_large_index_keyword_strategy(tmp_path: Path, models: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Above PRUNE_FROM cards, near-universal words leave the match and cards holding every
    remaining word come first; too few such cards widen the match to any word."""
    from blacklake_ml.search import engine

    with Store.open(tmp_path / "home") as st:
        st.create_repo("hub").put(models, "models", message="zoo")
        monkeypatch.setattr(engine, "PRUNE_FROM", 1)
        monkeypatch.setattr(engine, "COMMON_SHARE", 0.4)
        n, df = st.catalog.search_index().doc_freqs(["audio", "telephony", "speech"])
        assert engine.match_terms(["audio", "telephony", "speech"], n, df) == ["telephony"]
        assert engine.match_terms(["audio", "speech"], n, df) == ["audio", "speech"]  # rarest 2
        hits = st.search("telephony audio", k=4, mode="bm25")
        assert hits[0].path == "models/asr-de"
        strict = st.searcher()._keyword(["audio", "medical"], n, 10, None)
        ids = [cid for cid, _ in strict]
        cards = st.catalog.search_index().cards(ids)
        # only asr-en-nc has both words: it leads, then the wider OR match follows
        assert cards[ids[0]].path == "models/asr-en-nc" and len(ids) >= 2


def test_lineage_finds_a_base_model_that_is_a_whole_repository(tmp_path: Path) -> None:
    with Store.open(tmp_path / "home") as st:
        base = hf_model(tmp_path / "b", "x", title="Tiny BERT", body="A tiny encoder.",
                        license="mit")
        st.create_repo("tiny-bert").put(base, "", message="base")
        child = hf_model(tmp_path / "c", "sent", title="Sentiment", body="Fine-tuned.",
                         license="mit", base_model="acme/tiny-bert")
        st.create_repo("hub").put(child, "models/sent", message="child")
        rel = {(h.relation, h.uri) for h in st.similar(
            "blacklake://hub/main/models/sent/README.md")}
        assert ("base-model", "blacklake://tiny-bert/main") in rel


def test_files_that_only_look_like_models(store: Store, tmp_path: Path,
                                          caplog: pytest.LogCaptureFixture) -> None:
    """A folder of files named like checkpoints that are not: each failure is a fact of the
    file in ``ls`` (not a log line), and indexing them costs a bounded number of catalog
    round trips, not two per file (the regression that made a 10,000-file put 5x slower)."""
    import logging
    import os

    junk = tmp_path / "junk"
    junk.mkdir()
    n = 300
    for i in range(n):
        (junk / f"w{i:03d}.pt").write_bytes(b"\x80\x02\xff" + os.urandom(200))  # bad opcode
    (junk / "notes.txt").write_text("not a model")
    calls = {"locate": 0}
    real = store.catalog.locate

    def counting(ids):  # the real catalog, counted: how many round trips the put makes
        calls["locate"] += 1
        return real(ids)

    store.catalog.locate = counting  # type: ignore[method-assign]
    repo = store.create_repo("junk")
    with caplog.at_level(logging.WARNING):
        repo.put(junk, "w", message="junk")
    assert calls["locate"] <= 5, calls
    assert not [r for r in caplog.records if "extraction" in r.getMessage()]
    listed = {e["path"]: e for e in repo.ls("main", "w")}
    errs = [e for p, e in listed.items() if p.endswith(".pt")]
    assert len(errs) == n and all(e["extraction_error"].startswith("pytorch: ") for e in errs)
    assert "extraction_error" not in listed["w/notes.txt"]


def test_random_bytes_named_like_models_are_facts_not_cards(store: Store,
                                                            tmp_path: Path) -> None:
    """Random bytes named ``.pkl``/``.pt``/``.csv`` are not recognised from their first
    bytes: each failure is recorded (``ls``), no card is made for it (it is no asset), and a
    path whose model was replaced by such bytes loses its card."""
    import os
    import pickle

    junk = tmp_path / "junk"
    junk.mkdir()
    for i in range(20):
        for ext in (".pkl", ".pt", ".csv"):
            (junk / f"f{i:02d}{ext}").write_bytes(b"\x13" + b"\x00" + os.urandom(300))
    (junk / "real.pkl").write_bytes(pickle.dumps({"weights": [1.0, 2.0]}, protocol=4))
    repo = store.create_repo("junk")
    repo.put(junk, "w", message="junk")
    index = store.catalog.search_index()
    paths = sorted(index.card_paths_under(repo.id, "main", "w"))
    assert paths == ["w/real.pkl"]
    listed = {e["path"]: e for e in repo.ls("main", "w")}
    for ext, name in ((".pkl", "pickle: "), (".pt", "pytorch: "), (".csv", "csv: ")):
        errs = [e.get("extraction_error", "") for p, e in listed.items() if p.endswith(ext)
                and p != "w/real.pkl"]
        assert len(errs) == 20 and all(x.startswith(name) for x in errs), (ext, errs[:2])
    assert "extraction_error" not in listed["w/real.pkl"]
    (tmp_path / "real.pkl").write_bytes(b"\x13" + os.urandom(100))
    repo.put(tmp_path / "real.pkl", "w/real.pkl", message="overwrite")
    assert index.card_paths_under(repo.id, "main", "w") == []
