"""Load the search evaluation set: model/dataset cards, queries and their judgments.

Layout (relative to this directory)::

    models/<org>/<name>/README.md      model card (YAML front matter + markdown body)
    models/<org>/<name>/config.json    architecture config
    datasets/<org>/<name>/README.md    dataset card (front matter has ``task_categories``)
    queries.jsonl                      one query per line (see :class:`Query`)

An asset's id is ``<org>/<name>`` (Hugging Face style); model and dataset ids never clash.
In the store, models live under ``models/<id>`` and datasets under ``datasets/<id>``.

Also here: the "content words" normaliser used to check that paraphrase queries share no
vocabulary with the cards they are judged against, and a reference implementation of the
facet filters (``license``, ``language``, ``task``, ``tags``, ``kind``, ``framework``, ``repo``)
as the judgments assume them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
QUERIES = HERE / "queries.jsonl"

#: Query types, in reporting order.
QUERY_TYPES = ("keyword", "paraphrase", "facet", "lineage", "mixed", "no_answer")

#: Facet keys a query's ``filters`` may use.
FILTER_KEYS = frozenset({"framework", "task", "license", "language", "tags", "kind", "repo"})

#: Where each kind of asset lives below this directory and in the store.
KIND_DIRS = {"model": "models", "dataset": "datasets"}

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)


@dataclass(frozen=True)
class Card:
    """One model or dataset directory of the evaluation zoo."""

    id: str
    kind: str  # "model" | "dataset"
    local_dir: Path
    meta: dict[str, Any]
    body: str

    @property
    def store_path(self) -> str:
        """Path of the asset's directory in the store (``models/<id>``, ``datasets/<id>``)."""
        return f"{KIND_DIRS[self.kind]}/{self.id}"

    @property
    def text(self) -> str:
        """The whole README (front matter included) as written on disk."""
        return (self.local_dir / "README.md").read_text(encoding="utf-8")

    @property
    def task(self) -> str | None:
        """``pipeline_tag`` for models; the first ``task_categories`` entry for datasets."""
        if self.kind == "model":
            return self.meta.get("pipeline_tag")
        cats = self.meta.get("task_categories") or []
        return cats[0] if cats else None

    @property
    def tasks(self) -> list[str]:
        """Every task the card declares (``pipeline_tag`` or all ``task_categories``)."""
        if self.kind == "model":
            tag = self.meta.get("pipeline_tag")
            return [tag] if tag else []
        return list(self.meta.get("task_categories") or [])


@dataclass(frozen=True)
class Query:
    """One evaluation query with graded judgments (0..3; unlisted ids are 0)."""

    id: str
    query: str
    type: str
    relevant: dict[str, int]
    filters: dict[str, str] = field(default_factory=dict)
    note: str = ""

    @property
    def answerable(self) -> bool:
        """Whether at least one asset is judged relevant (grade >= 1)."""
        return any(g >= 1 for g in self.relevant.values())


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """``(front matter dict, body)`` of a card; raises ``ValueError`` if there is none."""
    m = _FRONT_MATTER.match(text)
    if not m:
        raise ValueError("no YAML front matter (--- ... ---) at the top")
    meta = yaml.safe_load(m.group(1))
    if not isinstance(meta, dict):
        raise ValueError("front matter is not a mapping")  # noqa: TRY004 - a parse error
    return meta, text[m.end():]


def load_cards(root: Path = HERE) -> dict[str, Card]:
    """Every card below ``root/models`` and ``root/datasets``, by id (sorted)."""
    cards: dict[str, Card] = {}
    for kind, sub in KIND_DIRS.items():
        base = root / sub
        if not base.is_dir():
            continue
        for readme in sorted(base.glob("*/*/README.md")):
            d = readme.parent
            cid = f"{d.parent.name}/{d.name}"
            if cid in cards:
                raise ValueError(f"duplicate asset id {cid}")
            meta, body = split_front_matter(readme.read_text(encoding="utf-8"))
            cards[cid] = Card(cid, kind, d, meta, body)
    return dict(sorted(cards.items()))


def load_queries(path: Path = QUERIES) -> list[Query]:
    """The queries of ``queries.jsonl`` in file order."""
    out: list[Query] = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                # ``type`` in the first set, ``kind`` in the independently written ones
                out.append(Query(id=d["id"], query=d["query"], type=d.get("type") or d["kind"],
                                 relevant={k: int(v) for k, v in d.get("relevant", {}).items()},
                                 filters=dict(d.get("filters") or {}), note=d.get("note", "")))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}:{n}: bad query line: {exc}") from None
    return out


