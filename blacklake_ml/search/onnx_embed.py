"""Sentence embeddings without torch: the model's transformer exported once to ONNX, run with
onnxruntime, tokenised with the ``tokenizers`` library, pooled and normalised in numpy.

Why: importing torch + sentence-transformers costs ~9 s and ~550 MB per process, which a CLI
``blacklake search`` paid to embed one query. onnxruntime + tokenizers import in ~0.1 s, and
the exported weights are memory-mapped (external data file), so a query costs ~60 MB.

The vectors are those of sentence-transformers (cosine > 0.99999, checked when the export is
made and by ``tests/test_search_onnx.py``), so vectors stored by either path stay valid for
the other: the vector cache key (the model name) does not depend on the backend.

What is reproduced, read from the model directory as sentence-transformers reads it:

* ``modules.json`` must be exactly Transformer -> Pooling (-> Normalize); anything else (a Dense
  layer, a custom module) is not supported here and :func:`load_spec` raises
  :class:`Unsupported` (the caller falls back to torch);
* the Transformer's ``sentence_bert_config.json``: ``max_seq_length`` (capped at the model's
  ``max_position_embeddings``, as sentence-transformers caps it) and ``do_lower_case``;
* tokenisation by its ``tokenizer.json``, truncating to that length, padded per batch;
* the Pooling config's mode: mean (attention-masked, divisor clamped at 1e-9), cls or max;
* L2 normalisation (``F.normalize``: norm clamped at 1e-12) — always, since the vector index
  ranks by inner product.

The export (:func:`export`) needs torch + transformers once; it is cached under
``<cache_dir>/<name>-<key>/`` where the key hashes the model's configuration files and the
size and modification time of its weights, so a different or updated model never reuses an
export. It is written to a temporary directory and renamed into place whole (atomic), and
verified against torch before that rename.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_log = logging.getLogger(__name__)

#: bumped when the export's format or graph changes (invalidates every cached export)
EXPORT_VERSION = 1
ONNX_FILE = "model.onnx"
DATA_FILE = "model.onnx.data"
META_FILE = "export.json"
OPSET = 17
#: calls embedding at most this many texts use the lean session (see OnnxEmbedder._session)
SMALL_BATCH = 4
#: small calls (queries) after which a process builds the prepacked session in the background
#: and queries move to it: prepacking costs ~160 ms of CPU once and a copy of the weights
#: (~45 MB), and then saves ~4 ms a query (8.5 -> 4.5 ms on 2 cores), so it pays for itself
#: after ~40 queries. A process that has made that many will likely make as many more (the
#: ski-rental rule); a one-query CLI process never pays it.
PREPACK_AFTER = 40
#: an export must agree with torch at least this well on the probe texts
MIN_COSINE = 0.99999
#: texts embedded by torch and by the fresh export before it is accepted
PROBES = ("german sentiment", "a small German speech recognizer with a permissive licence",
          "", "Ünïcödé, 日本語 and emoji 😀 in one line", "word " * 400)
_POOLING = {"mean", "cls", "max"}
_LEGACY_POOLING = {"pooling_mode_cls_token": "cls", "pooling_mode_max_tokens": "max",
                   "pooling_mode_mean_tokens": "mean",
                   "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
                   "pooling_mode_weightedmean_tokens": "weightedmean",
                   "pooling_mode_lasttoken": "lasttoken"}
#: files whose bytes define the model besides its weights (hashed into the export key)
_CONFIG_SUFFIXES = (".json", ".txt", ".model")
_WEIGHTS = re.compile(r".*\.(safetensors|bin|pt|pth|h5|msgpack)$")


class Unsupported(Exception):
    """The model directory is not a plain Transformer -> Pooling (-> Normalize) model, or the
    packages this path needs are missing: use the torch path."""


@dataclass(frozen=True)
class ModelSpec:
    """What the ONNX path needs to know about a sentence-transformers model directory."""

    path: Path
    #: the directory of the Transformer module (config.json, weights, tokenizer)
    transformer_path: Path
    dim: int
    max_seq_length: int
    do_lower_case: bool
    pooling: str
    key: str


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise Unsupported(f"cannot read {path.name}: {e}") from None
    if not isinstance(doc, (dict, list)):
        raise Unsupported(f"{path.name} is not a JSON object")
    return doc  # type: ignore[return-value]


def _module_kind(type_name: str) -> str:
    return str(type_name).rsplit(".", 1)[-1]


def _pooling_mode(cfg: dict[str, Any]) -> str:
    mode = cfg.get("pooling_mode")
    if mode is None:
        active = [m for k, m in _LEGACY_POOLING.items() if cfg.get(k)]
        mode = active[0] if len(active) == 1 else active
    if isinstance(mode, (list, tuple)):
        mode = mode[0] if len(mode) == 1 else None
    if mode not in _POOLING:
        raise Unsupported(f"pooling {mode!r} (supported: {', '.join(sorted(_POOLING))})")
    # include_prompt only matters with prompts, which blacklake never passes
    return str(mode)


def _fingerprint(model_dir: Path) -> str:
    """The export key: the bytes of every configuration/tokenizer file, and the names, sizes
    and modification times of the weight files.

    Hashing ~90 MB of weights on every CLI call would cost more than the query; a weight file
    replaced in place changes its size or modification time.
    """
    h = hashlib.sha256(f"blacklake-onnx-export v{EXPORT_VERSION}\0".encode())
    for sub in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        rel = sub.relative_to(model_dir).as_posix()
        if sub.suffix in _CONFIG_SUFFIXES:
            h.update(f"{rel}\0".encode() + sub.read_bytes() + b"\0")
        elif _WEIGHTS.match(sub.name):
            st = sub.stat()
            h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return h.hexdigest()[:24]


def load_spec(model_dir: str | os.PathLike[str]) -> ModelSpec:
    """Read the model directory's sentence-transformers configuration (:class:`Unsupported`
    if it is not one the ONNX path reproduces exactly)."""
    root = Path(model_dir).expanduser().resolve()
    modules = _read_json(root / "modules.json")
    if not isinstance(modules, list):
        raise Unsupported("modules.json is not a list")
    kinds = [_module_kind(m.get("type", "")) for m in modules if isinstance(m, dict)]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise Unsupported(f"modules {kinds} (supported: Transformer, Pooling[, Normalize])")
    tdir = (root / modules[0].get("path", "")).resolve()
    pdir = (root / modules[1].get("path", "")).resolve()
    sbert = _read_json(tdir / "sentence_bert_config.json") \
        if (tdir / "sentence_bert_config.json").is_file() else {}
    config = _read_json(tdir / "config.json")
    pool = _read_json(pdir / "config.json")
    if not (tdir / "tokenizer.json").is_file():
        raise Unsupported("no tokenizer.json (a fast tokenizer) in the model directory")
    max_pos = int(config.get("max_position_embeddings") or 0) or None
    length = sbert.get("max_seq_length")
    if not length:
        tcfg = _read_json(tdir / "tokenizer_config.json") \
            if (tdir / "tokenizer_config.json").is_file() else {}
        length = tcfg.get("model_max_length")
        if not isinstance(length, int) or length > 1_000_000:
            length = max_pos
    if not length:
        raise Unsupported("no max_seq_length")
    if max_pos:
        length = min(int(length), max_pos)
    dim = int(pool.get("word_embedding_dimension") or pool.get("embedding_dimension")
              or config.get("hidden_size") or 0)
    if dim <= 0:
        raise Unsupported("the model does not state its embedding dimension")
    return ModelSpec(path=root, transformer_path=tdir, dim=dim, max_seq_length=int(length),
                     do_lower_case=bool(sbert.get("do_lower_case", False)),
                     pooling=_pooling_mode(pool), key=_fingerprint(root))


def export_dir(cache_dir: Path, name: str, spec: ModelSpec) -> Path:
    """Where the export of ``spec`` lives under ``cache_dir``."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:64] or "model"
    return cache_dir / f"{safe}-{spec.key}"


