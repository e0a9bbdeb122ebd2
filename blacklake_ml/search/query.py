"""What a plain-text query asks for beyond its words: facets said in words, and lineage.

People type constraints as words ("in German", "ok for commercial use", "quantized versions
of tern-7b"), not as ``--filter`` flags. This module reads those intents out of the query so
the ranker can use them as soft signals (a boost when a card meets one, a penalty when it
clearly does not) -- never as hard filters, because a word can be meant otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from blacklake_ml.search.text import LANGUAGES, words

#: language names (and a few adjectives people use) -> ISO codes as cards declare them
_LANGUAGE_NAMES: dict[str, set[str]] = {}
for _code, _name in LANGUAGES.items():
    if _code != "multilingual":
        _LANGUAGE_NAMES.setdefault(_name.lower(), set()).add(_code)
for _alias, _code in (("deutsch", "de"), ("français", "fr"), ("francais", "fr"),
                      ("español", "es"), ("espanol", "es"), ("farsi", "fa"),
                      ("mandarin", "zh"), ("cantonese", "zh"), ("bokmål", "nb"),
                      ("bokmal", "nb"), ("nynorsk", "no"), ("isizulu", "zu"),
                      ("kiswahili", "sw")):
    _LANGUAGE_NAMES.setdefault(_alias, set()).add(_code)
_LANGUAGE_NAMES["norwegian"] = {"no", "nb", "nn"}

#: a query asking for something usable commercially / under a permissive licence
_PERMISSIVE_WANT = re.compile(
    r"\b(commercial(ly)?|permissive(ly)?|apache|mit|bsd|business|for (a|our) (product|app|"
    r"company)|free for commercial)\b", re.IGNORECASE)
#: ... unless it says non-commercial is fine
_NONCOMMERCIAL_OK = re.compile(r"\bnon[- ]?commercial\b|\bresearch[- ]only\b", re.IGNORECASE)

#: a query asking for data rather than for a model that does something. Without one of these
#: words a dataset matching the query is usually some model's training data, which people
#: grade below the model. Words for a model's *input* ("transcripts", "recordings") do not
#: count: "summarise our stand-up transcripts" wants a model.
_DATA_WANT = re.compile(
    r"\b(datasets?|data ?sets?|corpus|corpora|benchmarks?|training (data|set)|"
    r"eval(uation)? (data|set|suite)|annotated|labell?ed (data|examples|images|audio|text))\b",
    re.IGNORECASE)

#: "X's descendants": fine-tunes, quantizations, adapters, distillations, merges of X
_CHILDREN = re.compile(
    r"\b(variants?|versions?|fine[- ]?tun\w*|finetun\w*|adapters?|lora|quanti[sz]\w*|"
    r"distill\w*|derived|derivatives?|built (on|from|upon)|based on|downstream|descendants?|"
    r"children|offspring|merges?|gguf|awq|gptq|int[48]|4[- ]bit|8[- ]bit|builds? of|"
    r"on top of)\b", re.IGNORECASE)
#: "X's ancestors": what X came from
_PARENTS = re.compile(
    r"\b(trained|distilled|fine[- ]?tuned|derived|made|built|based|started)\s+(from|on)\s*"
    r"\??\s*$|\b(base|parent|teacher|original|upstream)\s+(model\s+)?(of|for|behind)\b|"
    r"\bwhat (was|is) .+ (from|based on)\b", re.IGNORECASE)


@dataclass(frozen=True)
class QueryIntent:
    """Soft constraints read from a query's words."""

    #: ISO codes of the languages the query names (any of them satisfies it)
    languages: frozenset[str] = frozenset()
    #: True when the query wants a licence fit for commercial use
    permissive: bool = False
    #: "children" (descendants of a named model), "parents" (what it came from) or ""
    lineage: str = ""
    #: "dataset" when the query asks for data, else "model"
    kind: str = "model"
    #: the query's word tokens (lower-cased), for matching a named model
    tokens: tuple[str, ...] = field(default_factory=tuple)


def read_intent(query: str) -> QueryIntent:
    """The intents of ``query`` (see module doc)."""
    toks = tuple(words(query))
    langs: set[str] = set()
    for t in toks:
        langs |= _LANGUAGE_NAMES.get(t, set())
    permissive = bool(_PERMISSIVE_WANT.search(query)) and not _NONCOMMERCIAL_OK.search(query)
    lineage = ""
    if _PARENTS.search(query):
        lineage = "parents"
    elif _CHILDREN.search(query):
        lineage = "children"
    kind = "dataset" if _DATA_WANT.search(query) else "model"
    return QueryIntent(frozenset(langs), permissive, lineage, kind, toks)


_NAME_SPLIT = re.compile(r"[-_.\s/]+")


def name_tokens(name: str) -> list[str]:
    """``"osprey-34b-chat"`` -> ``["osprey", "34b", "chat"]``."""
    return [t for t in _NAME_SPLIT.split(name.lower()) if t]


def name_coverage(name: str, intent: QueryIntent) -> float:
    """Share of a model name's tokens the query contains (``"osprey 34b chat"`` covers
    ``osprey-34b-chat`` fully; a name glued together as one query word counts too)."""
    toks = name_tokens(name)
    if not toks:
        return 0.0
    q = set(intent.tokens)
    glued = "".join(intent.tokens)
    hit = sum(1 for t in toks if t in q)
    if hit < len(toks) and "".join(toks) in glued:
        return 1.0
    return hit / len(toks)