# -- facets ---------------------------------------------------------------------------------
def as_list(value: Any) -> list[str]:
    """``value`` as a list of lower-case strings (None: empty; scalar: one item)."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).lower() for v in value]
    return [str(value).lower()]


def facet_values(card: Card, key: str) -> list[str]:
    """The card's values for facet ``key`` (lower-case), as the judgments assume them.

    ``framework`` is the card's ``library_name``; ``repo`` is always ``zoo`` (the benchmark
    puts everything in one repository).
    """
    if key == "license":
        return as_list(card.meta.get("license"))
    if key == "language":
        return as_list(card.meta.get("language"))
    if key == "task":
        return as_list(card.tasks)
    if key == "tags":
        return as_list(card.meta.get("tags"))
    if key == "kind":
        return [card.kind]
    if key == "framework":
        return as_list(card.meta.get("library_name"))
    if key == "repo":
        return ["zoo"]
    raise KeyError(f"unknown facet {key!r}")


def matches_filters(card: Card, filters: Mapping[str, str]) -> bool:
    """Whether ``card`` satisfies every facet constraint (list facets: membership)."""
    return all(str(v).lower() in facet_values(card, k) for k, v in filters.items())


# -- vocabulary overlap -----------------------------------------------------------------------
#: Function words that do not count as shared vocabulary (tokens are split at apostrophes).
_STOP_WORDS_TEXT = """
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each either else
ever every few for from further had has have having he her here hers him his how i if in
into is it its itself just me more most my no nor not now of off on once only or other our
out over own per same she should so some such than that the their them then there these
they this those through to too under until up upon us very via was we were what when where
which while who whom why will with within without would yet you your yours
whether might may must shall etc one two three don doesn didn isn won
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def stem_lite(word: str) -> str:
    """A deliberately crude suffix stripper (plural, -ing, -ed, -ly, -er, -ation...).

    Crude is fine here: it is only used to *reject* paraphrase queries that share a word
    family with their target card, so over-merging errs on the safe side.
    """
    w = word.lower()
    for suffix, repl, min_len in (("ies", "y", 5), ("sses", "ss", 6), ("ations", "", 8),
                                  ("ation", "", 7), ("ings", "", 6), ("ing", "", 5),
                                  ("edly", "", 6), ("ed", "", 5), ("ers", "", 6), ("er", "", 5),
                                  ("ly", "", 5), ("es", "", 5), ("s", "", 4)):
        if len(w) >= min_len and w.endswith(suffix) and not w.endswith("ss"):
            return w[: -len(suffix)] + repl
    return w


def content_words(text: str) -> set[str]:
    """Lower-cased, stop-word-free, :func:`stem_lite`-ed word set of ``text``.

    Tokens are maximal runs of letters/digits (so ``call-centre`` gives ``call`` and
    ``centre``); one-character tokens are dropped.
    """
    out: set[str] = set()
    for tok in _TOKEN.findall(text.lower()):
        if len(tok) < 2 or tok in STOP_WORDS:
            continue
        out.add(stem_lite(tok))
    return out


def shared_words(query: str, card: Card) -> set[str]:
    """Content words the query shares with the card (README text plus the asset id)."""
    return content_words(query) & content_words(card.text + "\n" + card.id)


def shared_prefixes(query: str, card: Card, length: int = 5) -> set[str]:
    """Stricter check: ``length``-letter prefixes shared by a query word and a card word.

    Catches word families :func:`stem_lite` misses (``transcribe`` / ``transcription``).
    Only words of at least ``length`` letters take part.
    """
    def prefixes(words: Iterable[str]) -> set[str]:
        return {w[:length] for w in words if len(w) >= length and not w.isdigit()}

    return prefixes(content_words(query)) & prefixes(content_words(card.text + "\n" + card.id))


__all__ = ["FILTER_KEYS", "HERE", "KIND_DIRS", "QUERIES", "QUERY_TYPES", "STOP_WORDS", "Card",
           "Query", "as_list", "content_words", "facet_values", "load_cards", "load_queries",
           "matches_filters", "shared_prefixes", "shared_words", "split_front_matter",
           "stem_lite"]
