"""MLflow bridge: artifacts, run inputs, datasets and the model registry in BlackLake.

Plugins (entry points in pyproject.toml, loaded by MLflow itself):

* ``blacklake://`` artifact locations — :class:`.artifacts.BlackLakeArtifactRepository`;
* run tags naming the BlackLake commits a run read — :class:`.context.BlackLakeRunContextProvider`;
* ``blacklake://`` dataset sources — :class:`.datasets.BlackLakeDatasetSource`.

Helpers (``import blacklake_ml.integrations.mlflow as blm``):

* ``blm.use(uri)`` — pin a URI, record it as an input of the (next) run, return it pinned;
* ``blm.dataset(uri)`` / ``blm.log_input(uri)`` — MLflow datasets on ``blacklake://`` URIs;
* ``blm.batch()`` — fold many logging calls into one commit per branch;
* ``blm.register_model(store, uri, name)`` / ``blm.import_registry(store, name, repo)`` —
  registry sync both ways;
* ``blm.sync_run(run_id)``, ``blm.clear_inputs()``, ``blm.use_store(store)``.

Importing this package imports MLflow first: MLflow loads the plugins through its entry
points while it initialises, and a plugin module imported before MLflow would be loaded by it
half-initialised. The helpers themselves load lazily.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from blacklake_ml.errors import MissingDependency

try:
    import mlflow  # noqa: F401 - see the module docstring
except ImportError as _exc:  # pragma: no cover - the extra is installed in tests
    if _exc.name is not None and _exc.name.split(".")[0] != "mlflow":
        raise
    raise MissingDependency("the MLflow bridge", "mlflow") from None

_EXPORTS = {
    "use": "inputs", "sync_run": "inputs", "clear_inputs": "inputs", "pin": "inputs",
    "dataset": "datasets", "log_input": "datasets", "BlackLakeDatasetSource": "datasets",
    "batch": "batching",
    "register_model": "registry", "import_registry": "registry",
    "use_store": "session", "get_store": "session",
    "BlackLakeArtifactRepository": "artifacts",
    "BlackLakeRunContextProvider": "context",
    "MlflowBridgeError": "tracking",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(name)
    return getattr(import_module(f"{__name__}.{module}"), name)
