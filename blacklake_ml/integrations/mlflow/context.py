"""``BlackLakeRunContextProvider``: tags each new MLflow run with the BlackLake commits read
before it started.

Registered under the ``mlflow.run_context_provider`` entry point. ``mlflow.start_run`` asks
every provider for tags before the run exists; this one answers with ``blacklake.inputs``
(a JSON list of pinned ``blacklake://repo/<commit>/<path>`` URIs read in this process with no
run active, see :mod:`blacklake_ml.integrations.mlflow.inputs`) and ``blacklake.inputs.count``.
Reads made while the run is active are added to the tag as they happen.
"""

from __future__ import annotations

from mlflow.tracking.context.abstract_context import RunContextProvider

from blacklake_ml.integrations.mlflow import inputs, tracking


class BlackLakeRunContextProvider(RunContextProvider):
    """Adds ``blacklake.inputs`` to runs started after BlackLake reads in this process."""

    def in_context(self) -> bool:
        """True when this process has read something through BlackLake."""
        return bool(inputs.ambient())

    def tags(self) -> dict[str, str]:
        """``blacklake.inputs`` and ``blacklake.inputs.count``."""
        return tracking.inputs_tag(inputs.ambient())
