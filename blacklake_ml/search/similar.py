"""Derived-model discovery (``blacklake similar``): stored files that share chunks with a
given one, then the ``base_model`` lineage declared in model cards.

The two halves live below this module: chunk sharing in :mod:`blacklake_ml.search.chunk_sharing`
(MinHash LSH candidates, exact shared fractions from the manifests) and card lineage in
:mod:`blacklake_ml.search.lineage` (which itself uses only the chunk half).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from blacklake_ml.core.uri import BlacklakeURI
from blacklake_ml.search.chunk_sharing import (
    MAX_CANDIDATES,
    VERIFY,
    SimilarHit,
    one_per_path,
    shared_chunks,
)
from blacklake_ml.search.lineage import base_model_links

if TYPE_CHECKING:
    from blacklake_ml.service.store import Store

__all__ = ["MAX_CANDIDATES", "VERIFY", "SimilarHit", "lineage", "similar"]


def similar(store: Store, uri: str, *, limit: int = 20, min_fraction: float = 0.01
            ) -> list[SimilarHit]:
    """Files sharing chunks with the file at ``uri`` (best first), then card lineage."""
    hits = shared_chunks(store, uri, limit=limit, min_fraction=min_fraction)
    u = BlacklakeURI.parse(uri)
    return hits + lineage(store, u.repo, u.ref, u.path)


def lineage(store: Store, repo: str, ref: str, path: str) -> list[SimilarHit]:
    """``base_model`` relations of the card at ``path`` (or the asset containing it), found
    as the lineage graph finds them."""
    return one_per_path([SimilarHit(uri, "base-model" if upstream else "derived-model")
                         for uri, upstream in base_model_links(store, repo, ref, path)])
