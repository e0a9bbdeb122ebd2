"""KFP runs and tasks in the store's lineage graph.

A pipeline run is the node ``store.lineage.run("kfp", run_id, type="pipeline_run")``; each task
of it is ``store.lineage.run("kfp", "<run_id>/<task name>", type="task")`` with facets naming
its pipeline run. KFP's own metadata store (ML Metadata) is being removed upstream, so this is
the record that survives whatever backend ran the pipeline.

Edges point downstream (data flow): an input ``--consumed-->`` the task (and the pipeline run)
``--produced-->`` an output. Intermediate KFP artifacts (files a task hands the next one) are
external ``artifact`` nodes keyed by their URI, so the chain dataset -> pull task -> artifact ->
train task -> ... -> push task -> model stays connected through tasks BlackLake never ran.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blacklake_ml.core.uri import SCHEME
from blacklake_ml.errors import InvalidInput

if TYPE_CHECKING:
    from blacklake_ml.service.lineage import LineageNode
    from blacklake_ml.service.store import Store

SYSTEM = "kfp"
#: KFP fills these in at run time; seeing one verbatim means it was not substituted
_PLACEHOLDER_START = "{{$"


def check_run_id(run_id: str) -> str:
    """``run_id`` if KFP substituted it; a clear error if not."""
    if not isinstance(run_id, str) or not run_id.strip():
        raise InvalidInput("the KFP run id is empty: pass run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER")
    if run_id.startswith(_PLACEHOLDER_START):
        raise InvalidInput(f"the KFP run id placeholder {run_id!r} was not filled in by this "
                           "KFP backend: pass run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER explicitly "
                           "when calling the component")
    return run_id.strip()


def filled(value: str | None) -> str | None:
    """``value``, or None if it is empty or a placeholder KFP left unsubstituted (optional
    values such as the task and job names are then simply not recorded)."""
    if not value or value.startswith(_PLACEHOLDER_START):
        return None
    return value


def artifact_uri(uri: str) -> str:
    """A KFP artifact URI as a lineage key: local paths (the local runner) become ``file://``."""
    if "://" in uri:
        return uri
    return Path(uri).resolve().as_uri()


class KfpLineage:
    """Records what one task of one KFP pipeline run read and wrote."""

    def __init__(self, store: Store, run_id: str, task: str | None = None, *,
                 job_name: str | None = None) -> None:
        self.store = store
        self.run_id = check_run_id(run_id)
        self.task = filled(task)
        self.job_name = filled(job_name)

    def pipeline_run(self) -> LineageNode:
        """The pipeline run's node."""
        facets: dict[str, Any] = {}
        if self.job_name:  # OpenLineage export names the job after this facet
            facets["job"] = self.job_name
        return self.store.lineage.run(SYSTEM, self.run_id, name=self.job_name or self.run_id,
                                      type="pipeline_run", facets=facets)

    def task_node(self, step: str | None = None) -> LineageNode:
        """This task's node (or the logical step ``step`` of the run), under the pipeline run."""
        name = step or self.task
        if not name:
            raise InvalidInput("no KFP task name: pass "
                               "task_name=dsl.PIPELINE_TASK_NAME_PLACEHOLDER")
        run_key = f"run:{SYSTEM}:{self.run_id}"
        facets = {"pipeline_run": run_key, "task": name, "job": name}
        return self.store.lineage.run(SYSTEM, f"{self.run_id}/{name}", name=name, type="task",
                                      facets=facets)

    def node(self, uri: str, *, label: str | None = None) -> LineageNode | str:
        """A stored thing (``blacklake://``, pinned by the lineage store) or a KFP artifact."""
        if uri.startswith(SCHEME):
            return uri
        return self.store.lineage.external(artifact_uri(uri), kind="artifact", label=label,
                                           system=SYSTEM)

    def record(self, *, inputs: Iterable[str] = (), outputs: Iterable[str] = (),
               step: str | None = None, labels: Mapping[str, str] | None = None) -> int:
        """Inputs --consumed--> task --produced--> outputs, and stored inputs/outputs also
        against the pipeline run, in one transaction. Returns the edges added."""
        inputs, outputs = list(inputs), list(outputs)
        if not inputs and not outputs:
            raise InvalidInput("nothing to record: give at least one input or output URI")
        labels = labels or {}
        task = self.task_node(step)
        run = self.pipeline_run()
        edges: list[tuple[LineageNode | str, LineageNode | str, Any]] = []
        for uri in inputs:
            node = self.node(uri, label=labels.get(uri))
            edges.append((node, task, "consumed"))
            if isinstance(node, str):  # stored data: also visible at the pipeline-run level
                edges.append((node, run, "consumed"))
        for uri in outputs:
            node = self.node(uri, label=labels.get(uri))
            edges.append((task, node, "produced"))
            if isinstance(node, str):
                edges.append((run, node, "produced"))
        return self.store.lineage.record(edges)
