"""The search evaluation set (benchmarks/search_eval) and its metrics.

Metric tests compare against values computed by hand; dataset tests keep the labelled set
consistent: cards parse, judged ids exist, facet judgments respect the filters, and paraphrase
queries really share no content word with the cards they are meant to find.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from search_eval import dataset as ds
from search_eval import metrics as m
from search_eval import sets

LOG2_3 = math.log2(3)
LOG2_4 = 2.0


# -- metrics ----------------------------------------------------------------------------------
def test_gain_is_exponential_and_zero_for_irrelevant() -> None:
    assert [m.gain(g) for g in (0, 1, 2, 3)] == [0.0, 1.0, 3.0, 7.0]
    assert m.gain(-1) == 0.0


def test_dcg_by_hand() -> None:
    # grades 3, 0, 2 -> 7/log2(2) + 0/log2(3) + 3/log2(4) = 7 + 1.5
    assert m.dcg([3, 0, 2]) == pytest.approx(8.5)
    assert m.dcg([]) == 0.0
    assert m.dcg([1, 1]) == pytest.approx(1 + 1 / LOG2_3)


def test_ndcg_perfect_and_reversed() -> None:
    judg = {"a": 3, "b": 2, "c": 1}
    assert m.ndcg_at_k(["a", "b", "c"], judg, 10) == pytest.approx(1.0)
    ideal = 7 + 3 / LOG2_3 + 1 / LOG2_4
    worst = 1 + 3 / LOG2_3 + 7 / LOG2_4
    assert m.ndcg_at_k(["c", "b", "a"], judg, 10) == pytest.approx(worst / ideal)


def test_ndcg_unjudged_items_and_cutoff() -> None:
    judg = {"a": 3, "b": 1}
    ideal = 7 + 1 / LOG2_3
    # "x" is unjudged (grade 0) and pushes "a" to rank 2
    assert m.ndcg_at_k(["x", "a"], judg, 10) == pytest.approx((7 / LOG2_3) / ideal)
    # cut-off 1: only rank 1 counts, and the ideal is cut at 1 too
    assert m.ndcg_at_k(["b", "a"], judg, 1) == pytest.approx(1 / 7)
    assert m.ndcg_at_k([], judg, 10) == 0.0


def test_ndcg_counts_duplicates_once() -> None:
    judg = {"a": 3, "b": 3}
    # the second "a" is dropped, so "b" is at rank 2
    assert m.ndcg_at_k(["a", "a", "b"], judg, 10) == pytest.approx(1.0)


def test_ndcg_grade_zero_judgments_are_irrelevant() -> None:
    judg = {"a": 0, "b": 2}
    assert m.ndcg_at_k(["a", "b"], judg, 10) == pytest.approx((3 / LOG2_3) / 3)


def test_ndcg_undefined_without_relevant_items() -> None:
    with pytest.raises(ValueError):
        m.ndcg_at_k(["a"], {}, 10)
    with pytest.raises(ValueError):
        m.ndcg_at_k(["a"], {"a": 0}, 10)
    with pytest.raises(ValueError):
        m.ndcg_at_k(["a"], {"a": 1}, 0)


def test_recall_at_k_by_hand() -> None:
    judg = {"a": 3, "b": 1, "c": 2, "z": 0}
    assert m.recall_at_k(["a", "x", "y", "z", "w", "b", "c"], judg, 5) == pytest.approx(1 / 3)
    assert m.recall_at_k(["c", "b", "a"], judg, 5) == pytest.approx(1.0)
    assert m.recall_at_k(["c", "c", "c", "b"], judg, 2) == pytest.approx(2 / 3)
    assert m.recall_at_k(["a", "c"], judg, 5, min_grade=2) == pytest.approx(1.0)
    assert m.recall_at_k([], judg, 5) == 0.0
    with pytest.raises(ValueError):
        m.recall_at_k(["a"], {"a": 0}, 5)


def test_dedupe_abstained_mean() -> None:
    assert m.dedupe(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]
    assert m.abstained([]) and not m.abstained(["a"])
    assert m.mean([1.0, 0.0, 0.5]) == pytest.approx(0.5)
    assert math.isnan(m.mean([]))


def test_stem_lite_and_content_words() -> None:
    assert ds.stem_lite("calls") == ds.stem_lite("call")
    assert ds.stem_lite("callers") == "call"
    assert ds.stem_lite("transcribing") == "transcrib"
    assert ds.stem_lite("class") == "class"
    assert ds.content_words("The German call-centre's calls, in 8 kHz!") == {
        "german", "call", "centre", "khz"}


# -- the dataset ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cards() -> dict[str, ds.Card]:
    return ds.load_cards()


@pytest.fixture(scope="module")
def queries() -> list[ds.Query]:
    return ds.load_queries()


def test_every_asset_dir_has_a_parseable_card(cards: dict[str, ds.Card]) -> None:
    for kind, sub in ds.KIND_DIRS.items():
        for d in sorted((ds.HERE / sub).glob("*/*")):
            assert d.is_dir(), d
            readme = d / "README.md"
            assert readme.is_file(), f"{d} has no README.md"
            meta, body = ds.split_front_matter(readme.read_text(encoding="utf-8"))
            assert body.lstrip().startswith("# "), f"{readme}: body should start with a title"
            assert isinstance(meta.get("license"), str), readme
            assert isinstance(meta.get("tags"), list) and meta["tags"], readme
            if "language" in meta:
                assert isinstance(meta["language"], list), readme
            if kind == "model":
                assert isinstance(meta.get("pipeline_tag"), str), readme
                assert isinstance(meta.get("library_name"), str), readme
                config = json.loads((d / "config.json").read_text(encoding="utf-8"))
                assert isinstance(config, dict) and ("model_type" in config
                                                     or "architectures" in config), d
            else:
                assert isinstance(meta.get("task_categories"), list), readme
                assert not (d / "config.json").exists(), d
    assert sum(c.kind == "model" for c in cards.values()) >= 110
    assert sum(c.kind == "dataset" for c in cards.values()) >= 8


def test_base_models_are_invented(cards: dict[str, ds.Card]) -> None:
    """Lineage stays inside invented organisations (no real company's model is named)."""
    zoo_orgs = {cid.split("/")[0] for cid in cards}
    for card in cards.values():
        for ref in ds.as_list(card.meta.get("base_model")):
            assert ref.split("/")[0] in zoo_orgs, f"{card.id}: base_model {ref}"


def test_eval_set_is_small() -> None:
    total = sum(p.stat().st_size for p in ds.HERE.rglob("*") if p.is_file()
                and "__pycache__" not in p.parts)
    assert total < 1024 * 1024


def test_queries_are_well_formed(cards: dict[str, ds.Card], queries: list[ds.Query]) -> None:
    ids = [q.id for q in queries]
    assert len(ids) == len(set(ids))
    assert len(queries) >= 55
    counts = {t: sum(q.type == t for q in queries) for t in ds.QUERY_TYPES}
    assert counts["paraphrase"] >= 12 and counts["keyword"] >= 12, counts
    assert counts["facet"] >= 8 and counts["no_answer"] >= 6, counts
    for q in queries:
        assert q.type in ds.QUERY_TYPES, q.id
        assert q.query.strip(), q.id
        assert set(q.filters) <= ds.FILTER_KEYS, q.id
        for cid, grade in q.relevant.items():
            assert cid in cards, f"{q.id}: unknown asset {cid}"
            assert 0 <= grade <= 3, q.id
        if q.type == "no_answer":
            assert not q.answerable, q.id
        else:
            assert 3 in q.relevant.values(), f"{q.id}: no grade-3 answer"
        if q.type == "facet":
            assert q.filters, q.id


def test_facet_judgments_satisfy_their_filters(cards: dict[str, ds.Card],
                                              queries: list[ds.Query]) -> None:
    for q in queries:
        if not q.filters:
            continue
        for cid, grade in q.relevant.items():
            if grade > 0:
                assert ds.matches_filters(cards[cid], q.filters), (
                    f"{q.id}: {cid} is judged relevant but fails {q.filters}")
        # every card that passes the filters and is a perfect answer must be judged:
        # at least the grade-3 ids pass (checked above); nothing else is required


def test_paraphrases_share_no_content_word_with_their_targets(
        cards: dict[str, ds.Card], queries: list[ds.Query]) -> None:
    paraphrases = [q for q in queries if q.type == "paraphrase"]
    assert paraphrases
    for q in paraphrases:
        for cid, grade in q.relevant.items():
            if grade == 3:
                card = cards[cid]
                assert not ds.shared_words(q.query, card), (
                    f"{q.id} shares {ds.shared_words(q.query, card)} with {cid}")
                assert not ds.shared_prefixes(q.query, card), (
                    f"{q.id} shares word stems {ds.shared_prefixes(q.query, card)} with {cid}")


def test_asset_ids_are_invented(cards: dict[str, ds.Card]) -> None:
    real_model_orgs = {"openai", "facebook", "meta-llama", "google", "microsoft", "nvidia",
                       "mistralai", "stabilityai", "huggingface", "baai", "intfloat",
                       "sentence-transformers", "helsinki-nlp", "deepset", "bigcode",
                       "tiiuae", "qwen", "cohere", "anthropic", "allenai", "ai4bharat"}
    for cid in cards:
        assert cid.split("/")[0].lower() not in real_model_orgs, cid


# -- the benchmark's glue ---------------------------------------------------------------------
def test_hit_paths_map_to_assets(cards: dict[str, ds.Card]) -> None:
    import bench_search_quality as bench

    assert bench.asset_of("models/nordlicht/marian-de-en", cards) == "nordlicht/marian-de-en"
    assert bench.asset_of("models/nordlicht/marian-de-en/README.md", cards) == \
        "nordlicht/marian-de-en"
    assert bench.asset_of("datasets/nordlicht/callcenter-de-8khz", cards) == \
        "nordlicht/callcenter-de-8khz"
    # wrong kind prefix, org directories and foreign paths stay as they are (irrelevant hits)
    assert bench.asset_of("datasets/nordlicht/marian-de-en", cards) == \
        "datasets/nordlicht/marian-de-en"
    assert bench.asset_of("models/nordlicht", cards) == "models/nordlicht"
    assert bench.asset_of("elsewhere/model.onnx", cards) == "elsewhere/model.onnx"


@pytest.mark.parametrize("name", list(sets.SETS))
def test_dev_and_test_splits_partition_every_kind(name: str) -> None:
    queries = sets.SETS[name].queries()
    dev = sets.split(queries, "dev")
    test = sets.split(queries, "test")
    assert {q.id for q in dev}.isdisjoint(q.id for q in test)
    assert sorted(q.id for q in dev + test) == sorted(q.id for q in queries)
    for t in ds.QUERY_TYPES:
        n_dev = sum(q.type == t for q in dev)
        n_test = sum(q.type == t for q in test)
        assert 0 <= n_test - n_dev <= 1, t  # test takes the odd one
    assert sets.split(queries, "all") == queries
    # decided by the ids (a hash), not by file order: shuffling the file changes nothing
    assert {q.id for q in sets.split(list(reversed(queries)), "test")} == {q.id for q in test}


@pytest.mark.parametrize("name", ["harbor", "fieldwork", "storefront"])
def test_independent_sets_are_consistent(name: str) -> None:
    """Every judged id is a card, every base_model a card of the set, every answerable
    query has a grade-3 asset, no-answer queries judge nothing, and ids are unique."""
    es = sets.SETS[name]
    cards = es.cards()
    queries = es.queries()
    assert len(cards) >= 100 and len(queries) >= 60
    assert len({q.id for q in queries}) == len(queries)
    kinds = {q.type for q in queries}
    assert {"paraphrase", "keyword", "facet", "lineage", "no_answer"} <= kinds
    for q in queries:
        assert set(q.relevant) <= set(cards), q.id
        assert all(0 <= g <= 3 for g in q.relevant.values()), q.id
        assert not q.filters, q.id  # plain text, as typed into `blacklake search`
        if q.type == "no_answer":
            assert not q.answerable, q.id
        else:
            assert 3 in q.relevant.values(), q.id
    for card in cards.values():
        for base in ds.as_list(card.meta.get("base_model")):
            assert base in cards, (card.id, base)
        if card.kind == "model":
            json.loads((card.local_dir / "config.json").read_text())


def test_sets_know_what_may_be_fitted_on() -> None:
    assert sets.SETS["storefront"].status == "held-out"
    import tune_search

    assert "storefront" not in tune_search.TUNABLE_SETS
