"""Turning MLflow logging calls into BlackLake commits (and their lineage).

One :class:`Write` per logging call: ``log_artifact`` (a file), ``log_artifacts`` (a whole
directory: every file in it lands in the same commit) or ``delete_artifacts``. A list of
writes to one branch becomes one commit (:func:`commit_writes`) whose metadata names the
MLflow run, experiment and logged model they belong to; then the run's lineage is recorded
(:func:`record_writes`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from blacklake_ml.core.uri import BlacklakeURI
from blacklake_ml.integrations.mlflow import recording, tracking
from blacklake_ml.integrations.mlflow.locations import MlflowIds, ids_in

if TYPE_CHECKING:
    from blacklake_ml.api import Store
    from blacklake_ml.service.commit import CommitResult, Transaction

#: commit metadata values are limited to 4096 characters
_META_VALUE = 4096


@dataclass
class WriteContext:
    """The MLflow entities a write belongs to."""

    ids: MlflowIds = field(default_factory=MlflowIds)
    run_id: str | None = None
    experiment_id: str | None = None
    model_name: str | None = None
    #: the run as the tracking store described it when the write was made
    facts: tracking.RunFacts | None = None

    @classmethod
    def of(cls, path: str, tracking_uri: str | None) -> WriteContext:
        """Work out run, model and experiment for a write to repository ``path``: from the
        path (MLflow's layout), the logged model's source run, else the active run."""
        ids = ids_in(path)
        ctx = cls(ids=ids, run_id=ids.run_id, experiment_id=ids.experiment_id)
        if ids.model_id:
            run, exp, name = tracking.logged_model_run(ids.model_id, tracking_uri)
            ctx.run_id, ctx.model_name = run, name
            ctx.experiment_id = ctx.experiment_id or exp
        if ctx.run_id is None and not tracking.in_tracking_server():
            ctx.run_id = tracking.active_run_id()
        if ctx.run_id is not None:
            ctx.facts = tracking.run_facts(ctx.run_id, tracking_uri)
            ctx.experiment_id = ctx.experiment_id or ctx.facts.experiment_id
        return ctx


@dataclass
class Write:
    """One MLflow logging call."""

    op: str
    #: artifact path as MLflow gave it, relative to the repository's artifact URI
    rel: str
    #: repository path written (file, directory, or removed path)
    dest: str
    local: str | None
    context: WriteContext
    tracking_uri: str | None = None

    def stage(self, tx: Transaction) -> None:
        """Add this write to a transaction."""
        if self.op == "delete_artifacts":
            tx.delete(self.dest)
        elif self.op == "log_artifacts":
            assert self.local is not None
            tx.put_dir(self.local, self.dest)
        else:
            assert self.local is not None
            tx.put_file(self.local, self.dest)


def _one_or_list(meta: dict[str, str], key: str, values: Sequence[str | None]) -> None:
    distinct = [v for v in dict.fromkeys(values) if v]
    if len(distinct) == 1:
        meta[key] = distinct[0]
    elif distinct:
        meta[key + "s"] = json.dumps(distinct)[:_META_VALUE]


def commit_meta(writes: Sequence[Write]) -> dict[str, str]:
    """Commit metadata: ``mlflow.run_id``, ``mlflow.experiment_id``, ``mlflow.model_id``,
    ``mlflow.trace_id`` (plural keys with a JSON list when a batch spans several),
    ``mlflow.operation`` and ``mlflow.artifact_path``."""
    meta: dict[str, str] = {}
    _one_or_list(meta, "mlflow.run_id", [w.context.run_id for w in writes])
    _one_or_list(meta, "mlflow.experiment_id", [w.context.experiment_id for w in writes])
    _one_or_list(meta, "mlflow.model_id", [w.context.ids.model_id for w in writes])
    _one_or_list(meta, "mlflow.model_name", [w.context.model_name for w in writes])
    _one_or_list(meta, "mlflow.trace_id", [w.context.ids.trace_id for w in writes])
    ops = list(dict.fromkeys(w.op for w in writes))
    meta["mlflow.operation"] = ops[0] if len(ops) == 1 else "batch"
    if len(writes) == 1:
        meta["mlflow.artifact_path"] = (writes[0].rel or "/")[:_META_VALUE]
    else:
        meta["mlflow.calls"] = str(len(writes))
    return meta


def commit_message(writes: Sequence[Write]) -> str:
    """``mlflow log_artifacts: model (run 1234abcd)`` or a batch summary."""
    runs = [r for r in dict.fromkeys(w.context.run_id for w in writes) if r]
    who = f" (run {runs[0]})" if len(runs) == 1 else (f" ({len(runs)} runs)" if runs else "")
    if len(writes) == 1:
        w = writes[0]
        is_model = w.op == "log_artifacts" and w.context.ids.model_id is not None \
            and w.dest == w.context.ids.root
        what = f"logged model {w.context.ids.model_id}" if is_model else (w.rel or "/")
        return f"mlflow {w.op}: {what}{who}"
    return f"mlflow: {len(writes)} logging calls{who}"


def commit_writes(store: Store, repo_name: str, branch: str, writes: Sequence[Write]
                  ) -> CommitResult:
    """Publish ``writes`` as one commit on ``branch`` (retried once if a concurrent gc
    took objects it deduplicated against)."""
    repo = store.repo(repo_name)
    message, meta = commit_message(writes), commit_meta(writes)

    def build() -> Transaction:
        tx = repo.transaction(branch, message, meta=meta)
        for w in writes:
            w.stage(tx)
        return tx

    return repo.commit_retrying(build)


def record_writes(store: Store, repo_name: str, commit: str, writes: Sequence[Write]) -> None:
    """Record ``run --produced--> path@commit`` for every write that belongs to a run."""
    by_run: dict[str, list[Write]] = {}
    for w in writes:
        if w.context.run_id and w.op != "delete_artifacts":
            by_run.setdefault(w.context.run_id, []).append(w)
    for run_id, ws in by_run.items():
        facts = ws[0].context.facts or tracking.run_facts(run_id, ws[0].tracking_uri)
        if facts.experiment_id is None:
            facts.experiment_id = ws[0].context.experiment_id
        for w in ws:
            facets: dict[str, Any] = {"mlflow_artifact_path": w.rel or "/"}
            label = None
            if w.context.ids.model_id:
                facets["mlflow_model_id"] = w.context.ids.model_id
                if w.context.model_name:
                    facets["mlflow_model_name"] = w.context.model_name
                if w.dest == w.context.ids.root:  # the model folder: name it, not "artifacts"
                    label = f"model {w.context.model_name or w.context.ids.model_id}"
            recording.record_run(store, facts,
                                 outputs=[str(BlacklakeURI(repo_name, commit, w.dest))],
                                 output_facets=facets, output_label=label)
