"""``blacklake_ml.search.lineage.neighbourhood``: the lineage graph the REST API and the
notebook widget both show, built from model cards, chunk sharing and commit history of a real
store."""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from search_fixtures import hf_model

from blacklake_ml.api import Store
from blacklake_ml.errors import InvalidInput, PathNotFound, RefNotFound, RepoNotFound
from blacklake_ml.search.lineage import MAX_DEPTH, neighbourhood

FLOATS = 256 * 1024  # 1 MiB of float32: sketched (>= 256 KiB)

BASE = "blacklake://base-lm/main"
BASE_W = f"{BASE}/model.safetensors"
SENT = "blacklake://models/main/sentiment"
SENT_W = f"{SENT}/model.safetensors"
DISTILLED = "blacklake://models/main/distilled"
CLASSIFIER = "blacklake://models/main/classifier"
REVIEWS = "blacklake://data/main/datasets/reviews"
NEWS = "blacklake://news-corpus/main"


def safetensors(data: bytes) -> bytes:
    """A valid safetensors file holding ``data`` as one F32 tensor."""
    header = json.dumps({"w": {"dtype": "F32", "shape": [len(data) // 4],
                               "data_offsets": [0, len(data)]}}).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + data


def dataset_dir(root: Path, name: str, title: str) -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / "README.md").write_text(
        "---\nlicense: cc-by-4.0\ntask_categories: [text-classification]\n---\n\n"
        f"# {title}\n\nLabelled text.\n")
    (d / "data.csv").write_text("text,label\ngood,1\nbad,0\n")
    return d


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """``base-lm``: a base model at the repository root (its card's title does not repeat the
    repository's name). ``data``: the ``reviews`` dataset folder. ``news-corpus``: a dataset
    at a repository root. ``models``: ``sentiment`` (fine-tuned from ``acme/base-lm``, trained
    on ``reviews`` and on ``imdb``, which no card matches; its weights share 7/8 of their
    chunks with the base model's; committed by run ``run-7``), ``distilled`` (from
    ``sentiment``) and ``classifier`` (trained on ``reviews`` and ``acme/news-corpus``);
    ``notes.txt``; tag ``v1``."""
    src = tmp_path_factory.mktemp("lineage-src")
    s = Store.open(tmp_path_factory.mktemp("lineage-store"))
    weights = random.Random(1).randbytes(4 * FLOATS)

    base = hf_model(src, "base-lm", title="Base language model",
                    body="A small general-purpose encoder.", license="apache-2.0")
    (base / "model.safetensors").write_bytes(safetensors(weights))
    s.create_repo("base-lm", "a base model").put(base, "", message="Add the base model")

    data = s.create_repo("data", "datasets")
    data.put(dataset_dir(src / "data", "reviews", "Product reviews"), "datasets/reviews",
             message="Add reviews", commit_meta={"wandb-run": "w-1"})
    s.create_repo("news-corpus", "news").put(
        dataset_dir(src / "news", "news-corpus", "News articles"), "", message="Add news")

    models = s.create_repo("models", "fine-tunes")
    sent = hf_model(src / "models", "sentiment", title="Review sentiment scorer",
                    body="Scores product reviews.", license="mit",
                    base_model="acme/base-lm", datasets=["reviews", "imdb"])
    tuned = bytearray(weights)
    tuned[-len(tuned) // 8:] = random.Random(2).randbytes(len(tuned) // 8)
    (sent / "model.safetensors").write_bytes(safetensors(bytes(tuned)))
    models.put(sent, "sentiment", message="Fine-tune base-lm\n\nthree epochs",
               commit_meta={"run_id": "run-7", "mlflow.run_id": "ml-9", "epochs": "3"})
    models.put_bytes(b"notes\n", "notes.txt", message="Add notes")
    models.put(hf_model(src / "models", "distilled", title="Distilled scorer",
                        body="Smaller.", license="mit", base_model="sentiment"),
               "distilled", message="Distil sentiment")
    models.put(hf_model(src / "models", "classifier", title="Topic classifier",
                        body="Topics.", license="mit",
                        datasets=["reviews", "acme/news-corpus"]),
               "classifier", message="Add classifier")
    (sent / "README.md").write_text((sent / "README.md").read_text() + "\nMore details.\n")
    models.put(sent / "README.md", "sentiment/README.md", message="Document sentiment",
               commit_meta={"note": "docs only"})
    models.create_tag("v1", "main")
    yield s
    s.close()


def ids(doc: dict[str, Any], kind: str | None = None) -> set[str]:
    return {n["id"] for n in doc["nodes"] if kind is None or n["kind"] == kind}


def edges(doc: dict[str, Any], *kinds: str) -> set[tuple[str, str, str]]:
    return {(e["source"], e["target"], e["kind"]) for e in doc["edges"]
            if not kinds or e["kind"] in kinds}


def commits(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in doc["nodes"] if n["kind"] == "commit"]


def test_a_model_folder_at_depth_1(store: Store) -> None:
    doc = neighbourhood(store, SENT)
    assert (doc["uri"], doc["center"], doc["depth"], doc["truncated"]) == (SENT, SENT, 1, False)
    nodes = {n["id"]: n for n in doc["nodes"]}
    assert doc["nodes"][0] == {
        "id": SENT, "kind": "model", "label": "Review sentiment scorer", "uri": SENT,
        "repo": "models", "ref": "main", "path": "sentiment", "center": True,
        "format": "huggingface", "framework": "transformers", "license": "mit"}
    newest, fine_tune = commits(doc)  # the two commits that touched sentiment/
    assert (newest["label"], newest["meta"]) == ("Document sentiment", {"note": "docs only"})
    assert (fine_tune["label"], fine_tune["meta"]) == ("Fine-tune base-lm", {
        "run_id": "run-7", "mlflow.run_id": "ml-9", "epochs": "3"})
    assert fine_tune["id"] == f"commit:models:{fine_tune['commit']}"
    assert fine_tune["uri"] == f"blacklake://models/{fine_tune['commit']}/sentiment"
    assert ids(doc) == {SENT, SENT_W, BASE_W, BASE, REVIEWS, "dataset:imdb", DISTILLED,
                        newest["id"], fine_tune["id"], "run:run-7", "run:ml-9"}
    assert edges(doc) == {
        (SENT, SENT_W, "contains"),
        (SENT_W, BASE_W, "shares_chunks"),
        (BASE, BASE_W, "contains"),                # the card holding the shared file
        (newest["id"], SENT, "wrote"),
        (fine_tune["id"], SENT, "wrote"),
        ("run:ml-9", fine_tune["id"], "produced"),
        ("run:run-7", fine_tune["id"], "produced"),
        (BASE, SENT, "base_model"),                # "acme/base-lm": a repository root card
        (REVIEWS, SENT, "dataset"),                # "reviews": a folder name
        ("dataset:imdb", SENT, "dataset"),         # no card: a node without uri
        (SENT, DISTILLED, "base_model"),           # declares "sentiment" as its base
    }
    share = next(e for e in doc["edges"] if e["kind"] == "shares_chunks")
    assert 0.8 < share["shared_fraction"] < 0.95
    assert nodes[BASE]["label"] == "Base language model" and nodes[BASE]["path"] == ""
    assert nodes[REVIEWS]["kind"] == "dataset" and nodes[REVIEWS]["label"] == "Product reviews"
    assert nodes["dataset:imdb"] == {"id": "dataset:imdb", "kind": "dataset", "label": "imdb"}
    assert nodes[SENT_W]["kind"] == nodes[BASE_W]["kind"] == "file"
    assert nodes[SENT_W]["size"] > 4 * FLOATS
    assert nodes["run:ml-9"] == {"id": "run:ml-9", "kind": "run", "label": "ml-9",
                                 "key": "mlflow.run_id"}
    assert [n for n in doc["nodes"] if n.get("center")] == [doc["nodes"][0]]


def test_depth_follows_declared_relations_further(store: Store) -> None:
    one = edges(neighbourhood(store, SENT, 1), "base_model", "dataset")
    two = neighbourhood(store, SENT, 2)
    # from reviews: the classifier trained on it; from the classifier (depth 3): news-corpus
    assert edges(two, "base_model", "dataset") - one == {(REVIEWS, CLASSIFIER, "dataset")}
    three = neighbourhood(store, SENT, 3)
    assert edges(three, "base_model", "dataset") - edges(two, "base_model", "dataset") == {
        (NEWS, CLASSIFIER, "dataset")}
    assert NEWS not in ids(two) and {NEWS, CLASSIFIER} <= ids(three, "dataset") | ids(
        three, "model")
    for depth in (0, MAX_DEPTH + 1):
        with pytest.raises(InvalidInput, match="depth must be from 1 to 3"):
            neighbourhood(store, SENT, depth)


def test_a_dataset_shows_what_was_trained_on_it(store: Store) -> None:
    doc = neighbourhood(store, REVIEWS)
    (commit,) = commits(doc)
    assert commit["label"] == "Add reviews" and commit["meta"] == {"wandb-run": "w-1"}
    assert edges(doc) == {(REVIEWS, SENT, "dataset"), (REVIEWS, CLASSIFIER, "dataset"),
                          (commit["id"], REVIEWS, "wrote"),
                          ("run:w-1", commit["id"], "produced")}
    assert ids(doc) == {REVIEWS, SENT, CLASSIFIER, commit["id"], "run:w-1"}
    # a dataset at a repository root is known by the repository's name
    news = neighbourhood(store, NEWS)
    assert edges(news, "dataset") == {(NEWS, CLASSIFIER, "dataset")}


def test_a_file_inside_an_asset_on_a_tag(store: Store) -> None:
    center = "blacklake://models/v1/sentiment"
    doc = neighbourhood(store, f"{center}/config.json")
    assert doc["center"] == center and doc["uri"] == f"{center}/config.json"
    nodes = {n["id"]: n for n in doc["nodes"]}
    assert nodes[center]["ref"] == "v1" and nodes[center]["center"] is True
    assert nodes[f"{center}/config.json"]["kind"] == "file"
    assert edges(doc, "contains", "shares_chunks", "base_model", "dataset") == {
        (center, f"{center}/config.json", "contains"),
        (center, f"{center}/model.safetensors", "contains"),  # the folder's weights
        (f"{center}/model.safetensors", BASE_W, "shares_chunks"),
        (BASE, BASE_W, "contains"),
        (BASE, center, "base_model"), (REVIEWS, center, "dataset"),
        ("dataset:imdb", center, "dataset"), (center, DISTILLED, "base_model")}
    # the weights file named itself is the file compared (and hangs off its folder)
    weights = neighbourhood(store, SENT_W)
    assert weights["center"] == SENT
    assert edges(weights, "contains", "shares_chunks") == {
        (SENT, SENT_W, "contains"), (SENT_W, BASE_W, "shares_chunks"),
        (BASE, BASE_W, "contains")}
    # from the base model, the fine-tune's file shares chunks with the base's
    base = neighbourhood(store, BASE)
    assert edges(base, "contains", "shares_chunks", "base_model") == {
        (BASE, BASE_W, "contains"), (BASE_W, SENT_W, "shares_chunks"),
        (SENT, SENT_W, "contains"), (BASE, SENT, "base_model")}


def test_plain_files_and_directories(store: Store) -> None:
    doc = neighbourhood(store, "blacklake://models/main/notes.txt")
    (commit,) = commits(doc)
    assert doc["nodes"][0] == {"id": "blacklake://models/main/notes.txt", "kind": "file",
                               "label": "notes.txt", "uri": "blacklake://models/main/notes.txt",
                               "repo": "models", "ref": "main", "path": "notes.txt",
                               "center": True}
    assert edges(doc) == {(commit["id"], "blacklake://models/main/notes.txt", "wrote")}
    root = neighbourhood(store, "blacklake://models/main")
    assert root["nodes"][0]["kind"] == "dir" and root["nodes"][0]["label"] == "models"
    # no card, so no declared lineage; the weights are not directly in it: nothing compared
    assert {e["kind"] for e in root["edges"]} == {"wrote", "produced"}
    assert len(commits(root)) == 5


def test_the_node_cap_truncates(store: Store) -> None:
    doc = neighbourhood(store, SENT, max_nodes=3)
    assert doc["truncated"] is True and len(doc["nodes"]) == 3
    assert doc["nodes"][0]["id"] == SENT
    assert all(e["source"] in ids(doc) and e["target"] in ids(doc) for e in doc["edges"])
    with pytest.raises(InvalidInput, match="max_nodes"):
        neighbourhood(store, SENT, max_nodes=0)


def test_bad_uris(store: Store) -> None:
    with pytest.raises(PathNotFound, match="no such path at main: missing"):
        neighbourhood(store, "blacklake://models/main/missing")
    with pytest.raises(RefNotFound):
        neighbourhood(store, "blacklake://models/nope/sentiment")
    with pytest.raises(RepoNotFound):
        neighbourhood(store, "blacklake://nope/main")
