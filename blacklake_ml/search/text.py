"""Turn extracted facts into a card: facets, weighted full-text columns and the dense text.

Codes are expanded into words people type ("de" -> "German", "apache-2.0" -> "permissive"),
so both the keyword and the semantic side can match a natural question against terse
metadata.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import posixpath
import re
from collections.abc import Iterable, Mapping
from typing import Any

from blacklake_ml.catalog.search_base import CardDoc

LANGUAGES = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian",
    "pt": "Portuguese", "nl": "Dutch", "sv": "Swedish", "da": "Danish", "no": "Norwegian",
    "nb": "Norwegian", "fi": "Finnish", "pl": "Polish", "cs": "Czech", "sk": "Slovak",
    "hu": "Hungarian", "ro": "Romanian", "bg": "Bulgarian", "el": "Greek", "tr": "Turkish",
    "ru": "Russian", "uk": "Ukrainian", "ar": "Arabic", "he": "Hebrew", "fa": "Persian",
    "hi": "Hindi", "bn": "Bengali", "ur": "Urdu", "ta": "Tamil", "te": "Telugu",
    "mr": "Marathi", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "vi": "Vietnamese",
    "th": "Thai", "id": "Indonesian", "ms": "Malay", "tl": "Tagalog", "sw": "Swahili",
    "yo": "Yoruba", "ha": "Hausa", "am": "Amharic", "zu": "Zulu", "af": "Afrikaans",
    "ca": "Catalan", "eu": "Basque", "gl": "Galician", "et": "Estonian", "lv": "Latvian",
    "lt": "Lithuanian", "sl": "Slovenian", "hr": "Croatian", "sr": "Serbian",
    "is": "Icelandic", "ga": "Irish", "cy": "Welsh", "multilingual": "multilingual",
    # the rest of ISO 639-1 (names as one word, so a query's words can name them; "Ido" and
    # "Ewe" left out: English words first)
    "aa": "Afar", "ab": "Abkhazian", "ae": "Avestan", "ak": "Akan", "an": "Aragonese",
    "as": "Assamese", "av": "Avaric", "ay": "Aymara", "az": "Azerbaijani", "ba": "Bashkir",
    "be": "Belarusian", "bh": "Bihari", "bi": "Bislama", "bm": "Bambara", "bo": "Tibetan",
    "br": "Breton", "bs": "Bosnian", "ce": "Chechen", "ch": "Chamorro", "co": "Corsican",
    "cr": "Cree", "cv": "Chuvash", "dv": "Divehi", "dz": "Dzongkha", "eo": "Esperanto",
    "ff": "Fulah", "fj": "Fijian", "fo": "Faroese", "fy": "Frisian", "gd": "Gaelic",
    "gn": "Guarani", "gu": "Gujarati", "gv": "Manx", "ht": "Haitian", "hy": "Armenian",
    "hz": "Herero", "ia": "Interlingua", "ig": "Igbo", "ik": "Inupiaq", "iu": "Inuktitut",
    "jv": "Javanese", "ka": "Georgian", "kg": "Kongo", "ki": "Kikuyu", "kk": "Kazakh",
    "kl": "Kalaallisut", "km": "Khmer", "kn": "Kannada", "kr": "Kanuri", "ks": "Kashmiri",
    "ku": "Kurdish", "kv": "Komi", "kw": "Cornish", "ky": "Kyrgyz", "la": "Latin",
    "lb": "Luxembourgish", "lg": "Ganda", "li": "Limburgish", "ln": "Lingala", "lo": "Lao",
    "mg": "Malagasy", "mh": "Marshallese", "mi": "Maori", "mk": "Macedonian",
    "ml": "Malayalam", "mn": "Mongolian", "mt": "Maltese", "my": "Burmese", "ne": "Nepali",
    "nn": "Nynorsk", "nd": "Ndebele", "nr": "Ndebele", "nv": "Navajo", "ny": "Chichewa",
    "oc": "Occitan", "oj": "Ojibwa", "om": "Oromo", "or": "Odia", "os": "Ossetian",
    "pa": "Punjabi", "pi": "Pali", "ps": "Pashto", "qu": "Quechua", "rm": "Romansh",
    "rn": "Kirundi", "rw": "Kinyarwanda", "sa": "Sanskrit", "sc": "Sardinian", "sd": "Sindhi",
    "se": "Sami", "sg": "Sango", "si": "Sinhala", "sm": "Samoan", "sn": "Shona",
    "so": "Somali", "sq": "Albanian", "ss": "Swati", "st": "Sotho", "su": "Sundanese",
    "tg": "Tajik", "ti": "Tigrinya", "tk": "Turkmen", "tn": "Tswana", "to": "Tongan",
    "ts": "Tsonga", "tt": "Tatar", "tw": "Twi", "ty": "Tahitian", "ug": "Uyghur",
    "uz": "Uzbek", "ve": "Venda", "wa": "Walloon", "wo": "Wolof", "xh": "Xhosa",
    "yi": "Yiddish", "za": "Zhuang",
}

_PERMISSIVE = ("apache", "mit", "bsd", "cc-by-4", "cc-by-3", "cc0", "unlicense", "isc",
               "zlib", "bsl", "afl", "ecl", "postgresql", "cc-by-2")
_COPYLEFT = ("gpl", "agpl", "lgpl", "mpl", "cc-by-sa", "epl", "eupl", "osl")
_NONCOMMERCIAL = ("-nc", "noncommercial", "non-commercial")
_RESTRICTED = ("llama", "gemma", "openrail", "rail", "bigscience", "deepfloyd", "other")


@functools.lru_cache(maxsize=1024)
def license_family(lic: str) -> str:
    """Coarse licence class: permissive, copyleft, non-commercial, restricted or unknown."""
    # (cached: every query explains ~100 cards, and a store has a few dozen licence strings)
    s = lic.lower()
    if any(x in s for x in _NONCOMMERCIAL):
        return "non-commercial"
    if any(s.startswith(x) or x in s for x in _COPYLEFT):
        return "copyleft"
    if any(s.startswith(x) for x in _PERMISSIVE):
        return "permissive"
    if any(x in s for x in _RESTRICTED):
        return "restricted"
    return "unknown"


def size_class(params: int | None) -> str:
    """Words for a parameter count (what people mean by a "small" model)."""
    if not params:
        return ""
    if params < 20_000_000:
        return "tiny small"
    if params < 150_000_000:
        return "small"
    if params < 1_000_000_000:
        return "medium"
    if params < 15_000_000_000:
        return "large"
    return "very large"


def human_count(n: int) -> str:
    """``74_000_000`` -> ``74M``."""
    for div, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= div:
            return f"{n / div:.3g}{unit}"
    return str(n)


def as_list(value: Any) -> list[str]:
    """Facts values may be a string or a list; give a list of non-empty strings."""
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return [str(v) for v in value if v not in (None, "")]
    return [str(value)] if str(value) else []


_WORD = re.compile(r"[^\W_]+", re.UNICODE)
STOPWORDS = frozenset(["a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "i", "in", "is", "it", "its", "of", "on", "or", "that", "the", "this", "to", "was", "were", "will", "with", "which", "who", "what", "where", "when", "how", "can", "could", "would", "should", "me", "my", "we", "our", "you", "your", "they", "their", "them", "there", "here", "please", "find", "show", "give", "want", "need", "looking", "look", "some", "any", "model", "models", "one", "ones", "something", "thing"])


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return [w.lower() for w in _WORD.findall(text)]


def query_terms(query: str) -> list[str]:
    """Content words of a query, in order, without duplicates or stop words."""
    seen: dict[str, None] = {}
    for w in words(query):
        if w not in STOPWORDS and (len(w) > 1 or w.isdigit()):
            seen.setdefault(w, None)
    return list(seen)


def _humanize(s: str) -> str:
    return s.replace("-", " ").replace("_", " ")


def facets_of(facts: Mapping[str, Any], *, repo: str, ref: str, ref_kind: str,
              meta: Mapping[str, str]) -> list[tuple[str, str]]:
    """``(key, value)`` facet pairs (lower-cased) of a card."""
    out: list[tuple[str, str]] = [("repo", repo), ("ref", ref), (ref_kind, ref)]
    for key in ("kind", "format", "framework", "task", "architecture"):
        for v in as_list(facts.get(key)):
            out.append((key, v))
    for lic in as_list(facts.get("license")):
        out += [("license", lic), ("license_family", license_family(lic))]
    for key, fact in (("language", "language"), ("tags", "tags"), ("datasets", "datasets"),
                      ("base_model", "base_model"), ("library", "library_name")):
        out += [(key, v) for v in as_list(facts.get(fact))]
    # "org/name" base models also match by bare name (stored copies rarely keep the org)
    out += [("base_model", v.rsplit("/", 1)[-1]) for v in as_list(facts.get("base_model"))
            if "/" in v]
    for k, v in meta.items():
        if k in ("framework", "task", "license", "language", "tags"):
            out += [(k, x.strip()) for x in str(v).split(",") if x.strip()]
    seen: dict[tuple[str, str], None] = {}
    for k, v in out:
        seen.setdefault((k, v.lower()[:256]), None)
    return list(seen)


def build_card(path: str, object_id: str, size: int, facts: Mapping[str, Any], *, repo: str,
               ref: str, ref_kind: str, meta: Mapping[str, str]) -> CardDoc:
    """The :class:`CardDoc` for one asset."""
    name = str(facts.get("name") or posixpath.basename(path) or repo)
    kind = str(facts.get("kind") or "model")
    params_raw = facts.get("parameters")
    params = int(params_raw) if isinstance(params_raw, (int, float)) and params_raw > 0 \
        else None
    langs = as_list(facts.get("language"))
    lang_words = [LANGUAGES.get(code.lower(), code) for code in langs]
    licenses = as_list(facts.get("license"))
    families = [license_family(x) for x in licenses]
    task = " ".join(_humanize(x) for x in as_list(facts.get("task")))
    framework = ", ".join(as_list(facts.get("framework")) + as_list(facts.get("format")))
    arch = ", ".join(as_list(facts.get("architecture")))
    sizes = size_class(params)
    tags = as_list(facts.get("tags"))
    datasets = as_list(facts.get("datasets"))
    bases = as_list(facts.get("base_model"))
    description = str(facts.get("description") or "")
    meta_words = " ".join(f"{k} {v}" for k, v in meta.items())
    keywords = " ".join([task, framework, arch, " ".join(langs), " ".join(lang_words),
                         " ".join(licenses), " ".join(families), " ".join(tags),
                         " ".join(_humanize(d) for d in datasets), " ".join(bases), sizes,
                         kind, meta_words])
    title = f"{name} {_humanize(posixpath.basename(path))} {arch}".strip()
    body = f"{description}\n{path}\n{repo}"
    parts = [f"{name}."]
    if task:
        parts.append(f"A {task} {kind}.")
    if framework or arch:
        parts.append(f"{framework} {arch}.".strip())
    if lang_words:
        parts.append("Language: " + ", ".join(lang_words) + ".")
    if licenses:
        parts.append("License: " + ", ".join(f"{x} ({f})" for x, f in zip(licenses, families))
                     + ".")
    if params:
        parts.append(f"Size: {sizes}, {human_count(params)} parameters.")
    if tags:
        parts.append("Tags: " + ", ".join(tags[:20]) + ".")
    if datasets:
        parts.append("Trained on: " + ", ".join(datasets[:10]) + ".")
    parts.append(description[:1500])
    dense_text = " ".join(p for p in parts if p).strip()
    return CardDoc(path=path, object_id=object_id, kind=kind, name=name[:512], size=size,
                   parameters=params, facts=dict(facts),
                   facets=facets_of(facts, repo=repo, ref=ref, ref_kind=ref_kind, meta=meta),
                   title=title, keywords=keywords, body=body, dense_text=dense_text,
                   text_hash=hashlib.sha256(dense_text.encode()).hexdigest())


def matched_terms(terms: Iterable[str], card_text: str) -> list[str]:
    """Query terms found in a card's text (a word, or a word starting with the term's stem,
    as a light stemmer would match "recognizer" to "recognition")."""
    # Called for every candidate of every query: the word set is built in one pass (an
    # ASCII text lower-cases whole into the same words; other scripts may not, e.g. "İ"),
    # and sorted for the prefix lookup only when some term is not a word of it.
    if card_text.isascii():
        have = set(_WORD.findall(card_text.lower()))
    else:
        have = {w.lower() for w in _WORD.findall(card_text)}
    vocab: list[str] | None = None
    out = []
    for t in terms:
        if t in have:
            out.append(t)
            continue
        stem = t[:max(4, len(t) - 2)] if len(t) > 4 else t
        if vocab is None:
            vocab = sorted(have)
        i = bisect.bisect_left(vocab, stem)
        if i < len(vocab) and vocab[i].startswith(stem):
            out.append(t)
    return out
