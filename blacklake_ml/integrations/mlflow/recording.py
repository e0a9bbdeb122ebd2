"""Lineage the MLflow bridge records: ``input --consumed--> run --produced--> artifact``.

The run node is ``run:mlflow:<run id>`` (label: the run name; facets: experiment, status,
start time). Inputs are the run's ``blacklake.inputs`` tag, its ``blacklake://`` datasets and
what this process saw it read; outputs are the stored paths it logged, pinned to the commit
the logging call made. Lineage is recorded after the commit landed, so a failure here is
logged and never fails the MLflow call (the artifact is stored either way).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from blacklake_ml.errors import BlacklakeError
from blacklake_ml.integrations.mlflow import reads, tracking

if TYPE_CHECKING:
    from blacklake_ml.api import Store
    from blacklake_ml.service.lineage import LineageNode

_log = logging.getLogger(__name__)
SYSTEM = "mlflow"


def run_node(store: Store, facts: tracking.RunFacts) -> LineageNode:
    """The lineage node of an MLflow run."""
    return store.lineage.run(SYSTEM, facts.run_id, name=facts.name,
                             uri=f"runs:/{facts.run_id}", facets=facts.facets())


def stored_nodes(store: Store, uris: Iterable[str],
                 facets: Mapping[str, Any] | None = None,
                 label: str | None = None) -> list[LineageNode]:
    """Stored nodes for pinned URIs (with extra facets / another label); ones that no
    longer resolve are skipped (logged)."""
    out = []
    for uri in dict.fromkeys(uris):
        try:
            node = store.lineage.stored(uri)
        except BlacklakeError as exc:
            _log.info("lineage: skipping %s: %s", uri, exc)
            continue
        if facets:
            node = dataclasses.replace(node, facets={**node.facets, **facets})
        if label:
            node = dataclasses.replace(node, label=label)
        out.append(node)
    return out


def record_run(store: Store, facts: tracking.RunFacts, *, outputs: Iterable[str] = (),
               output_facets: Mapping[str, Any] | None = None,
               output_label: str | None = None) -> list[str]:
    """Record the run with all its known inputs and the given outputs; returns the input
    URIs. Never raises for lineage trouble (see the module docstring)."""
    uris = list(dict.fromkeys([*facts.tagged_inputs, *facts.dataset_uris,
                               *reads.reads_of(facts.run_id)]))
    try:
        run = run_node(store, facts)
        ins = stored_nodes(store, uris)
        outs = stored_nodes(store, outputs, output_facets, output_label)
        store.lineage.record_run(run, inputs=ins, outputs=outs)
    except Exception as exc:  # noqa: BLE001 - the artifact is committed; lineage is extra
        _log.warning("could not record lineage of MLflow run %s: %s", facts.run_id, exc)
    return uris
