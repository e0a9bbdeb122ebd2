"""Find and run extractors: plugins from the ``blacklake_ml.extractors`` entry-point group.

Built-in extractors are registered in the package's own ``pyproject.toml`` exactly like a
third-party plugin would be::

    [project.entry-points."blacklake_ml.extractors"]
    onnx = "blacklake_ml.extract.onnx_ext:OnnxExtractor"

An entry point names a :class:`~blacklake_ml.extract.base.FileExtractor` or
:class:`~blacklake_ml.extract.base.DirExtractor` subclass (or an instance). The loaded list is
cached; a plugin that fails to import or is not an extractor is skipped with a logged warning.

:func:`extract_file` and :func:`extract_dir` are the second fence around extractors: whatever
an extractor raises (including ``RecursionError`` and ``MemoryError``) becomes a
:class:`~blacklake_ml.extract.base.Facts` with ``error`` set, never an exception in the caller.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import re
import sys
import threading
from typing import TYPE_CHECKING, Any

import orjson

from blacklake_ml.extract._util import one_line
from blacklake_ml.extract.base import (
    DirExtractor,
    DirView,
    ExtractionError,
    Facts,
    FileExtractor,
    NotApplicable,
    NotRecognised,
    Source,
)

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

GROUP = "blacklake_ml.extractors"
#: bytes of a file's start handed to ``matches``
HEAD_BYTES = 64
#: largest JSON form of one Facts kept; bigger ``details`` entries are dropped (largest first)
MAX_FACTS_JSON = 512 * 1024

# The package's own extractors, mirrored from pyproject.toml. Used only for names the entry-point
# group lacks, i.e. when the installed metadata predates them (an editable install made before
# the extractors existed); a fresh install serves all of them through the entry points.
BUILTINS: dict[str, str] = {
    "onnx": "blacklake_ml.extract.onnx_ext:OnnxExtractor",
    "pytorch": "blacklake_ml.extract.pytorch_ext:PyTorchExtractor",
    "safetensors": "blacklake_ml.extract.safetensors_ext:SafetensorsExtractor",
    "gguf": "blacklake_ml.extract.gguf_ext:GGUFExtractor",
    "keras": "blacklake_ml.extract.keras_ext:KerasExtractor",
    "pickle": "blacklake_ml.extract.sklearn_ext:PickleExtractor",
    "skops": "blacklake_ml.extract.sklearn_ext:SkopsExtractor",
    "csv": "blacklake_ml.extract.tabular_ext:CsvExtractor",
    "parquet": "blacklake_ml.extract.tabular_ext:ParquetExtractor",
    "tf-savedmodel": "blacklake_ml.extract.savedmodel_ext:SavedModelExtractor",
    "huggingface": "blacklake_ml.extract.hf_ext:HuggingFaceExtractor",
    "mlflow": "blacklake_ml.extract.mlflow_ext:MLflowExtractor",
    "imagefolder": "blacklake_ml.extract.imagefolder_ext:ImageFolderExtractor",
}

_lock = threading.Lock()
_cache: tuple[list[FileExtractor], list[DirExtractor]] | None = None


def _instantiate(label: str, obj: Any) -> FileExtractor | DirExtractor | None:
    if isinstance(obj, type) and issubclass(obj, (FileExtractor, DirExtractor)):
        obj = obj()
    if isinstance(obj, (FileExtractor, DirExtractor)) and obj.name:
        return obj
    log.warning("extractor plugin %s is not a FileExtractor/DirExtractor with a name; skipped",
                label)
    return None


def _load_builtin(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _group_entry_points(group: str) -> list[EntryPoint]:
    """``entry_points(group=group)``, reading only the distributions that declare the group.

    ``importlib.metadata`` builds every installed distribution (parsing its metadata) to
    answer; with a few hundred packages installed that is a tenth of a second in every
    process that indexes. The metadata directories on ``sys.path`` are listed instead, each
    ``entry_points.txt`` is searched for the group's header, and only those distributions
    are read — first occurrence of a name wins, in path order, as importlib.metadata has it.
    Anything unusual on the path (an egg or zip file) falls back to importlib.metadata.
    """
    # importlib.metadata (and the email package under it) costs ~50 ms to import: only here
    from importlib.metadata import Distribution, entry_points

    header = f"[{group}]"
    seen: set[str] = set()
    out: list[EntryPoint] = []
    for base in sys.path:
        base = base or "."
        if os.path.isfile(base):
            return list(entry_points(group=group))
        try:
            names = os.listdir(base)
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            dist = re.sub(r"[-_.]+", "_", name.rsplit(".", 1)[0].split("-")[0]).lower()
            if dist in seen:
                continue
            seen.add(dist)
            try:
                with open(os.path.join(base, name, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                continue
            if header in text:
                out += Distribution.at(os.path.join(base, name)).entry_points.select(
                    group=group)
    return out


def _discover() -> tuple[list[FileExtractor], list[DirExtractor]]:
    found: dict[str, FileExtractor | DirExtractor] = {}
    eps: list[EntryPoint] = _group_entry_points(GROUP)
    for ep in eps:
        try:
            ext = _instantiate(f"{ep.name} ({ep.value})", ep.load())
        except Exception as e:  # noqa: BLE001 - a broken plugin must not break everyone's
            log.warning("extractor plugin %s (%s) failed to load: %s", ep.name, ep.value,
                        one_line(e))
            continue
        if ext is None:
            continue
        if ext.name in found:
            log.warning("two extractor plugins are named %r; keeping the first", ext.name)
            continue
        found[ext.name] = ext
    listed = {ep.name for ep in eps}
    for name, target in BUILTINS.items():
        if name in listed or name in found:
            continue
        try:
            ext = _instantiate(name, _load_builtin(target))
        except Exception as e:  # noqa: BLE001 - e.g. a syntax error in one module
            log.warning("built-in extractor %s failed to load: %s", name, one_line(e))
            continue
        if ext is not None:
            found[ext.name] = ext
    order = sorted(found.values(), key=lambda x: (-x.priority, x.name))
    files = [x for x in order if isinstance(x, FileExtractor)]
    dirs = [x for x in order if isinstance(x, DirExtractor)]
    return files, dirs


def _extractors() -> tuple[list[FileExtractor], list[DirExtractor]]:
    global _cache
    if _cache is None:
        with _lock:
            if _cache is None:
                _cache = _discover()
    return _cache


def reset_cache() -> None:
    """Forget the loaded extractors (after installing a plugin, or in tests)."""
    global _cache
    with _lock:
        _cache = None


def file_extractors() -> list[FileExtractor]:
    """All file extractors, highest priority first."""
    return list(_extractors()[0])


def dir_extractors() -> list[DirExtractor]:
    """All directory extractors, highest priority first."""
    return list(_extractors()[1])


class _Prefilter:
    """Which file extractors are worth asking about a file, from their declared ``suffixes``
    and ``magics`` (see :class:`FileExtractor`): one dictionary lookup by the name's last
    suffix instead of one ``matches`` call per extractor per file. A candidate's ``matches``
    still decides (a ``.tar.gz`` suffix is looked up as ``.gz``)."""

    def __init__(self, extractors: list[FileExtractor]) -> None:
        self.extractors = extractors
        always = [x for x in extractors if x.suffixes is None]
        self.always = always
        named: dict[str, list[FileExtractor]] = {}
        for x in extractors:
            for suffix in x.suffixes or ():
                named.setdefault("." + suffix.rsplit(".", 1)[-1].lower(), []).append(x)
        # each list in priority order, the extractors that promise nothing included
        self.by_suffix = {k: [x for x in extractors if x in v or x in always]
                          for k, v in named.items()}
        self.magics = [(m, x) for x in extractors for m in x.magics]

    def candidates(self, filename: str, head: bytes) -> list[FileExtractor]:
        """The extractors (priority order) whose promise does not rule ``filename`` out."""
        dot = filename.rfind(".")
        picked = self.by_suffix.get(filename[dot:].lower(), self.always) if dot >= 0 \
            else self.always
        magic = [x for m, x in self.magics if head.startswith(m) and x not in picked]
        if not magic:
            return picked
        return [x for x in self.extractors if x in picked or x in magic]


_prefilter: _Prefilter | None = None


def _file_matches(filename: str, head: bytes) -> list[FileExtractor]:
    global _prefilter
    files = _extractors()[0]
    pre = _prefilter
    if pre is None or pre.extractors is not files:  # built for the loaded extractors
        pre = _prefilter = _Prefilter(files)
    out = []
    for ext in pre.candidates(filename, head):
        try:
            if ext.matches(filename, head):
                out.append(ext)
        except Exception as e:  # noqa: BLE001 - matches() must not raise; a bug is "no match"
            log.warning("extractor %s: matches() raised %s", ext.name, one_line(e))
    return out


def _dir_matches(entries: list[tuple[str, str, int]]) -> list[DirExtractor]:
    out = []
    for ext in _extractors()[1]:
        try:
            if ext.matches(entries):
                out.append(ext)
        except Exception as e:  # noqa: BLE001 - as above
            log.warning("extractor %s: matches() raised %s", ext.name, one_line(e))
    return out


def file_extractor_for(filename: str, head: bytes) -> FileExtractor | None:
    """The highest-priority file extractor that matches, or None."""
    found = _file_matches(filename, head)
    return found[0] if found else None


def file_extractors_matching(filename: str, head: bytes) -> list[FileExtractor]:
    """Every file extractor that matches, highest priority first (what :func:`extract_file`
    tries in turn; a caller that has already matched hands this list to it)."""
    return _file_matches(filename, head)


def dir_extractor_for(entries: list[tuple[str, str, int]]) -> DirExtractor | None:
    """The highest-priority directory extractor for a directory with these children."""
    found = _dir_matches(list(entries))
    return found[0] if found else None


def _run(name: str, fn: Any, arg: Any) -> Facts | None:
    """Call ``fn(arg)`` and wrap the outcome; None means "not applicable after all"."""
    try:
        facts = fn(arg)
    except NotApplicable:
        return None
    except NotRecognised as e:
        return Facts(extractor=name, error=one_line(e), recognised=False)
    except ExtractionError as e:
        return Facts(extractor=name, facts=_bounded_facts(e.partial), error=one_line(e))
    except (Exception, RecursionError, MemoryError) as e:  # noqa: BLE001 - the last fence
        return Facts(extractor=name, error=one_line(e))
    if not isinstance(facts, dict):
        return Facts(extractor=name, error=f"extractor returned {type(facts).__name__}, "
                                           "not a dict")
    return Facts(extractor=name, facts=_bounded_facts(facts))


def _plain(v: Any, depth: int = 0) -> Any:
    """A strict-JSON copy: str keys, no NaN/inf, integers within 64 bits (orjson and
    PostgreSQL JSON refuse the rest), tuples as lists, anything else as a string."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v if -(2**63) <= v < 2**64 else str(v)
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if depth > 32:
        return None
    if isinstance(v, dict):
        return {str(k): _plain(x, depth + 1) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x, depth + 1) for x in v]
    return str(v)


