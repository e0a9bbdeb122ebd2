"""Score fusion: facets said in words and lineage through the base_model graph (issue 12)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from search_fixtures import hf_model

from blacklake_ml.api import Store
from blacklake_ml.search.engine import SearchParams
from blacklake_ml.search.query import name_coverage, read_intent


def test_read_intent_languages_licence_and_lineage() -> None:
    i = read_intent("turn phone calls into text, in German, ok for commercial use")
    assert i.languages == {"de"} and i.permissive and i.lineage == ""
    assert read_intent("Norwegian speech to text").languages == {"no", "nb", "nn"}
    assert not read_intent("non-commercial is fine, for commercial research").permissive
    assert read_intent("quantized versions of tern-7b").lineage == "children"
    assert read_intent("fine-tunes of harrow-base").lineage == "children"
    assert read_intent("what was LungSight distilled from").lineage == "parents"
    assert read_intent("the teacher model of lungsight").lineage == "parents"
    assert read_intent("German sentiment classifier").lineage == ""


def test_read_intent_kind_data_or_model() -> None:
    assert read_intent("transcribe German phone calls").kind == "model"
    # words for a model's input do not make it a data query
    assert read_intent("summarise our stand-up transcripts").kind == "model"
    for q in ("German call-center dataset", "a corpus of Swahili news",
              "labelled images of metal scratches", "training data for a hotline recognizer"):
        assert read_intent(q).kind == "dataset", q


def test_name_coverage() -> None:
    i = read_intent("smaller distilled version of osprey 34b chat")
    assert name_coverage("osprey-34b-chat", i) == 1.0
    assert name_coverage("osprey-34b-chat-gguf", i) == 0.75
    assert name_coverage("wren-3b", i) == 0.0
    assert name_coverage("stackling-3b", read_intent("built on the Stackling3B model")) == 1.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    root = tmp_path / "models"
    hf_model(root, "tern-7b", title="Tern 7B", body="A general 7B base language model.",
             license="apache-2.0", language=["en"], pipeline_tag="text-generation")
    # descendants whose text never names the base: only base_model links them
    hf_model(root, "nightjar-chat", title="Nightjar chat assistant",
             body="Instruction-following assistant for customer support.",
             license="apache-2.0", language=["en"], pipeline_tag="text-generation",
             base_model="tern-7b")
    hf_model(root, "nightjar-chat-q4", title="Nightjar 4-bit",
             body="4-bit build for laptops.", license="apache-2.0", language=["en"],
             pipeline_tag="text-generation", base_model="nightjar-chat", tags=["gguf"])
    hf_model(root, "stimmung-de", title="Stimmung sentiment",
             body="Sentiment of German product reviews.", license="mit", language=["de"],
             pipeline_tag="text-classification")
    hf_model(root, "stimmung-de-nc", title="Stimmung large sentiment",
             body="Sentiment of German product reviews, larger.", license="cc-by-nc-4.0",
             language=["de"], pipeline_tag="text-classification")
    hf_model(root, "review-sentiment-fr", title="French review sentiment",
             body="Sentiment of French product reviews.", license="mit", language=["fr"],
             pipeline_tag="text-classification")
    reviews = tmp_path / "datasets" / "de-reviews"
    reviews.mkdir(parents=True)
    (reviews / "README.md").write_text(
        "---\nlicense: cc-by-4.0\nlanguage: [de]\ntask_categories: [text-classification]\n"
        "---\n\n# German shop reviews\n\n120,000 reviews from German online shops with "
        "their star ratings.\n")
    (reviews / "data.csv").write_text("text,label\ngut,positive\n")
    st = Store.open(home=tmp_path / "home")
    st.create_repo("zoo").put(root, "models", message="zoo")
    st.repo("zoo").put(reviews, "datasets/de-reviews", message="reviews")
    yield st
    st.close()


def names(hits: list) -> list[str]:
    return [h.path.rsplit("/", 1)[-1] for h in hits]


def test_descendants_are_found_through_base_model(store: Store) -> None:
    hits = store.search("fine-tunes of tern-7b", k=5)
    top = names(hits)
    assert top[0] == "nightjar-chat", top
    assert hits[0].why["signals"]["lineage"] == "children"
    assert "nightjar-chat-q4" in top  # a grandchild (its text never names tern-7b)
    # the named model itself is not what was asked for: it ranks below its fine-tune
    assert top.index("tern-7b") > 0


def test_ancestors_are_found_for_where_did_it_come_from(store: Store) -> None:
    hits = store.search("what was nightjar-chat trained from", k=3)
    assert names(hits)[0] == "tern-7b", names(hits)


def test_language_and_licence_in_words_are_soft_facets(store: Store) -> None:
    hits = store.search("product review sentiment in German for commercial use", k=3)
    top = names(hits)
    assert top[0] == "stimmung-de", top
    assert hits[0].why["signals"] == {"language": "match", "license_family": "permissive"}
    # a soft facet: the non-commercial German one still shows, below the permissive one
    assert top.index("stimmung-de-nc") > 0


def test_a_dataset_ranks_below_the_model_unless_data_is_asked_for(store: Store) -> None:
    hits = store.search("classify the sentiment of German product reviews", k=5)
    top = names(hits)
    assert top.index("stimmung-de") < top.index("de-reviews"), top
    data = store.search("dataset of German shop reviews", k=5)
    assert names(data)[0] == "de-reviews", names(data)
    assert "kind" not in data[0].why.get("signals", {})
    assert hits[top.index("de-reviews")].why["signals"]["kind"] == "mismatch"


def test_rrf_fusion_is_still_available(store: Store) -> None:
    searcher = store.searcher(SearchParams(fusion="rrf"))
    assert searcher.search("German product review sentiment", k=3)


def test_min_score_abstains(store: Store) -> None:
    searcher = store.searcher(SearchParams(min_score=5.0))
    assert searcher.search("German product review sentiment", k=3) == []


def test_read_intent_knows_every_iso_639_1_language_by_name() -> None:
    assert read_intent("speech recognition for isiZulu").languages == {"zu"}
    assert read_intent("Nepali to English translation").languages == {"ne", "en"}
    assert read_intent("sentiment of Tigrinya tweets").languages == {"ti"}
    assert read_intent("read medieval Latin manuscripts").languages == {"la"}


def test_a_query_for_a_language_the_best_hit_lacks_returns_nothing(store: Store) -> None:
    """The best hit declaring other languages means nothing here is in the one asked for."""
    assert store.search("product review sentiment in Welsh", k=5) == []
    # the same query in a language a card has is answered by it
    assert names(store.search("product review sentiment in French", k=5))[0] == \
        "review-sentiment-fr"
    # without a language in the query, the same cards answer
    assert store.search("product review sentiment", k=5)
