"""Formats that run code through their framework rather than through pickle.

* Keras (``.keras`` ``config.json``, legacy ``.h5`` ``model_config``): ``Lambda`` layers carry
  Python bytecode, custom objects name modules Keras imports;
* Hugging Face ``config.json`` / ``tokenizer_config.json`` with ``auto_map`` (or
  ``custom_pipelines``): ``trust_remote_code`` imports the folder's ``modeling_*.py``;
* MLflow ``MLmodel``: a ``loader_module`` outside MLflow, or ``code`` paths, are imported;
* YAML with ``!!python/`` tags (``yaml.unsafe_load`` builds arbitrary objects);
* source code files (``.py``, shell scripts): they are code;
* data formats with no code path (safetensors, ONNX, plain HDF5, text) are ``safe`` once their
  header parses, ``unknown`` when it does not.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any

from blacklake_ml.extract.base import Source
from blacklake_ml.scan.verdict import SAFE, UNKNOWN, UNSAFE, Verdict

#: largest text file read whole for the checks (bigger ones are searched in pieces)
MAX_TEXT = 64 * 1024 * 1024
#: source files: importing or running them executes them
CODE_SUFFIXES = (".py", ".pyw", ".sh", ".bash", ".zsh", ".ps1", ".bat", ".cmd", ".vbs")
_YAML_PYTHON = re.compile(rb"!!python/|tag:yaml\.org,2002:python/|!python/|%TAG[^\n]*python")
_KERAS_MODULES = ("keras", "tf_keras", "keras_hub", "keras_nlp", "keras_cv")


def _walk(value: Any, budget: int = 500_000) -> list[dict[str, Any]]:
    """Every dict inside ``value`` (iterative, bounded)."""
    out: list[dict[str, Any]] = []
    todo = [value]
    while todo and budget > 0:
        v = todo.pop()
        budget -= 1
        if isinstance(v, dict):
            out.append(v)
            todo.extend(v.values())
        elif isinstance(v, list):
            todo.extend(v)
    if todo:
        out.append({"__blacklake_truncated__": True})
    return out


def keras_reasons(config: Any) -> tuple[list[str], bool]:
    """``(reasons, complete)`` for a Keras model config: Lambda layers, lambdas and custom
    objects (anything whose module or registered name is not Keras')."""
    reasons: list[str] = []
    complete = True
    for d in _walk(config):
        if d.get("__blacklake_truncated__"):
            complete = False
            continue
        cls = d.get("class_name")
        if not isinstance(cls, str):
            continue
        name = d.get("config", {}).get("name") if isinstance(d.get("config"), dict) else None
        label = f" {name!r}" if isinstance(name, str) else ""
        if cls in ("Lambda", "__lambda__"):
            reasons.append(f"Keras {cls} layer{label}: its Python function is stored as code "
                           "and runs when the model is loaded (safe_mode=False) or called")
            continue
        module = d.get("module")
        registered = d.get("registered_name")
        if isinstance(module, str) and module and not module.startswith(_KERAS_MODULES):
            reasons.append(f"Keras custom object {module}.{cls}{label}: loading imports "
                           f"{module} and runs its code")
        elif isinstance(registered, str) and registered and registered != cls and \
                not registered.startswith(_KERAS_MODULES):
            reasons.append(f"Keras custom object {registered}{label}: registered custom code "
                           "runs when the model is loaded")
    return reasons, complete


def scan_keras_config(raw: bytes) -> Verdict:
    """A ``.keras`` archive's ``config.json``."""
    v = Verdict(SAFE, "keras")
    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        return Verdict(UNKNOWN, "keras", [f"config.json is not valid JSON: {e}"])
    reasons, complete = keras_reasons(config)
    for r in reasons:
        v.add(UNSAFE, r)
    if not complete:
        v.add(UNKNOWN, "Keras config too large to check whole")
    return v


def scan_hdf5(src: Source) -> Verdict:
    """HDF5: a legacy Keras model (``model_config`` attribute) is checked like a ``.keras``
    config; other HDF5 files are data."""
    try:
        import h5py
    except ImportError:
        return Verdict(UNKNOWN, "hdf5", ["HDF5 file: install h5py (extra 'models') to scan it"])
    from blacklake_ml.extract.local import SourceReader

    try:
        with h5py.File(SourceReader(src), "r") as f:
            cfg = f.attrs.get("model_config")
    except Exception as e:  # noqa: BLE001 - h5py raises assorted errors on bad files
        return Verdict(UNKNOWN, "hdf5", [f"HDF5 file could not be read: {type(e).__name__}"])
    if cfg is None:
        return Verdict(SAFE, "hdf5")
    if isinstance(cfg, bytes):
        cfg = cfg.decode("utf-8", "replace")
    v = scan_keras_config(str(cfg).encode("utf-8"))
    v.format = "keras-h5"
    return v


def scan_safetensors(src: Source) -> Verdict:
    """safetensors holds tensors only; the verdict is ``safe`` when the header parses."""
    head = src.read(0, 8)
    n = int.from_bytes(head, "little") if len(head) == 8 else -1
    if n <= 0 or n > 100 * 1024 * 1024 or n > src.size - 8:
        return Verdict(UNKNOWN, "safetensors", ["invalid safetensors header length"])
    try:
        header = json.loads(src.read(8, 8 + n).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return Verdict(UNKNOWN, "safetensors", ["safetensors header is not valid JSON"])
    if not isinstance(header, dict):
        return Verdict(UNKNOWN, "safetensors", ["safetensors header is not an object"])
    for key, t in header.items():
        if key == "__metadata__":
            continue
        if not (isinstance(t, dict) and isinstance(t.get("dtype"), str)
                and isinstance(t.get("shape"), list) and isinstance(t.get("data_offsets"), list)):
            return Verdict(UNKNOWN, "safetensors", [f"malformed tensor entry {key[:60]!r}"])
    return Verdict(SAFE, "safetensors")


def scan_onnx(src: Source) -> Verdict:
    """ONNX graphs hold no Python; the model must parse, and external data must stay beside
    the model (a location outside its folder makes the runtime read other files)."""
    from blacklake_ml.extract.onnx_ext import OnnxExtractor

    try:
        facts = OnnxExtractor().extract(src)
    except Exception as e:  # noqa: BLE001 - not parseable as ONNX: cannot vouch for it
        return Verdict(UNKNOWN, "onnx", [f"not a readable ONNX model: {type(e).__name__}"])
    v = Verdict(SAFE, "onnx")
    details = facts.get("details", {}) if isinstance(facts, dict) else {}
    for loc in details.get("external_data", []) or []:
        p = str(loc)
        if p.startswith(("/", "\\")) or ".." in p.replace("\\", "/").split("/") or ":" in p:
            v.add(UNSAFE, f"external data location {p[:100]!r} points outside the model's "
                          "folder (the runtime reads that file)")
    return v


#: skops loaders that build a value of the node's own ``__module__.__class__`` type from data
#: (checked against the exact allow-list); any other loader calls something named in the file
_SKOPS_DATA_LOADERS = frozenset({
    "JsonNode", "ListNode", "DictNode", "TupleNode", "SetNode", "BytesNode", "BytearrayNode",
    "SliceNode", "DefaultDictNode", "NdArrayNode", "MaskedArrayNode", "DTypeNode", "ObjectNode",
    "TypeNode", "CachedNode", "SparseMatrixNode", "RandomStateNode", "RandomGeneratorNode",
    # sklearn's own: the node's type (judged) is built from the data, or called with it
    "TreeNode", "LossNode", "ReduceNode", "ConstructorFromReduceNode",
    "_DictWithDeprecatedKeysNode"})
_SKOPS_MAX_NODES = 1_000_000


def scan_skops(src: Source) -> Verdict:
    """A ``.skops`` archive: every type and callable its ``schema.json`` makes skops load.

    skops refuses types it does not trust unless the caller passes them in ``trusted=``,
    which is what users do with ``get_untrusted_types``; so the verdict is this scanner's own:
    every node's type must be on the exact allow-list, and a node that calls something
    (``FunctionNode``, ``MethodNode``, ``PartialNode``, ``OperatorFuncNode``, reduce-style
    constructors, loaders this scanner does not know) is unsafe unless what it calls is.
    """
    from blacklake_ml.extract._pickle_policy import describe, is_allowed, resolve
    from blacklake_ml.extract._util import MAX_SMALL_FILE, load_json
    from blacklake_ml.extract._zip import open_zip, read_member

    try:
        zf = open_zip(src)
        schema = load_json(read_member(zf, "schema.json", MAX_SMALL_FILE), "skops schema.json")
    except Exception as e:  # noqa: BLE001 - unreadable schema: cannot vouch for it
        return Verdict(UNKNOWN, "skops", [f"skops schema could not be read: {type(e).__name__}"])
    v = Verdict(SAFE, "skops")
    seen: set[str] = set()

    def judge(module: Any, name: Any, how: str) -> None:
        if not isinstance(module, str) or not isinstance(name, str):
            v.add(UNKNOWN, f"skops {how} with a name the scanner cannot read")
            return
        key = f"{how}:{module}.{name}"
        if key in seen or is_allowed(module, name):
            return
        seen.add(key)
        target = resolve(module, name)
        what = describe(target)
        v.add(UNSAFE, f"skops {how} {module}.{name}: not on the allow-list"
                      + (f"; {what}" if what else "") + " (loading it runs its code)")

    todo: list[Any] = [schema]
    nodes = 0
    while todo:
        node = todo.pop()
        nodes += 1
        if nodes > _SKOPS_MAX_NODES:
            v.add(UNKNOWN, "skops schema too large to read whole")
            break
        if isinstance(node, list):
            todo.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        loader = node.get("__loader__")
        if loader is not None:
            content = node.get("content")
            if loader == "FunctionNode" and isinstance(content, dict):
                judge(content.get("module_path"), content.get("function"), "function")
            elif loader not in _SKOPS_DATA_LOADERS:
                v.add(UNSAFE, f"skops node {str(loader)[:60]!r}: loading it calls what the file "
                              "names")
            if "__module__" in node or "__class__" in node:
                judge(node.get("__module__"), node.get("__class__"), "type")
        todo.extend(node.values())
    return v


def _text_reasons(name: str, data: bytes) -> list[str]:
    reasons: list[str] = []
    if _YAML_PYTHON.search(data):
        reasons.append("YAML python/ tag: yaml.unsafe_load (and MLflow/Hydra loaders that use "
                       "it) builds arbitrary Python objects")
    if name.endswith(".json") and (b"auto_map" in data or b"custom_pipelines" in data):
        try:
            doc = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            doc = None
        if isinstance(doc, dict):
            for key in ("auto_map", "custom_pipelines"):
                if doc.get(key):
                    target = json.dumps(doc[key])[:120]
                    reasons.append(f"Hugging Face {key} {target}: trust_remote_code imports "
                                   "and runs the folder's Python code")
    if name == "mlmodel":
        import yaml

        try:
            doc = yaml.safe_load(data.decode("utf-8"))
        except Exception:  # noqa: BLE001 - a broken MLmodel is no code path of its own
            doc = None
        pyfunc = doc.get("flavors", {}).get("python_function") if isinstance(doc, dict) and \
            isinstance(doc.get("flavors"), dict) else None
        if isinstance(pyfunc, dict):
            loader = pyfunc.get("loader_module")
            if isinstance(loader, str) and not loader.startswith("mlflow."):
                reasons.append(f"MLflow loader_module {loader[:100]!r}: imported and run by "
                               "mlflow.pyfunc.load_model")
            if pyfunc.get("code"):
                reasons.append("MLflow model ships code (code paths are put on sys.path and "
                               "imported on load)")
            if pyfunc.get("python_model") or pyfunc.get("cloudpickle_version"):
                reasons.append("MLflow python_model: a cloudpickled Python object, run on load")
    return reasons


def scan_text(src: Source, head: bytes) -> Verdict:
    """A text file: safe unless it is source code or one of the configs above names code."""
    name = posixpath.basename(src.name).lower()
    if name.endswith(CODE_SUFFIXES) or head.startswith(b"#!"):
        return Verdict(UNSAFE, "source-code", ["source code: it runs when imported or executed"])
    v = Verdict(SAFE, "text")
    if src.size <= MAX_TEXT:
        reasons = _text_reasons(name, src.read(0, src.size))
    else:
        reasons = []
        step = 16 * 1024 * 1024
        for start in range(0, src.size, step):  # overlapping pieces: tags split at a seam
            reasons += [r for r in _text_reasons("", src.read(max(0, start - 64), start + step))
                        if r not in reasons]
    for r in reasons:
        v.add(UNSAFE, r)
    return v