def _size(v: Any) -> int:
    # orjson: compact and ~10x faster than json.dumps (every extraction measures its facts)
    return len(orjson.dumps(v))


def _bounded_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON facts within :data:`MAX_FACTS_JSON` (largest ``details`` entries dropped)."""
    facts = _plain(facts)
    if _size(facts) <= MAX_FACTS_JSON:
        return facts
    details = facts.get("details")
    if isinstance(details, dict):
        dropped = []
        for key in sorted(details, key=lambda k: -_size(details[k])):
            del details[key]
            dropped.append(key)
            if _size(facts) <= MAX_FACTS_JSON - 4096:
                break
        details["dropped_for_size"] = dropped
    if _size(facts) > MAX_FACTS_JSON:
        keep = {k: v for k, v in facts.items()
                if k not in ("details", "description") and _size(v) < 16384}
        keep["details"] = {"dropped_for_size": ["all"]}
        facts = keep
    return facts


def extract_file(src: Source, *, matching: list[FileExtractor] | None = None
                 ) -> Facts | None:
    """Facts about one file, or None when no extractor handles it. Never raises for bad input:
    an extractor's failure is returned as ``Facts(error=...)``.

    ``matching`` is :func:`file_extractors_matching` of the file when the caller already has
    it (the indexer matches every file first, to group them by extractor). Extractors are
    tried in order; one that declines (``NotApplicable``) or does not recognise the bytes
    (``NotRecognised``) passes the file on, and when nobody recognises it the first
    "not recognised" outcome is returned.
    """
    if matching is None:
        try:
            head = src.read(0, HEAD_BYTES)
        except Exception as e:  # noqa: BLE001 - a storage error is this file's error
            return Facts(extractor="registry", error=f"cannot read the file: {one_line(e)}")
        matching = _file_matches(src.name, head)
    unrecognised: Facts | None = None
    for ext in matching:
        facts = _run(ext.name, ext.extract, src)
        if facts is None:
            continue
        if facts.recognised:
            return facts
        unrecognised = unrecognised or facts
    return unrecognised


def extract_dir(view: DirView) -> Facts | None:
    """Facts about a directory that is one asset, or None when no extractor claims it."""
    try:
        entries = view.entries("")
    except Exception as e:  # noqa: BLE001 - a storage error is this directory's error
        return Facts(extractor="registry", error=f"cannot list the directory: {one_line(e)}")
    for ext in _dir_matches(entries):
        facts = _run(ext.name, ext.extract, view)
        if facts is not None:
            return facts
    return None


def extractor_versions() -> dict[str, int]:
    """``{name: version}`` of every loaded extractor (part of extraction cache keys)."""
    files, dirs = _extractors()
    everything: list[FileExtractor | DirExtractor] = [*files, *dirs]
    return {x.name: int(x.version) for x in everything}
