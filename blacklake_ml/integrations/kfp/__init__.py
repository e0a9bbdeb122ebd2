"""Kubeflow Pipelines bridge (``pip install 'blacklake-ml[kfp]'``).

Lightweight components any pipeline can use, built for a container image of your choice:

* ``pull_dataset`` / ``pull_model`` — a ``blacklake://`` URI -> the task's output artifact
  (files + metadata naming the pinned URI, commit and digest);
* ``push_dataset`` / ``push_model`` — an input artifact -> a commit carrying the artifact's
  metadata and the KFP run id; the output artifact points at the pinned URI;
* ``record_lineage`` — a step's consumed/produced URIs into the store's lineage graph, under
  the pipeline run;
* ``search`` — a query -> URIs best first, and the best one;

plus :func:`blacklake_importer` (a ``dsl.importer`` pinned to a commit). Pull and push record
their own lineage (input -> task -> output, and the pipeline run). Module layout:
``functions`` (component sources), ``components`` (building them: :class:`ComponentOptions`,
:func:`build_components`), ``runtime`` (what tasks do), ``lineage``, ``artifacts``,
``importer``.

Names are loaded on first use, so ``import blacklake_ml.integrations.kfp.runtime`` (what a
task does) does not build components.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ComponentOptions": "components",
    "BlackLakeComponents": "components",
    "build_components": "components",
    "pull_dataset": "components",
    "pull_model": "components",
    "push_dataset": "components",
    "push_model": "components",
    "record_lineage": "components",
    "search": "components",
    "blacklake_importer": "importer",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        mod = importlib.import_module(f"{__name__}.{module}")
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] == "kfp":
            from blacklake_ml.errors import MissingDependency

            raise MissingDependency("the Kubeflow Pipelines components", "kfp") from None
        raise
    return getattr(mod, name)
