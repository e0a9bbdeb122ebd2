"""Hugging Face model directories: config, tokenizer files, weights, and the model card.

A directory is one when it has a ``config.json`` with ``model_type`` / ``architectures`` next to
weights, tokenizer files or a model card, or a ``README.md`` with YAML front matter next to
weight files (``matches`` sees names only; ``extract`` checks the contents and raises
``NotApplicable`` when neither holds).
Reported: the architecture and the usual size hyper-parameters from ``config.json``; which
tokenizer files exist; the parameter count from the ``*.safetensors`` headers (following a
sharded ``model.safetensors.index.json``), else from a ``pytorch_model.bin`` scanned without
unpickling; and from the card, its front matter (``yaml.safe_load``: license, tags,
pipeline_tag as ``task``, datasets, base_model, language, model_name) and its markdown body as
``description``. The title is the card's first ``# heading``, else ``model_name``, else the
directory name.
"""

from __future__ import annotations

import re
from typing import Any

from blacklake_ml.extract._util import (
    MAX_SMALL_FILE,
    FormatError,
    LimitExceeded,
    bounded,
    clip,
    load_json,
    one_line,
    str_list,
)
from blacklake_ml.extract.base import DirExtractor, DirView, ExtractionError, NotApplicable
from blacklake_ml.extract.safetensors_ext import read_header

#: longest model card read (bytes) and front matter parsed (characters)
MAX_CARD = 1024 * 1024
MAX_FRONT_MATTER = 256 * 1024
#: characters of the card body kept as ``description``
MAX_DESCRIPTION = 4000
#: most safetensors shards whose headers are read
MAX_SHARDS = 2000

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack", ".onnx", ".gguf",
                   ".ckpt")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json",
                   "merges.txt", "special_tokens_map.json", "added_tokens.json",
                   "tokenizer.model", "spiece.model", "sentencepiece.bpe.model")
CARD_NAMES = ("README.md", "readme.md", "MODEL_CARD.md", "model_card.md")
CONFIG_KEYS = (
    "model_type", "architectures", "hidden_size", "num_hidden_layers", "num_attention_heads",
    "num_key_value_heads", "intermediate_size", "vocab_size", "max_position_embeddings",
    "type_vocab_size", "hidden_act", "torch_dtype", "dtype", "transformers_version", "n_layer",
    "n_embd", "n_head", "n_positions", "n_ctx", "d_model", "num_layers", "num_heads",
    "encoder_layers", "decoder_layers", "rope_theta", "sliding_window", "tie_word_embeddings",
    "is_encoder_decoder", "problem_type",
)
_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def split_front_matter(text: str) -> tuple[str | None, str]:
    """``(yaml text or None, markdown body)`` of a model card."""
    text = text.lstrip("\ufeff")
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None, text
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            return "".join(lines[1:i]), "".join(lines[i + 1:])
    return None, text  # unterminated: treat it all as body


def first_heading(body: str) -> str | None:
    """The text of the first level-1 ``# heading`` outside code fences."""
    fenced = False
    for line in body.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            m = _HEADING.match(line)
            if m:
                return clip(m.group(1).strip(), 256)
    return None


def parse_card(text: str) -> tuple[dict[str, Any], str, str | None]:
    """``(front matter as bounded plain data, body, error)`` of a model card."""
    yaml_text, body = split_front_matter(text)
    if yaml_text is None:
        return {}, body, None
    if len(yaml_text) > MAX_FRONT_MATTER:
        return {}, body, f"front matter longer than {MAX_FRONT_MATTER} characters: not parsed"
    try:
        import yaml
    except ImportError:
        return {}, body, "pyyaml is not installed: front matter not parsed"
    try:
        meta = yaml.safe_load(yaml_text)
    except yaml.YAMLError as e:
        return {}, body, f"invalid YAML front matter: {one_line(e, 200)}"
    if not isinstance(meta, dict):
        return {}, body, None if meta is None else "front matter is not a mapping"
    return bounded(meta), body, None