def is_exported(cache_dir: Path, name: str, spec: ModelSpec) -> bool:
    """Whether a complete export is cached (the directory appears only complete)."""
    d = export_dir(cache_dir, name, spec)
    return (d / META_FILE).is_file() and (d / ONNX_FILE).is_file()


# -- pooling (numpy, as sentence-transformers' Pooling + Normalize) -----------------------------
def pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """``(batch, seq, dim)`` token embeddings + ``(batch, seq)`` mask -> L2-normalised
    ``(batch, dim)`` float32."""
    hidden = hidden.astype(np.float32, copy=False)
    m = mask.astype(np.float32)[..., None]
    if mode == "mean":
        vecs = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
    elif mode == "cls":
        first = mask.argmax(axis=1)
        vecs = hidden[np.arange(len(hidden)), first]
    elif mode == "max":
        vecs = np.where(m > 0, hidden, np.float32(-1e9)).max(axis=1)
    else:  # load_spec refuses others
        raise Unsupported(f"pooling {mode!r}")
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    return np.ascontiguousarray(vecs / np.clip(norms, 1e-12, None), dtype=np.float32)


# -- running ------------------------------------------------------------------------------------
class OnnxEmbedder:
    """Encodes texts into L2-normalised float32 vectors with onnxruntime (no torch)."""

    backend = "onnx"

    def __init__(self, name: str, spec: ModelSpec, directory: Path) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as e:
            raise Unsupported(f"{e.name or 'onnxruntime/tokenizers'} is not installed") from None
        self.name = name
        self.dim = spec.dim
        self.spec = spec
        self.directory = directory
        self._ort = ort
        #: sessions by kind: "lean" for a few texts (a query), "batch" for many (cards)
        self._sessions: dict[str, Any] = {}
        self._session_lock = threading.Lock()
        self._small_calls = 0
        self._prepacking = False
        # The lean session is what a query needs, and the check that the export loads.
        self._inputs = {i.name for i in self._made("lean").get_inputs()}
        tok = Tokenizer.from_file(str(spec.transformer_path / "tokenizer.json"))
        pad = tok.padding
        self._pad_id = int(pad["pad_id"]) if pad and "pad_id" in pad else _pad_id(spec, tok)
        tok.no_padding()  # padded per batch below, after sorting by length
        tok.enable_truncation(spec.max_seq_length)
        self._tokenizer = tok

    def _session(self, n: int) -> Any:
        """The session for a call embedding ``n`` texts.

        Two kinds, made on first use: weight prepacking (repacking the matrices for the
        GEMM kernels) costs ~160 ms of start-up and a copy of the weights, which many texts
        (cards) repay at once and queries only after :data:`PREPACK_AFTER` of them (built
        then in the background; until it is ready queries keep the lean one). Once a
        batch session exists, queries use it too. Both give the same vectors to ~1e-7.
        """
        if n <= SMALL_BATCH and "batch" not in self._sessions:
            self._small_calls += 1
            if self._small_calls >= PREPACK_AFTER and not self._prepacking:
                self._prepack_in_background()
            return self._made("lean")
        return self._made("batch")

    def _made(self, kind: str) -> Any:
        """The session of ``kind``, made now if need be."""
        sess = self._sessions.get(kind)
        if sess is None:
            with self._session_lock:
                sess = self._sessions.get(kind)
                if sess is None:
                    ort = self._ort
                    opts = ort.SessionOptions()
                    # Two cores here, often shared: spinning worker threads steal the other
                    # process's core and double a single query's latency.
                    opts.intra_op_num_threads = max(1, min(2, os.cpu_count() or 1))
                    opts.inter_op_num_threads = 1
                    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
                    if kind == "lean":
                        opts.add_session_config_entry("session.disable_prepacking", "1")
                    opts.log_severity_level = 3
                    sess = ort.InferenceSession(str(self.directory / ONNX_FILE), opts,
                                                providers=["CPUExecutionProvider"])
                    self._sessions[kind] = sess
                    if kind == "batch":
                        # Never used again (a call already running on it keeps its handle).
                        self._sessions.pop("lean", None)
        return sess

    def _prepack_in_background(self) -> None:
        """Build the batch session on a thread of its own (see :meth:`_session`)."""
        with self._session_lock:
            if self._prepacking:
                return
            self._prepacking = True

        def build() -> None:
            try:
                self._made("batch")
            except Exception as e:  # noqa: BLE001 - the lean session keeps serving
                _log.warning("search embeddings: prepacked session failed (%s)", e)

        # Not a daemon: an interpreter exiting mid-build would unload onnxruntime under it.
        threading.Thread(target=build, name="blacklake-onnx-prepack").start()

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """``(len(texts), dim)`` float32, unit length."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        items = [t.lower() if self.spec.do_lower_case else t for t in texts]
        encs = self._tokenizer.encode_batch(items)
        lengths = np.fromiter((len(e.ids) for e in encs), dtype=np.int64, count=len(encs))
        order = np.argsort(-lengths, kind="stable")  # similar lengths share a batch
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        session = self._session(len(texts))
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            width = int(lengths[idx].max())
            ids = np.full((len(idx), width), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            types = np.zeros((len(idx), width), dtype=np.int64)
            for row, j in enumerate(idx):
                e = encs[j]
                n = len(e.ids)
                ids[row, :n] = e.ids
                mask[row, :n] = e.attention_mask
                types[row, :n] = e.type_ids
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            hidden = session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
            out[idx] = pool(hidden, mask, self.spec.pooling)
        return out


def _pad_id(spec: ModelSpec, tok: Any) -> int:
    for t in ("[PAD]", "<pad>"):
        i = tok.token_to_id(t)
        if i is not None:
            return int(i)
    cfg = _read_json(spec.transformer_path / "config.json")
    return int(cfg.get("pad_token_id") or 0)


# -- exporting (torch, once) ------------------------------------------------------------------
_export_lock = threading.Lock()


def export(name: str, spec: ModelSpec, cache_dir: Path) -> Path:
    """Export the model's transformer to ONNX under ``cache_dir`` (needs torch +
    transformers); verified against torch, then renamed into place. Returns the directory."""
    final = export_dir(cache_dir, name, spec)
    with _export_lock:
        if is_exported(cache_dir, name, spec):
            return final
        try:
            import torch
            from transformers import AutoModel
        except ImportError as e:
            raise Unsupported(f"exporting to ONNX needs torch and transformers ({e.name} "
                              "is not installed)") from None
        try:  # transformers draws a weight-loading bar on stderr; not ours to show
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            hf_logging.set_verbosity_error()
        except ImportError:
            pass
        _log.info("exporting search model %s to ONNX (once) in %s", name, final)
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=cache_dir))
        try:
            model = AutoModel.from_pretrained(str(spec.transformer_path)).eval()
            names = ["input_ids", "attention_mask", "token_type_ids"]
            accepts_types = "token_type_ids" in _forward_params(model)
            if not accepts_types:
                names = names[:2]

            class _Hidden(torch.nn.Module):
                def __init__(self, inner: Any) -> None:
                    super().__init__()
                    self.inner = inner

                def forward(self, *args: Any) -> Any:
                    return self.inner(**dict(zip(names, args))).last_hidden_state

            want = _reference(model, spec, names)
            probe = torch.ones((2, 8), dtype=torch.int64)
            axes = {n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]}
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(_Hidden(model), tuple(probe for _ in names),
                                  str(tmp / "single.onnx"), dynamo=False,
                                  input_names=names, output_names=["last_hidden_state"],
                                  dynamic_axes=axes, opset_version=OPSET,
                                  do_constant_folding=True)
            _to_external_data(tmp / "single.onnx", tmp / ONNX_FILE)
            _verify(want, spec, tmp)
            meta = {"export_version": EXPORT_VERSION, "model": name, "key": spec.key,
                    "source": str(spec.path), "dim": spec.dim, "pooling": spec.pooling,
                    "max_seq_length": spec.max_seq_length, "opset": OPSET,
                    "torch": torch.__version__}
            (tmp / META_FILE).write_text(json.dumps(meta, indent=1))
            os.chmod(tmp, 0o755)
            try:
                os.rename(tmp, final)
            except OSError:
                if not is_exported(cache_dir, name, spec):  # not a concurrent export
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _forward_params(model: Any) -> set[str]:
    import inspect

    try:
        return set(inspect.signature(model.forward).parameters)
    except (TypeError, ValueError):
        return set()


def _to_external_data(src: Path, dest: Path) -> None:
    """Move the weights into ``model.onnx.data``: onnxruntime memory-maps external data, so a
    session costs ~60 MB instead of ~140 MB and starts several times faster."""
    import onnx

    model = onnx.load(str(src))
    onnx.save_model(model, str(dest), save_as_external_data=True,
                    all_tensors_to_one_file=True, location=DATA_FILE, size_threshold=1024)
    src.unlink()


def _reference(model: Any, spec: ModelSpec, names: list[str]) -> np.ndarray:
    """The probe texts embedded by torch (taken before the export: tracing can leave the
    module changed)."""
    import torch
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(spec.transformer_path / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(spec.max_seq_length)
    out = []
    for text in PROBES:
        e = tok.encode(text.lower() if spec.do_lower_case else text)
        feed = {"input_ids": torch.tensor([e.ids]),
                "attention_mask": torch.tensor([e.attention_mask]),
                "token_type_ids": torch.tensor([e.type_ids])}
        with torch.no_grad():
            hidden = model(**{k: v for k, v in feed.items() if k in names}).last_hidden_state
        out.append(pool(hidden.numpy(), np.array([e.attention_mask]), spec.pooling)[0])
    return np.stack(out)


def _verify(want: np.ndarray, spec: ModelSpec, directory: Path) -> None:
    """Refuse an export whose vectors differ from torch's on the probe texts."""
    got = OnnxEmbedder("probe", spec, directory).encode(list(PROBES))
    cos = (got * want).sum(axis=1)
    if float(cos.min()) < MIN_COSINE:
        raise RuntimeError(f"ONNX export disagrees with torch (cosine {float(cos.min()):.6f})")