def card_facts(meta: dict[str, Any], body: str) -> dict[str, Any]:
    """Normalised facts from a card's front matter and body."""
    out: dict[str, Any] = {}
    lic = meta.get("license")
    if isinstance(lic, list) and lic:
        lic = lic[0]
    if isinstance(lic, str) and lic:
        out["license"] = clip(lic.strip().lower(), 128)
    if isinstance(meta.get("pipeline_tag"), str):
        out["task"] = clip(meta["pipeline_tag"], 128)
    for key, fact in (("tags", "tags"), ("datasets", "datasets"), ("base_model", "base_model"),
                      ("language", "language")):
        vals = str_list(meta.get(key))
        if vals:
            out[fact] = vals
    desc = body.strip()
    if desc:
        out["description"] = desc[:MAX_DESCRIPTION]
    title = first_heading(body)
    model_name = meta.get("model_name")
    if not isinstance(model_name, str) or not model_name:
        index = meta.get("model-index")
        if isinstance(index, list) and index and isinstance(index[0], dict):
            model_name = index[0].get("name")
    if title:
        out["name"] = title
    elif isinstance(model_name, str) and model_name:
        out["name"] = clip(model_name, 256)
    return out


def _read_json(d: DirView, name: str) -> Any:
    src = d.open(name)
    if src.size > MAX_SMALL_FILE:
        raise ValueError(f"{name} is {src.size} bytes (limit {MAX_SMALL_FILE})")
    return load_json(src.read(0, src.size), name)


def _safetensors_weights(d: DirView, files: dict[str, int]) -> tuple[int | None,
                                                                     dict[str, Any]]:
    if "model.safetensors.index.json" in files:
        index = _read_json(d, "model.safetensors.index.json")
        wmap = index.get("weight_map") if isinstance(index, dict) else None
        if not isinstance(wmap, dict):
            raise FormatError("model.safetensors.index.json has no weight_map")
        shards = sorted({v for v in wmap.values() if isinstance(v, str)})
        if len(shards) > MAX_SHARDS:
            raise LimitExceeded(f"{len(shards)} shards listed (limit {MAX_SHARDS})")
        missing = [s for s in shards if s not in files]
        total = sum(read_header(d.open(s)).parameters for s in shards if s in files)
        info: dict[str, Any] = {"format": "safetensors", "sharded": True, "files": len(shards)}
        meta = index.get("metadata") if isinstance(index, dict) else None
        if isinstance(meta, dict) and isinstance(meta.get("total_size"), int):
            info["total_size"] = meta["total_size"]
        if missing:
            info["missing_shards"] = missing[:50]
        return (None if missing else total), info
    singles = sorted(n for n in files if n.endswith(".safetensors"))[:MAX_SHARDS]
    total = sum(read_header(d.open(n)).parameters for n in singles)
    return total, {"format": "safetensors", "sharded": False, "files": len(singles)}


def _weights(d: DirView, files: dict[str, int]) -> tuple[int | None, dict[str, Any],
                                                         list[str]]:
    """``(parameters, weights details, unsafe globals)``. A broken weights file is recorded
    in the details (the card and config facts still stand)."""
    params: int | None = None
    info: dict[str, Any] = {}
    unsafe: list[str] = []
    try:
        if "model.safetensors.index.json" in files or any(
                n.endswith(".safetensors") for n in files):
            params, info = _safetensors_weights(d, files)
        elif "pytorch_model.bin" in files:
            from blacklake_ml.extract.pytorch_ext import scan_checkpoint

            info = {"format": "pytorch", "sharded": False, "files": 1}
            try:
                ck = scan_checkpoint(d.open("pytorch_model.bin"))
            except ExtractionError as e:  # keep what the scan flagged before failing
                ck = e.partial
                info["error"] = one_line(e, 300)
            params = ck.get("parameters")
            unsafe = list(ck.get("unsafe", []))
        else:
            # GGUF / ONNX only (e.g. a quantisation repo): every file holds the same model,
            # the first one's count stands for all
            other = sorted(n for n in files if n.endswith((".gguf", ".onnx")))
            if other:
                from blacklake_ml.extract.gguf_ext import GGUFExtractor
                from blacklake_ml.extract.onnx_ext import OnnxExtractor

                first = other[0]
                ext = GGUFExtractor() if first.endswith(".gguf") else OnnxExtractor()
                info = {"format": ext.name, "files": len(other)}
                params = ext.extract(d.open(first)).get("parameters")
    except ValueError as e:
        info["error"] = one_line(e, 300)
        params = None
    return params, info, unsafe


_DATASET_KEYS = ("task_categories", "task_ids", "size_categories", "dataset_info", "configs",
                 "annotations_creators", "source_datasets")


def _is_dataset_card(meta: dict[str, Any]) -> bool:
    """Front matter of a Hugging Face *dataset* card (keys only dataset cards use)."""
    return any(k in meta for k in _DATASET_KEYS)


class HuggingFaceExtractor(DirExtractor):
    """Hugging Face model directories (see the module docstring)."""

    name = "huggingface"
    version = 2
    priority = 10

    def matches(self, entries: list[tuple[str, str, int]]) -> bool:
        files = {n for n, k, _ in entries if k == "f"}
        weights = any(n.endswith(WEIGHT_SUFFIXES) for n in files) or any(
            n.endswith(".index.json") for n in files)
        card = any(c in files for c in CARD_NAMES)
        if "config.json" in files and (weights or card or any(t in files
                                                              for t in TOKENIZER_FILES)):
            return True
        # A model or dataset card on its own (README.md with YAML front matter) is an asset
        # too; extract() declines (NotApplicable) a README without front matter.
        return card

    def extract(self, d: DirView) -> dict[str, Any]:
        files = {n: s for n, k, s in d.entries("") if k == "f"}
        details: dict[str, Any] = {}
        facts: dict[str, Any] = {"kind": "model", "format": "huggingface", "details": details}
        config: Any = None
        if "config.json" in files:
            config = _read_json(d, "config.json")
        is_hf_config = isinstance(config, dict) and (
            "model_type" in config or "architectures" in config)
        card_name = next((c for c in CARD_NAMES if c in files), None)
        meta: dict[str, Any] = {}
        body = ""
        if card_name:
            src = d.open(card_name)
            text = src.read(0, min(src.size, MAX_CARD)).decode("utf-8", "replace")
            meta, body, card_error = parse_card(text)
            if card_error:
                details["card_error"] = card_error
            details["card"] = card_name
        if not is_hf_config and not meta:
            raise NotApplicable
        if is_hf_config:
            facts["framework"] = "transformers"
            cfg = {k: bounded(config[k], depth=2) for k in CONFIG_KEYS if k in config}
            details["config"] = cfg
            archs = config.get("architectures")
            if isinstance(archs, list) and archs and isinstance(archs[0], str):
                facts["architecture"] = clip(archs[0], 128)
            elif isinstance(config.get("model_type"), str):
                facts["architecture"] = clip(config["model_type"], 128)
            labels = config.get("id2label")
            if isinstance(labels, dict):
                details["num_labels"] = len(labels)
        library = meta.get("library_name")
        if isinstance(library, str) and library:
            details["library_name"] = clip(library, 64)
            facts.setdefault("framework", clip(library, 64))
        tok = [t for t in TOKENIZER_FILES if t in files]
        if tok:
            tinfo: dict[str, Any] = {"files": tok}
            if "tokenizer_config.json" in files:
                try:
                    tc = _read_json(d, "tokenizer_config.json")
                except ValueError as e:
                    tinfo["error"] = one_line(e, 200)
                else:
                    if isinstance(tc, dict):
                        for key in ("tokenizer_class", "model_max_length", "do_lower_case"):
                            if isinstance(tc.get(key), (str, int, float, bool)):
                                v = tc[key]
                                tinfo[key] = clip(v, 128) if isinstance(v, str) else v
            details["tokenizer"] = tinfo
        params, winfo, unsafe = _weights(d, files)
        if winfo:
            details["weights"] = winfo
        if params is not None:
            facts["parameters"] = params
        if unsafe:
            facts["unsafe"] = unsafe
        facts.update(card_facts(meta, body))
        if not is_hf_config and not winfo and _is_dataset_card(meta):
            facts.update(kind="dataset", format="huggingface-dataset")
            facts.pop("framework", None)
            cats = meta.get("task_categories")
            tasks = [clip(c, 128) for c in (cats if isinstance(cats, list) else [cats])
                     if isinstance(c, str) and c]
            if tasks and "task" not in facts:
                facts["task"] = tasks[0] if len(tasks) == 1 else tasks[:10]
        if "name" not in facts:
            facts["name"] = d.name or clip(str((config or {}).get("_name_or_path") or "model"),
                                           256)
        return facts
